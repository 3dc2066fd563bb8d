"""When to retry a request and how long to wait first."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from edm_client._exceptions import APIConnectionError, InvalidRequestError
from edm_client._ratelimit import parse_retry_after

__all__ = ["RetryEvent", "RetryPolicy"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryEvent:
    """What `RetryPolicy.on_retry` is told before each retry.

    `attempt` is the number of the attempt that just failed (1 for the first), `delay` the
    seconds the client will now sleep, and exactly one of `error` (no response arrived) or
    `response` (a retryable status) is set.
    """

    attempt: int
    delay: float
    error: APIConnectionError | None = None
    response: httpx.Response | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    The delay before retry n (counting from 0) is `initial_delay * 2**n`, capped at
    `max_delay`, then multiplied by a random factor in [1 - jitter, 1]. A `Retry-After` header
    (seconds or an HTTP date) replaces that delay, capped at `max_retry_after`.

    Connection errors and timeouts are always retryable; of responses, only `statuses`.
    `on_retry` is called with a `RetryEvent` before each sleep (log it, count it, or raise to
    stop retrying).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    statuses: frozenset[int] = RETRYABLE_STATUSES
    on_retry: Callable[[RetryEvent], object] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Checked here, not on the first retry: a bad policy must fail when it is made,
        # not as a raw ValueError from time.sleep in the middle of a flaky night.
        if not _is_int(self.max_retries) or self.max_retries < 0:
            raise InvalidRequestError(
                f"max_retries must be 0 or more, a whole number, not {self.max_retries!r}",
                param="max_retries",
            )
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not _is_seconds(value):
                raise InvalidRequestError(
                    f"{name} must be a finite number of seconds, 0 or more, not {value!r}",
                    param=name,
                )
        if not _is_number(self.jitter) or not 0 <= self.jitter <= 1:
            raise InvalidRequestError(
                f"jitter must be a number between 0 and 1, not {self.jitter!r}", param="jitter"
            )
        statuses = _status_codes(self.statuses)
        if statuses is None:
            raise InvalidRequestError(
                f"statuses must be HTTP status codes (100-599), not {self.statuses!r}",
                param="statuses",
            )
        if self.on_retry is not None and not callable(self.on_retry):
            raise InvalidRequestError(
                f"on_retry must be callable, not {self.on_retry!r}", param="on_retry"
            )
        object.__setattr__(self, "statuses", statuses)

    def should_retry(self, response: httpx.Response) -> bool:
        return response.status_code in self.statuses

    def delay(self, retry_number: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry `retry_number` (0 for the first retry)."""
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                return min(retry_after, self.max_retry_after)
        backoff = min(self.initial_delay * 2.0**retry_number, self.max_delay)
        return backoff * (1.0 - self.jitter * random.random())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_seconds(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _status_codes(value: object) -> frozenset[int] | None:
    """`value` as a frozenset of HTTP status codes, or None when it is not one."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return None
    codes = frozenset(value)
    if all(_is_int(code) and 100 <= code <= 599 for code in codes):
        return codes
    return None
