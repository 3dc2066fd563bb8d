"""Decoding what a client sends, strictly: JSON with bounded nesting, canonical base64url.

Bodies, cursors and tokens are all attacker-controlled, so each decoder either returns a
value the fake can work with or raises `ValueError`: never a `RecursionError` (JSON nested
thousands deep), and never bytes that several texts decode to (padding, skipped
characters).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Final

__all__ = ["MAX_JSON_DEPTH", "b64url_decode", "b64url_encode", "load_json"]

MAX_JSON_DEPTH: Final = 32
"""JSON nested deeper than this is refused; the contract's documents are one level deep."""


def load_json(data: bytes | str) -> Any:
    """`data` as JSON nested at most `MAX_JSON_DEPTH` deep; `ValueError` otherwise, whose
    message completes "the body ...". No object may have a name twice. Bytes must be UTF-8
    (RFC 8259), which `json.loads` alone does not check: it would read UTF-16 and UTF-32 too."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")  # a byte order mark is allowed, and dropped
        except UnicodeDecodeError:
            raise ValueError("is not UTF-8") from None
    try:
        value = json.loads(data, object_pairs_hook=_unique_names)
    except RecursionError:
        raise ValueError(_too_deep()) from None
    except _RepeatedName as repeated:
        raise ValueError(str(repeated)) from None
    except ValueError:
        raise ValueError("is not valid JSON") from None
    if _depth_over(value, MAX_JSON_DEPTH):
        raise ValueError(_too_deep())
    return value


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as JWTs (RFC 7515) and the fake's cursors use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes `text` encodes, if `text` is exactly what `b64url_encode` makes of them.

    Python's decoder skips characters outside the alphabet and ignores padding and the
    unused low bits of the last character, so many texts decode to the same bytes; only
    the canonical one is accepted (`ValueError` for the rest)."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


class _RepeatedName(ValueError):
    pass


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 leaves an object with a name twice to each reader (Python keeps the last, other
    # parsers the first), so the fake refuses it rather than store what the sender did not mean.
    found = dict(pairs)
    if len(found) != len(pairs):
        names = [n for n, _ in pairs]
        name = next(n for n in names if names.count(n) > 1)
        raise _RepeatedName(f"has the name {name[:100]!r} twice in one object")
    return found


def _too_deep() -> str:
    return f"is nested more than {MAX_JSON_DEPTH} levels deep"


def _depth_over(value: Any, limit: int) -> bool:
    # A loop, not recursion: the point is to never recurse as deep as the document.
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False
