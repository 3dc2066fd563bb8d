"""Rate-limit headers and `Retry-After`, read into numbers a caller can act on.

Servers announce their limits in several dialects; every one of them is read here, and a value
that does not parse is treated as absent: reading headers never raises.

- the IETF draft's structured fields: `RateLimit: "default";r=50;t=30` with
  `RateLimit-Policy: "default";q=100;w=60` (draft 08 on), or `RateLimit: limit=100,
  remaining=50, reset=30` with `RateLimit-Policy: 100;w=60` (draft 07);
- the draft's earlier separate fields `RateLimit-Limit`, `RateLimit-Remaining`,
  `RateLimit-Reset`;
- the common `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (and
  `X-Rate-Limit-*`), whose reset is seconds from now or, for values past 10**9, a Unix time.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Final, TypeVar

__all__ = ["RateLimit", "parse_rate_limit", "parse_retry_after"]

N = TypeVar("N", int, float)

_UNIX_TIME_FROM: Final = 1_000_000_000  # 2001-09-09: a "reset" this large is a date, not a delay
_UNIX_MILLIS_FROM: Final = 1_000_000_000_000
_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
_SEPARATE_FIELDS: Final = (
    ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),
    ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
)


@dataclass(frozen=True)
class RateLimit:
    """The server's rate limit as its response announced it; a field it did not send is None.

    `reset_after` is counted from when the response arrived. When a server announces several
    limits (per second and per day, say), this is the one closest to running out.
    """

    limit: int | None = None
    """Requests allowed per window (the quota)."""
    remaining: int | None = None
    """Requests left in the current window."""
    reset_after: float | None = None
    """Seconds until the window resets and `remaining` is back to `limit`."""
    window: float | None = None
    """Length of the window in seconds, when the server says."""


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate limit `headers` announce, or None when they announce none that parses.

    `headers` is an `httpx.Headers` (or any mapping with lower-case keys).
    """
    if not any(name in headers for name in _HEADER_NAMES):  # the usual case, decided at once
        return None
    found = [_structured(headers)]
    for limit_name, remaining_name, reset_name in _SEPARATE_FIELDS:
        limit, window = _limit_and_window(headers.get(limit_name))
        found.append(
            RateLimit(
                limit=limit,
                remaining=_count(headers.get(remaining_name)),
                reset_after=_reset_seconds(headers.get(reset_name)),
                window=window,
            )
        )
    # Each field from the first dialect that carries it: a server sending two dialects sends
    # the same numbers in both, and one sending a partial set still gets every field it sent.
    merged = RateLimit(
        limit=_first(f.limit for f in found),
        remaining=_first(f.remaining for f in found),
        reset_after=_first(f.reset_after for f in found),
        window=_first(f.window for f in found),
    )
    return None if merged == _EMPTY else merged


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date); None when unusable.

    A date in the past gives 0.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # asctime dates and "-0000" carry no zone; HTTP dates are GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds):  # a huge number is a long wait (capped by the policy); NaN is none
        return None
    return max(seconds, 0.0)


_EMPTY: Final = RateLimit()
_HEADER_NAMES: Final = (
    "ratelimit",
    "ratelimit-policy",
    *(name for family in _SEPARATE_FIELDS for name in family),
)


def _first(values: Iterable[N | None]) -> N | None:
    return next((v for v in values if v is not None), None)


def _structured(headers: Mapping[str, str]) -> RateLimit:
    """`RateLimit` and `RateLimit-Policy` in the draft's structured-field forms."""
    state = _members(headers.get("ratelimit"))
    policies = _members(headers.get("ratelimit-policy"))
    if not state and not policies:
        return _EMPTY
    remaining = reset = None
    name: str | None = None
    values = {
        key.strip().lower(): value
        for key, equals, value in (item.partition("=") for item, _ in state)
        if equals
    }
    if values:
        # Draft 07: one dictionary, `limit=100, remaining=50, reset=30`.
        limit = _count(values.get("limit"))
        remaining = _count(values.get("remaining"))
        reset = _reset_seconds(values.get("reset"))
    else:
        # Draft 08 on: one item per policy, `"name";r=remaining;t=reset`; the binding one is
        # the policy with the fewest requests left.
        limit = None
        candidates = [
            (_count(params.get("r")), _reset_seconds(params.get("t")), item)
            for item, params in state
        ]
        known = [c for c in candidates if c[0] is not None] or candidates
        if known:
            remaining, reset, name = min(known, key=lambda c: -1 if c[0] is None else c[0])
    policy = _policy(policies, name)
    window = None
    if policy is not None:
        item, params = policy
        quota = _count(params.get("q")) if "q" in params else _count(item)
        limit = limit if limit is not None else quota
        window = _seconds(params.get("w"))
    return RateLimit(limit=limit, remaining=remaining, reset_after=reset, window=window)


def _policy(
    policies: list[tuple[str, dict[str, str]]], name: str | None
) -> tuple[str, dict[str, str]] | None:
    """The policy named `name`, else the only one announced."""
    for item, params in policies:
        if name is not None and item == name:
            return item, params
    return policies[0] if len(policies) == 1 else None


def _limit_and_window(value: str | None) -> tuple[int | None, float | None]:
    """`RateLimit-Limit` as drafts 00-06 allow it: `100`, or `100, 100;w=60, 1000;w=86400`."""
    members = _members(value)
    if not members:
        return None, None
    limit = _count(members[0][0])
    window = next(
        (
            _seconds(params["w"])
            for item, params in members
            if "w" in params and _count(item) == limit
        ),
        None,
    )
    return limit, window


def _members(value: str | None) -> list[tuple[str, dict[str, str]]]:
    """The members of a structured-field list or dictionary: each its bare item (quotes
    removed) and its parameters. Lenient: junk yields members that later fail to parse."""
    if not value or len(value) > 4096:
        return []
    members = []
    for member in _split(value, ","):
        parts = _split(member, ";")
        if not parts or not parts[0].strip():
            continue
        params = {}
        for part in parts[1:]:
            key, _, raw = part.partition("=")
            params[key.strip().lower()] = _unquote(raw.strip())
        members.append((_unquote(parts[0].strip()), params))
    return members


def _split(text: str, separator: str) -> list[str]:
    """`text` split at `separator`, except inside double quotes."""
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _seconds(value: str | None) -> float | None:
    """A non-negative number, or None."""
    if value is None:
        return None
    value = value.strip()
    return float(value) if _NUMBER.fullmatch(value) else None


def _count(value: str | None) -> int | None:
    """A non-negative whole number, or None."""
    seconds = _seconds(value)
    return int(seconds) if seconds is not None and seconds.is_integer() else None


def _reset_seconds(value: str | None) -> float | None:
    """Seconds until a reset given as a delay, or (past 10**9) as Unix seconds or milliseconds."""
    seconds = _seconds(value)
    if seconds is None or seconds < _UNIX_TIME_FROM:
        return seconds
    if seconds >= _UNIX_MILLIS_FROM:
        seconds /= 1000
    return max(seconds - time.time(), 0.0)
