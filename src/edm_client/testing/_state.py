"""Everything a fake server holds: its collections, tokens, faults and the requests it saw.

`FakeState` is the one owner of that state; the API routes, the control API and `FakeServer`
all go through its methods. One lock guards it all.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
from ulid import ULID

from edm_client._definition import ResourceDefinition, definitions
from edm_client.testing import _jwt
from edm_client.testing._collection import Caller, Collection, Created
from edm_client.testing._demo import DEMO_PERSON_ID, DEMO_TENANT_ID
from edm_client.testing._faults import Fault
from edm_client.testing._problem import Problem
from edm_client.testing._rate_limit import RateLimiter, TokenBucket

__all__ = ["FakeState"]


class FakeState:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        page_scan_limit: int | None,
        rate_limit: TokenBucket | None = None,
    ) -> None:
        self.secret = secrets.token_bytes(32)
        self.rate_limiter = None if rate_limit is None else RateLimiter(rate_limit, self.secret)
        self.clock = clock
        self.page_scan_limit = page_scan_limit
        self.lock = threading.RLock()
        self._collections: dict[str, Collection] = {}
        self._faults: list[Fault] = []
        self._requests: list[httpx.Request] = []
        self._last_ulid = 0
        self._demo_now: datetime | None = None

    # -- collections ---------------------------------------------------------------------

    def collection(self, definition: ResourceDefinition[Any]) -> Collection:
        """The records of `definition`'s resource (a collection is made on first use)."""
        with self.lock:
            found = self._collections.get(definition.key)
            if found is None:
                found = self._collections[definition.key] = Collection(
                    definition,
                    clock=self.clock,
                    new_ulid=self._next_ulid,
                    page_scan_limit=self.page_scan_limit,
                )
            return found

    def _next_ulid(self) -> str:
        # Strictly increasing even within one millisecond, so id order is creation order.
        self._last_ulid = max(int(ULID()), self._last_ulid + 1)
        # Not ULID.from_int: python-ulid 4.1 types it with typing.Self, which mypy checking for
        # Python 3.10 cannot resolve.
        return str(ULID(self._last_ulid.to_bytes(16, "big")))

    def stored(self) -> list[dict[str, Any]]:
        """Every record of every collection and tenant, oldest first (copies)."""
        with self.lock:
            every = [r for c in self._collections.values() for r in c.stored()]
        return [dict(r) for r in sorted(every, key=lambda r: r["id"].partition("_")[2])]

    def find(self, record_id: str) -> Collection | None:
        """The collection holding the record `record_id`, if any."""
        with self.lock:
            for found in self._collections.values():
                if record_id in found.records:
                    return found
        return None

    def record_count(self) -> int:
        with self.lock:
            return sum(len(c.order) for c in self._collections.values())

    def seed_demo(self) -> dict[ResourceDefinition[Any], list[dict[str, Any]]]:
        """Store the demo records of every resource that has some, once (until `reset`).

        Each goes through the resource's own create with a fixed `Idempotency-Key`, so it
        obeys every rule, and seeding again returns the same records instead of copies.
        """
        with self.lock:
            if self._demo_now is None:
                self._demo_now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            now = self._demo_now
        caller = Caller(DEMO_PERSON_ID, DEMO_TENANT_ID, None)
        seeded: dict[ResourceDefinition[Any], list[dict[str, Any]]] = {}
        for definition in definitions():
            if definition.demo_items is None:
                continue
            items = definition.demo_items(now)
            seeded[definition] = [
                self._seed(definition, caller, body, f"edm-demo-seed-{number}")
                for number, body in enumerate(items, start=1)
            ]
        return seeded

    def _seed(
        self,
        definition: ResourceDefinition[Any],
        caller: Caller,
        body: dict[str, Any],
        key: str,
    ) -> dict[str, Any]:
        try:
            with self.lock:
                created: Created = self.collection(definition).create(
                    caller, body, key, time.time()
                )
        except Problem as problem:
            raise RuntimeError(f"seeding demo {definition.noun} {key} failed: {problem}") from None
        return dict(self.collection(definition).records[created.record_id])

    # -- tokens --------------------------------------------------------------------------

    def issue_token(
        self, *, tenant_id: str, person_id: str, app_id: str | None, expires_in: float
    ) -> str:
        now = time.time()
        claims: dict[str, Any] = {
            "sub": person_id,
            "tenant_id": tenant_id,
            "iat": int(now),
            "exp": now + expires_in,
            # Random, not a ULID: one made in the same millisecond as a record id shares most
            # of its characters with it, and the SDK scrubs any long run of the token it finds
            # in a response (a cursor holding that id came back with part of it redacted).
            "jti": secrets.token_hex(16),
        }
        if app_id is not None:
            claims["app_id"] = app_id
        return _jwt.encode(claims, self.secret)

    def authenticate(self, request: httpx.Request) -> Caller:
        """The caller a request's bearer token names; a 401 problem for any other token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        claims = _jwt.decode(token.strip(), self.secret) if scheme.lower() == "bearer" else None
        if claims is None:
            raise Problem(
                401,
                "Unauthorized",
                "missing, malformed or expired bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="edm"'},
            )
        app_id = claims.get("app_id")
        return Caller(
            claims["sub"], claims["tenant_id"], app_id if isinstance(app_id, str) else None
        )

    # -- faults and the request log -------------------------------------------------------

    def arrive(self, request: httpx.Request) -> Fault | None:
        """Log an API request and use up the first fault it matches, if any; a request over
        the rate limit meets its 429 first, as it would at a gateway in front of the service."""
        with self.lock:
            self._requests.append(request)
            refused = self.rate_limiter.refusal(request) if self.rate_limiter else None
            if refused is not None:
                return refused
            for fault in self._faults:
                if fault.matches(request):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def requests(self) -> list[httpx.Request]:
        with self.lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget records, idempotency keys, received requests and faults; refill rate limits."""
        if self.rate_limiter is not None:
            self.rate_limiter.reset()
        with self.lock:
            for found in self._collections.values():
                found.reset()
            self._requests.clear()
            self._faults.clear()
