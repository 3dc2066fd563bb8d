"""`FakeServer`: the whole EDM contract in memory, with fault injection, for tests."""

from __future__ import annotations

import asyncio
import math
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
from ulid import ULID

from edm_client._client import AsyncClient, Client
from edm_client._config import ApiKey
from edm_client.testing import _jwt
from edm_client.testing._backend import (
    COLLECTION_PATH,
    Backend,
    Problem,
    new_secret,
    problem_response,
)
from edm_client.testing._demo import DEMO_PERSON_ID, demo_items
from edm_client.testing._openapi import openapi_document
from edm_client.types import LearningRecord

if TYPE_CHECKING:
    from edm_client.testing._http_server import RunningServer
    from edm_client.testing._mock import FakeMock

__all__ = ["FakeServer"]

DEFAULT_BASE_URL = "https://edm.fake.test"
DEMO_TENANT_ID = "ten_demo"

_STATUS_TITLES = {
    408: "Request timeout",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass
class _Fault:
    status: int | None
    exception: type[Exception] | Exception | None
    delay: float | None
    remaining: int | None
    retry_after: float | str | None
    method: str | None
    after_commit: bool
    probability: float | None
    rng: random.Random | None = field(default=None, repr=False)

    def matches(self, request: httpx.Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.rng is None or self.probability is None or self.rng.random() < self.probability


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
    ) -> None:
        """`clock` stamps records (default: now, UTC). `page_scan_limit` makes list pages stop
        after scanning that many stored records, so short and empty pages that still have a
        `next_cursor` can be tested."""
        self.base_url = base_url.rstrip("/")
        self.demo_tenant_id = DEMO_TENANT_ID
        self.demo_person_id = DEMO_PERSON_ID
        self._backend = Backend(
            secret=new_secret(),
            clock=clock or (lambda: datetime.now(timezone.utc)),
            page_scan_limit=page_scan_limit,
        )
        self._faults: list[_Fault] = []
        self._requests: list[httpx.Request] = []
        self._lock = threading.Lock()
        self._served: list[RunningServer] = []
        self._demo_now: datetime | None = None
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
        now = time.time()
        claims: dict[str, Any] = {
            "sub": person_id,
            "tenant_id": tenant_id,
            "iat": int(now),
            "exp": now + expires_in,
            "jti": str(ULID()),
        }
        if app_id is not None:
            claims["app_id"] = app_id
        return _jwt.encode(claims, self._backend.secret)

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
        self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None
    ) -> Iterator[str]:
        """Run this server over real HTTP/1.1 on `host:port` (0: a free port) and yield its URL.

        Same records, tokens, faults and `requests` as in-process; keep-alive, chunked or
        `Content-Length` request bodies, and a control API under `/_fake/` for clients in
        any language. Faults act on the wire: a `delay` is real (a client read timeout fires),
        a connection error becomes a reset, a timeout error silence. While it runs,
        `base_url` is the served URL and `client()` / `async_client()` use the socket. With
        `ssl_context` (a server-side `ssl.SSLContext` with a certificate) it serves HTTPS. On
        exit, every connection is closed and every server thread has ended.
        """
        from edm_client.testing._http_server import running_server
        from edm_client.testing._network_guard import fake_served_at

        with running_server(self, host, port, ssl_context) as running, fake_served_at(running.url):
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
        """Store a few realistic records of the demo tenant and return them, oldest first.

        Eight courses and certifications of three people, dated relative to the first seeding
        (some expire within weeks). Each goes through the API's own create with a fixed
        `Idempotency-Key`, so they obey every rule, and seeding again (until `reset()`)
        returns the same records instead of copies.
        """
        if self._demo_now is None:
            self._demo_now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        token = self.issue_token()
        seeded = []
        for number, body in enumerate(demo_items(self._demo_now), start=1):
            request = httpx.Request(
                "POST",
                self.base_url + COLLECTION_PATH,
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"edm-demo-seed-{number}",
                },
            )
            response = self._handle(request)
            if response.status_code != 201:
                raise RuntimeError(f"seeding demo record {number} failed: {response.text}")
            seeded.append(LearningRecord.model_validate_json(response.content))
        return seeded

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
        with self._backend.lock:
            count = len(self._backend.order)
        served = ", served" if self._served else ""
        noun = "record" if count == 1 else "records"
        return f"<FakeServer {self.base_url} ({count} {noun}{served})>"

    def records(self) -> list[LearningRecord]:
        """Every stored record of every tenant, soft-deleted ones included, oldest first."""
        with self._backend.lock:
            raw = [self._backend.records[i] for i in self._backend.order]
        return [LearningRecord.model_validate(r) for r in raw]

    def soft_delete(self, record_id: str, *, by: str) -> LearningRecord:
        """Mark a record deleted, as the real API's delete would."""
        return LearningRecord.model_validate(self._backend.soft_delete(record_id, by=by))

    @property
    def requests(self) -> list[httpx.Request]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget records, idempotency keys, received requests and faults."""
        self._backend.reset()
        with self._lock:
            self._requests.clear()
            self._faults.clear()

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
        """Make the next `times` matching requests fail.

        `status` answers with that error status (with `Retry-After: retry_after` when given);
        `exception` raises that httpx exception (class or instance) as if the network failed;
        `delay` answers only after that many seconds (a client whose read timeout is shorter
        gets a timeout). `method` limits the fault to one HTTP method. With `after_commit`, the
        request is handled first (a create is stored) and then its response is lost to the
        fault: exactly the case idempotency keys exist for. With `probability` (and `seed`,
        for repeatable runs) each matching request fails with that probability until
        `clear_faults()`; `times` is then ignored unless given explicitly as a cap.
        """
        if status is None and exception is None and delay is None:
            raise ValueError("inject_fault needs a status, an exception or a delay")
        if probability is not None and not 0 <= probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        # Refused here rather than failing later inside the client's call, far from the cause.
        if status is not None and (isinstance(status, bool) or not 400 <= status <= 599):
            raise ValueError(f"status must be an error status, 400-599, not {status!r}")
        if delay is not None and not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay must be a finite number of seconds, 0 or more, not {delay!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be 1 or more (None: until cleared), not {times!r}")
        fault = _Fault(
            status=status,
            exception=exception,
            delay=delay,
            remaining=None if probability is not None and times == 1 else times,
            retry_after=retry_after,
            method=method.upper() if method else None,
            after_commit=after_commit,
            probability=probability,
            rng=random.Random(seed) if probability is not None else None,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Remove every fault not yet used up."""
        with self._lock:
            self._faults.clear()

    # -- used by the transports ----------------------------------------------------------

    def _arrive(self, request: httpx.Request) -> _Fault | None:
        with self._lock:
            self._requests.append(request)
            for fault in self._faults:
                if fault.matches(request):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def _handle(self, request: httpx.Request) -> httpx.Response:
        return self._backend.handle(request)


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Carries httpx requests into a `FakeServer`, sync or async, applying injected faults."""

    def __init__(self, server: FakeServer) -> None:
        self._server = server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        fault = self._server._arrive(request)
        if fault is None:
            return self._server._handle(request)
        if fault.delay:
            waited, timed_out = _wait(fault.delay, request)
            time.sleep(waited)
            if timed_out:
                raise _timed_out(fault, request, self._server)
        return _apply(fault, request, self._server)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        fault = self._server._arrive(request)
        if fault is None:
            return self._server._handle(request)
        if fault.delay:
            waited, timed_out = _wait(fault.delay, request)
            await asyncio.sleep(waited)
            if timed_out:
                raise _timed_out(fault, request, self._server)
        return _apply(fault, request, self._server)


def _wait(delay: float, request: httpx.Request) -> tuple[float, bool]:
    """How long to wait before answering, and whether the client gives up first."""
    read_timeout = request.extensions.get("timeout", {}).get("read")
    if read_timeout is not None and read_timeout < delay:
        return read_timeout, True
    return delay, False


def _timed_out(fault: _Fault, request: httpx.Request, server: FakeServer) -> httpx.ReadTimeout:
    """The client gave up waiting; with `after_commit` the server still did the work."""
    if fault.after_commit:
        server._handle(request)
    return httpx.ReadTimeout("the fake server did not answer in time", request=request)


def _apply(fault: _Fault, request: httpx.Request, server: FakeServer) -> httpx.Response:
    outcome = fault_outcome(fault, request, server)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def fault_outcome(
    fault: _Fault, request: httpx.Request, server: FakeServer
) -> httpx.Response | Exception:
    """What a fault makes of a request: a response, or the network error the client must meet.

    Shared by both transports: in-process raises the error, the socket acts it out.
    """
    response = server._handle(request) if fault.after_commit else None
    if fault.exception is not None:
        exc = fault.exception
        if isinstance(exc, type):
            return (
                exc("injected fault", request=request)
                if issubclass(exc, httpx.RequestError)
                else exc("injected fault")
            )
        return exc
    if fault.status is not None:
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        title = _STATUS_TITLES.get(fault.status, "Injected fault")
        problem = Problem(fault.status, title, f"injected fault: {title.lower()}")
        return problem_response(problem, f"req_{ULID()}", headers)
    return response if response is not None else server._handle(request)
