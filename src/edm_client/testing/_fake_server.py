"""`FakeServer`: the whole EDM contract in memory, with fault injection, for tests."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import httpx

from edm_client._client import AsyncClient, Client
from edm_client._config import ApiKey
from edm_client._definition import ResourceDefinition, find
from edm_client._models import APIRecord
from edm_client.resources.performance.learning_records import LEARNING_RECORDS
from edm_client.testing._control import allowed_host
from edm_client.testing._demo import DEMO_PERSON_ID, DEMO_TENANT_ID
from edm_client.testing._dispatch import Dispatcher
from edm_client.testing._faults import make_fault, timed_out, wait_before_answer
from edm_client.testing._openapi import openapi_document
from edm_client.testing._rate_limit import TokenBucket
from edm_client.testing._state import FakeState
from edm_client.types import LearningRecord

if TYPE_CHECKING:
    from edm_client.testing._http_server import RunningServer
    from edm_client.testing._mock import FakeMock

__all__ = ["FakeCollection", "FakeServer", "FakeTransport"]

M = TypeVar("M", bound=APIRecord)

DEFAULT_BASE_URL = "https://edm.fake.test"
IDLE_TIMEOUT = 30.0
"""`serve()`'s default: seconds a connection may wait for, or take to send, one request."""
MAX_IDLE_TIMEOUT = 86_400.0
"""The longest `idle_timeout`: a day is ample to type requests by hand, and well inside what
a socket timeout can hold (about 9e9 s; past that every read failed)."""


class FakeServer:
    """An in-memory EDM API implementing the whole contract, for your tests and ours.

    Wire a client with `server.client()` / `server.async_client()`, or pass
    `server.transport` to your own `httpx.Client` / `httpx.AsyncClient`. `serve()` runs the
    same server over a real loopback socket. Thread-safe.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], datetime] | None = None,
        page_scan_limit: int | None = None,
        rate_limit: float | TokenBucket | None = None,
    ) -> None:
        """`clock` stamps records (default: now, UTC). `page_scan_limit` makes list pages stop
        after scanning that many stored records, so short and empty pages that still have a
        `next_cursor` can be tested. `rate_limit` (requests per second, or a `TokenBucket`)
        gives each tenant a token bucket: a request that finds it empty gets 429 with
        `Retry-After`, and every API response carries `RateLimit-*` headers."""
        self.base_url = base_url.rstrip("/")
        self.demo_tenant_id = DEMO_TENANT_ID
        self.demo_person_id = DEMO_PERSON_ID
        self.rate_limit = None if rate_limit is None else TokenBucket.of(rate_limit)
        """The per-tenant `TokenBucket` given as `rate_limit`, or None."""
        self._state = FakeState(
            clock=clock or (lambda: datetime.now(timezone.utc)),
            page_scan_limit=page_scan_limit,
            rate_limit=self.rate_limit,
        )
        self._dispatcher = Dispatcher(self._state)
        self._served: list[RunningServer] = []
        self.transport = FakeTransport(self)

    # -- wiring -------------------------------------------------------------------------

    def issue_token(
        self,
        *,
        tenant_id: str = DEMO_TENANT_ID,
        person_id: str = DEMO_PERSON_ID,
        app_id: str | None = None,
        expires_in: float = 3600,
    ) -> str:
        """A signed HS256 JWT this server accepts until it expires (negative: already expired)."""
        return self._state.issue_token(
            tenant_id=tenant_id, person_id=person_id, app_id=app_id, expires_in=expires_in
        )

    def client(self, token: ApiKey | None = None, **client_kwargs: Any) -> Client:
        """A `Client` wired to this server; the default token is a human of the demo tenant.

        `token` may be a token provider, as `Client(api_key=...)` takes. While `serve()` runs,
        the client talks to it over the socket."""
        if "http_client" not in client_kwargs:
            client_kwargs["http_client"] = (
                httpx.Client(trust_env=False)
                if self._served
                else httpx.Client(transport=self.transport)
            )
        api_key = self.issue_token() if token is None else token
        return Client(api_key=api_key, base_url=self.base_url, **client_kwargs)

    def async_client(self, token: ApiKey | None = None, **client_kwargs: Any) -> AsyncClient:
        """An `AsyncClient` wired to this server; the same defaults as `client()`."""
        if "http_client" not in client_kwargs:
            client_kwargs["http_client"] = (
                httpx.AsyncClient(trust_env=False)
                if self._served
                else httpx.AsyncClient(transport=self.transport)
            )
        api_key = self.issue_token() if token is None else token
        return AsyncClient(api_key=api_key, base_url=self.base_url, **client_kwargs)

    @contextmanager
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        allowed_hosts: Iterable[str] = (),
    ) -> Iterator[str]:
        """Run this server over real HTTP/1.1 on `host:port` (0: a free port) and yield its URL.

        Same records, tokens, faults and `requests` as in-process; keep-alive, chunked or
        `Content-Length` request bodies, and a control API under `/_fake/` for clients in
        any language. Faults act on the wire: a `delay` is real (a client read timeout fires),
        a connection error becomes a reset, a timeout error silence. While it runs,
        `base_url` is the served URL and `client()` / `async_client()` use the socket. With
        `ssl_context` (a server-side `ssl.SSLContext` with a certificate) it serves HTTPS.
        A connection that sends nothing for `idle_timeout` seconds between requests is
        closed, and one that takes longer than that to send a request gets a 408 and is
        closed. The control API (`/_fake/`) answers only requests addressed to the fake by
        an IP address, `localhost`, `host` or one of the `allowed_hosts` names, and none
        from a web page of another origin: a page in your browser cannot drive it. On
        exit, every connection is closed and every server thread has ended.
        """
        from edm_client.testing._http_server import running_server
        from edm_client.testing._network_guard import fake_served_at

        if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float)):
            raise TypeError(f"idle_timeout must be a number of seconds, not {idle_timeout!r}")
        if not 0 < idle_timeout <= MAX_IDLE_TIMEOUT:
            raise ValueError(
                f"idle_timeout must be a positive number of seconds, at most "
                f"{MAX_IDLE_TIMEOUT:g}, not {idle_timeout}"
            )
        names = frozenset(
            map(allowed_host, [allowed_hosts] if isinstance(allowed_hosts, str) else allowed_hosts)
        )
        with (
            running_server(
                self._dispatcher,
                host,
                port,
                ssl_context,
                idle_timeout=idle_timeout,
                allowed_hosts=names,
            ) as running,
            fake_served_at(running.url),
        ):
            self._served.append(running)
            previous, self.base_url = self.base_url, running.url
            try:
                yield running.url
            finally:
                self._served.remove(running)
                self.base_url = self._served[-1].url if self._served else previous

    def openapi_document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the contract, as served at `/api/v1/openapi.json`."""
        return openapi_document(self.base_url)

    def seed_demo_data(self) -> list[LearningRecord]:
        """Store a few realistic records of the demo tenant and return the learning records
        among them, oldest first.

        Eight courses and certifications of three people, dated relative to the first seeding
        (some expire within weeks), and the demo records of any other resource that has some.
        Each goes through the API's own create with a fixed `Idempotency-Key`, so they obey
        every rule, and seeding again (until `reset()`) returns the same records instead of
        copies.
        """
        seeded = self._state.seed_demo()
        return [LearningRecord.model_validate(r) for r in seeded.get(LEARNING_RECORDS, [])]

    def mock(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        tenant_id: str = DEMO_TENANT_ID,
        person_id: str = DEMO_PERSON_ID,
        app_id: str | None = None,
    ) -> FakeMock:
        """Route every httpx request to `base_url` (default: this server's), from any client,
        sync or async, into this server while the returned context manager is active.

        Code that builds its own `Client()` from `EDM_BASE_URL` / `EDM_API_KEY` is tested
        unchanged. `api_key` is a static key the fake then accepts as the caller `tenant_id` /
        `person_id` / `app_id` (e.g. the one your test settings already set); without it the
        mock mints a token for that caller, as `.api_key` (and in `.environ`). Needs respx:
        `pip install 'edm-sdk[testing]'`.
        """
        from edm_client.testing._mock import FakeMock

        return FakeMock(
            self,
            base_url or self.base_url,
            api_key=api_key,
            tenant_id=tenant_id,
            person_id=person_id,
            app_id=app_id,
        )

    # -- inspection and control ---------------------------------------------------------

    def __repr__(self) -> str:
        count = self._state.record_count()
        served = ", served" if self._served else ""
        noun = "record" if count == 1 else "records"
        return f"<FakeServer {self.base_url} ({count} {noun}{served})>"

    @overload
    def collection(self, resource: ResourceDefinition[M]) -> FakeCollection[M]: ...
    @overload
    def collection(self, resource: str) -> FakeCollection[Any]: ...
    def collection(self, resource: ResourceDefinition[Any] | str) -> FakeCollection[Any]:
        """The stored records of one resource, by its definition or its name
        (`"performance.goals"`): `fake.collection("performance.goals").records()`."""
        definition = find(resource) if isinstance(resource, str) else resource
        return FakeCollection(self._state, definition)

    def records(self) -> list[LearningRecord]:
        """Every stored learning record of every tenant, soft-deleted ones included, oldest
        first. Other resources' records: `collection(...).records()`."""
        return self.collection(LEARNING_RECORDS).records()

    def soft_delete(self, record_id: str, *, by: str) -> LearningRecord:
        """Mark a learning record deleted, as the real API's delete would."""
        return self.collection(LEARNING_RECORDS).soft_delete(record_id, by=by)

    @property
    def requests(self) -> list[httpx.Request]:
        """Every request received, in order (a copy)."""
        return self._state.requests()

    def reset(self) -> None:
        """Forget records, idempotency keys, received requests and faults; refill rate limits."""
        self._state.reset()

    def inject_fault(
        self,
        *,
        status: int | None = None,
        exception: type[Exception] | Exception | None = None,
        delay: float | None = None,
        times: int | None = 1,
        retry_after: float | str | None = None,
        method: str | None = None,
        after_commit: bool = False,
        probability: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Make the next `times` matching requests fail: requests of the API's operations
        (list, get or create); the OpenAPI document, an unknown path and the control API are
        never faulted.

        `status` answers with that error status (with `Retry-After: retry_after` when given);
        `exception` raises that httpx exception (class or instance) as if the network failed;
        `delay` answers only after that many seconds, up to 3600 (a client whose read timeout
        is shorter gets a timeout). `method` limits the fault to one HTTP method. With
        `after_commit`, the request is handled first (a create is stored) and then its
        response is lost to the fault: exactly the case idempotency keys exist for. With
        `probability` (and `seed`, for repeatable runs) each matching request fails with that
        probability until `clear_faults()`; `times` is then ignored unless given explicitly
        as a cap.
        """
        self._state.add_fault(
            make_fault(
                status=status,
                exception=exception,
                delay=delay,
                times=times,
                retry_after=retry_after,
                method=method,
                after_commit=after_commit,
                probability=probability,
                seed=seed,
            )
        )

    def clear_faults(self) -> None:
        """Remove every fault not yet used up."""
        self._state.clear_faults()


class FakeCollection(Generic[M]):
    """One resource's records in a `FakeServer`, from `fake.collection(...)`."""

    def __init__(self, state: FakeState, definition: ResourceDefinition[M]) -> None:
        self._state = state
        self.definition = definition

    def records(self) -> list[M]:
        """Every stored record of every tenant, soft-deleted ones included, oldest first."""
        with self._state.lock:
            raw = [dict(r) for r in self._state.collection(self.definition).stored()]
        return [self.definition.model.model_validate(r) for r in raw]

    def soft_delete(self, record_id: str, *, by: str) -> M:
        """Mark a record deleted, as the real API's delete would; KeyError if absent."""
        with self._state.lock:
            raw = dict(self._state.collection(self.definition).soft_delete(record_id, by=by))
        return self.definition.model.model_validate(raw)

    def __repr__(self) -> str:
        return f"<FakeCollection {self.definition.key}>"


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Carries httpx requests into a `FakeServer`, sync or async, applying injected faults."""

    def __init__(self, server: FakeServer) -> None:
        self._dispatcher = server._dispatcher

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        dispatcher = self._dispatcher
        fault = dispatcher.arrive(request)
        if fault is None:
            return dispatcher.answer(request)
        if fault.delay:
            waited, gave_up = wait_before_answer(fault.delay, request)
            time.sleep(waited)
            if gave_up:
                raise timed_out(fault, request, dispatcher.answer)
        return _raise_or_return(dispatcher.outcome(fault, request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        dispatcher = self._dispatcher
        fault = dispatcher.arrive(request)
        if fault is None:
            return dispatcher.answer(request)
        if fault.delay:
            waited, gave_up = wait_before_answer(fault.delay, request)
            await asyncio.sleep(waited)
            if gave_up:
                raise timed_out(fault, request, dispatcher.answer)
        return _raise_or_return(dispatcher.outcome(fault, request))


def _raise_or_return(outcome: httpx.Response | Exception) -> httpx.Response:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
