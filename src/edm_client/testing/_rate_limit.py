"""The fake's optional rate limiter: one token bucket per tenant, as an API gateway keeps.

`FakeServer(rate_limit=...)` gives its state one `RateLimiter`; the fake asks it once per
request, at arrival, whether the request may go on (`refusal`), and the dispatcher stamps its
state on every API response (`headers`). What counts, and the headers sent, are described in
docs/fake-server.md.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx

from edm_client.testing import _jwt
from edm_client.testing._faults import Fault

__all__ = ["RateLimiter", "TokenBucket"]

_API_PREFIX: Final = "/api/v1/"
_UNCOUNTED: Final = frozenset({"/api/v1/openapi.json"})
"""API paths that never count: the OpenAPI document is not an operation."""


@dataclass(frozen=True)
class TokenBucket:
    """A rate limit per tenant: `rate` requests per second on average, bursts up to `burst`.

    Each tenant's bucket holds up to `burst` tokens (default: one second's worth, `rate`
    rounded up) and starts full; every counted request takes one token, and tokens come back
    at `rate` per second. A request that finds the bucket empty is answered 429.
    `FakeServer(rate_limit=200)` is `TokenBucket(rate=200)`.
    """

    rate: float
    """Tokens added per second, per tenant: the sustained requests per second allowed."""
    burst: int | None = None
    """The bucket's size: how many requests may arrive at once after a quiet spell."""

    def __post_init__(self) -> None:
        # Refused when made, so a typo fails where it was written, not as a hung test later.
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"rate must be a number of requests per second, not {rate!r}")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a finite number above 0, not {rate!r}")
        burst = self.burst
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)):
            raise TypeError(f"burst must be a whole number of requests, not {burst!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be 1 or more, not {burst!r}")

    @property
    def capacity(self) -> int:
        """The bucket's size: `burst`, or `rate` rounded up."""
        return self.burst if self.burst is not None else math.ceil(self.rate)

    def __str__(self) -> str:
        return f"{self.rate:g} requests per second per tenant, in bursts of up to {self.capacity}"

    def as_json(self) -> dict[str, float]:
        """`{"rate": ..., "burst": ...}`, as the served fake's index and `--json` show it."""
        return {"rate": self.rate, "burst": self.capacity}

    @classmethod
    def of(cls, value: float | TokenBucket) -> TokenBucket:
        """`value` as a `TokenBucket`: a number is a rate in requests per second."""
        return value if isinstance(value, TokenBucket) else cls(rate=value)


class RateLimiter:
    """The buckets of every tenant under one `TokenBucket` spec. Thread-safe."""

    def __init__(
        self, spec: TokenBucket, secret: bytes, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.spec = spec
        self._secret = secret
        self._clock = clock
        self._capacity = float(spec.capacity)
        self._buckets: dict[str, tuple[float, float]] = {}
        """Per tenant: the tokens left, and when that was true."""
        self._lock = threading.Lock()

    def admit(self, request: httpx.Request) -> int | None:
        """Take a token for `request`: None when it may go on, else `Retry-After` seconds."""
        tenant = self._tenant(request)
        if tenant is None:
            return None
        with self._lock:
            tokens, now = self._refill(tenant)
            if tokens >= 1.0:
                self._buckets[tenant] = (tokens - 1.0, now)
                return None
            self._buckets[tenant] = (tokens, now)
        # Whole seconds (RFC 9110 delta-seconds), rounded up: a client that waits exactly as
        # told always finds a token.
        return max(1, math.ceil((1.0 - tokens) / self.spec.rate))

    def refusal(self, request: httpx.Request) -> Fault | None:
        """Take a token for `request`: None when it may go on, else the 429 it meets."""
        retry_after = self.admit(request)
        if retry_after is None:
            return None
        detail = f"over the rate limit of {self.spec}; retry after {retry_after} s"
        return Fault(429, None, None, None, retry_after, None, False, None, detail=detail)

    def headers(self, request: httpx.Request) -> dict[str, str]:
        """The `RateLimit-*` headers for the response to `request` (none when it is not counted)."""
        tenant = self._tenant(request)
        if tenant is None:
            return {}
        with self._lock:
            tokens, _ = self._refill(tenant)
        return {
            "RateLimit-Limit": str(self.spec.capacity),
            "RateLimit-Remaining": str(math.floor(tokens)),
            "RateLimit-Reset": str(math.ceil((self._capacity - tokens) / self.spec.rate)),
        }

    def reset(self) -> None:
        """Every bucket full again."""
        with self._lock:
            self._buckets.clear()

    def _refill(self, tenant: str) -> tuple[float, float]:
        now = self._clock()
        tokens, then = self._buckets.get(tenant, (self._capacity, now))
        return min(self._capacity, tokens + (now - then) * self.spec.rate), now

    def _tenant(self, request: httpx.Request) -> str | None:
        """The tenant whose bucket `request` draws on; None for requests that do not count.

        Only API operations of a valid token count: the OpenAPI document, the control API and
        requests refused with 401 do not (a gateway cannot tell whose they are).
        """
        path = request.url.path
        if not path.startswith(_API_PREFIX) or path in _UNCOUNTED:
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        claims = _jwt.decode(token.strip(), self._secret)
        return None if claims is None else str(claims["tenant_id"])
