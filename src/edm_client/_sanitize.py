"""What the SDK writes of a server's text: the token scrubbed, control characters escaped,
clipped; and copies of httpx requests and responses without the token, for pickling.

A server, proxy or debug page may echo the request's `Authorization` header back in a body or
header, whole, percent-encoded, JSON-escaped or cut short. Every text the SDK writes (error
messages, log lines, CLI output, reprs) goes through `scrub_text` *before* it is clipped, and
no run of `SECRET_RUN` characters of a token survives it in any of those forms. Clipping
first would keep the start of a token (a JWT's header and claims) while cutting away the part
a whole-token match needs.

Control characters a server sends (`\\x1b[31m`, `\\x07`, a `\\n` that would forge a log line,
bidi overrides) are written as Python-style escapes, so text from a server cannot drive the
terminal or add lines to a log. The raw values stay on the objects (`err.body`,
`err.response`); only what is written is escaped.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Final
from urllib.parse import quote, quote_plus

import httpx

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "REDACTED",
    "PickleSafeRequest",
    "clip",
    "escape_controls",
    "identifier",
    "prose",
    "redacted_request",
    "redacted_response",
    "safe_line",
    "scrub",
    "scrub_text",
    "secrets_of",
]

REDACTED: Final = "[redacted]"
SECRET_RUN: Final = 16
"""No run of this many characters of a secret (or of a form of it) is ever written."""
MIN_SECRET_LENGTH: Final = 8
"""Header values shorter than this are not treated as secrets: scrubbing them would mangle
ordinary text, and nothing that short is a credential worth the name."""
MAX_REQUEST_ID_LENGTH: Final = 128
MAX_TEXT_SCANNED: Final = 64 * 1024
"""A message needs the start of a body, not all of a huge one."""
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})

_WHITESPACE = re.compile(r"\s+")
# C0 and C1 controls and DEL (terminal escapes, bells, line breaks), the Unicode line and
# paragraph separators, and the bidi controls that reorder how text is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_PERCENT_ESCAPE = re.compile("%[0-9A-F]{2}")
_COVERED = re.compile(b"\x01+")
_ENCODING_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def secrets_of(request: httpx.Request | None) -> tuple[str, ...]:
    """The credentials `request` carries: whole header values and the part after the scheme."""
    if request is None:
        return ()
    found: set[str] = set()
    for name, value in request.headers.items():
        if name.lower() in SECRET_HEADERS:
            # `Bearer <token>`: the token, so that the scheme's word stays readable
            credentials = value.strip().partition(" ")[2].strip()
            found.add(credentials if name.lower() != "cookie" and credentials else value)
    return tuple(sorted(s for s in found if len(s) >= MIN_SECRET_LENGTH))


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (text, or decoded JSON) with every run of a secret replaced by `[redacted]`."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    return value


def scrub_text(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every run of `SECRET_RUN` or more characters of a secret, in any of the
    forms a server might echo it (as sent, percent-encoded, JSON- or HTML-escaped), replaced
    by `[redacted]`. A shorter secret is replaced whole."""
    covered = bytearray(len(text))
    for secret in secrets:
        for form, blocks in _fingerprints(secret):
            _cover_runs(form, blocks, text, covered)
    if b"\x01" not in covered:
        return text
    pieces: list[str] = []
    end = 0
    for run in _COVERED.finditer(covered):
        pieces += [text[end : run.start()], REDACTED]
        end = run.end()
    pieces.append(text[end:])
    return "".join(pieces)


def _cover_runs(form: str, blocks: dict[str, list[int]], text: str, covered: bytearray) -> None:
    """Mark in `covered` every run of `SECRET_RUN` or more characters of `form` in `text`.

    Every such run holds a whole block of `form` (its pieces of half a run's length at fixed
    offsets), so a run is measured only where `str.find` finds a block outside the runs
    already marked: the scan stays linear however often a server repeats the token.
    """
    width = min(SECRET_RUN, len(form))
    if len(text) < width:  # most strings of a JSON body: ids, codes, numbers
        return
    for block, offsets in blocks.items():
        size = len(block)
        at = text.find(block)
        while at != -1:
            if not (covered[at] and covered[at + size - 1]):
                for offset in offsets:  # text[at] lines up with form[offset]
                    start = at - _matching_before(text, at, form, offset)
                    stop = at + _matching_from(text, at, form, offset)
                    if stop - start >= width:
                        covered[start:stop] = b"\x01" * (stop - start)
            at = text.find(block, at + 1)


def _matching_from(text: str, at: int, form: str, offset: int) -> int:
    """How many characters from `text[at]` on equal those from `form[offset]` on."""
    low, high = 0, min(len(text) - at, len(form) - offset)
    while low < high:  # a binary search of C-speed comparisons, not a loop over characters
        middle = (low + high + 1) // 2
        if text.startswith(form[offset : offset + middle], at):
            low = middle
        else:
            high = middle - 1
    return low


def _matching_before(text: str, at: int, form: str, offset: int) -> int:
    """How many characters just before `text[at]` equal those just before `form[offset]`."""
    low, high = 0, min(at, offset)
    while low < high:
        middle = (low + high + 1) // 2
        if text.endswith(form[offset - middle : offset], 0, at):
            low = middle
        else:
            high = middle - 1
    return low


@functools.lru_cache(maxsize=16)
def _fingerprints(secret: str) -> tuple[tuple[str, dict[str, list[int]]], ...]:
    """Each form a server might echo `secret` in, with its blocks and their offsets."""
    percent = quote(secret, safe="")
    forms = {
        secret,
        percent,
        _PERCENT_ESCAPE.sub(lambda m: m.group().lower(), percent),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    }
    fingerprints = []
    for form in sorted(forms):
        size = max(1, min(SECRET_RUN, len(form)) // 2)
        blocks: dict[str, list[int]] = {}
        for offset in range(0, len(form) - size + 1, size):
            blocks.setdefault(form[offset : offset + size], []).append(offset)
        fingerprints.append((form, blocks))
    return tuple(fingerprints)


def escape_controls(text: str) -> str:
    """`text` with control characters written as escapes: ESC as `\\x1b`, a newline as `\\n`."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def safe_line(text: str, secrets: tuple[str, ...]) -> str:
    """`text` ready to print or log: secrets scrubbed, control characters escaped."""
    return escape_controls(scrub_text(text, secrets))


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in `…` when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prose(text: str, secrets: tuple[str, ...], limit: int) -> str:
    """A server's message as one line to write: secrets scrubbed (first), runs of whitespace
    (line breaks included) as one space, other control characters escaped, then clipped."""
    text = scrub_text(text[:MAX_TEXT_SCANNED], secrets)
    return clip(escape_controls(_WHITESPACE.sub(" ", text).strip()), limit)


def identifier(text: str, secrets: tuple[str, ...], limit: int = MAX_REQUEST_ID_LENGTH) -> str:
    """A server-supplied identifier (a request id, a URL) to write: secrets scrubbed (first),
    every control character escaped, then clipped."""
    return clip(escape_controls(scrub_text(text[:MAX_TEXT_SCANNED], secrets)), limit)


class PickleSafeRequest(httpx.Request):
    """An `httpx.Request` whose pickles and copies carry `[redacted]` for its credentials.

    The pipeline gives this class to every request it builds, so a request kept by a user
    (`err.request`, `raw.http_response.request`) never takes the token along when pickled.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["headers"] = _redacted_headers(self.headers)
        return state

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {str(self.url)!r})>"  # as httpx shows its own


def _redacted_headers(headers: httpx.Headers) -> httpx.Headers:
    return httpx.Headers(
        [
            (name, REDACTED if name.lower() in SECRET_HEADERS else value)
            for name, value in headers.multi_items()
        ]
    )


def redacted_request(request: httpx.Request) -> httpx.Request:
    """A copy of `request` with its credential headers' values replaced by `[redacted]`."""
    try:
        content = request.content
    except httpx.RequestNotRead:
        content = b""
    headers = _redacted_headers(request.headers)
    return httpx.Request(request.method, request.url, headers=headers, content=content)


def redacted_response(response: httpx.Response) -> httpx.Response:
    """A copy of `response` (body read) whose request carries no credentials, and whose body
    and headers are scrubbed of the credentials that request carried."""
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a Response built without a request
        request = None
    secrets = secrets_of(request)
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    if secrets:
        # latin-1 maps each byte to one character and back, and tokens are ASCII.
        content = scrub_text(content.decode("latin-1"), secrets).encode("latin-1")
    # The content is already decoded, so the encoding headers no longer describe it.
    headers = [
        (name, scrub_text(value, secrets))
        for name, value in response.headers.multi_items()
        if name.lower() not in _ENCODING_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=None if request is None else redacted_request(request),
    )
