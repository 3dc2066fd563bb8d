"""Helpers shared by the test modules: one test body run through `Client` and `AsyncClient`.

A test asks for the `api` fixture (made in its module with `api = api_fixture()`) and awaits
its methods; in "sync" mode they call `Client` directly, in "async" mode they await
`AsyncClient`. The clients come from conftest's `client` / `async_client` fixtures, so any
parametrization of those (e.g. over a real socket) applies here too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from edm_client import APIResponse, AsyncClient, Client, RetryPolicy
from edm_client._definition import ResourceDefinition
from edm_client._rules import FieldRule
from edm_client.resources.performance.learning_records import LEARNING_RECORDS
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

MODES = ("sync", "async")
COLLECTION = "/api/v1/performance/learning-records"

# The contract's field lists, restated here (not imported from src) so tests check the code
# against the contract rather than against itself.
WRITABLE_FIELDS = (
    "person_id",
    "title",
    "provider",
    "completed_at",
    "expires_at",
    "score",
    "passed",
    "certification_ref",
    "linked_cohort_id",
    "linked_assessment_id",
    "source",
    "source_type",
)
LIST_PARAMETERS = (
    "person_id",
    "provider",
    "passed",
    "linked_cohort_id",
    "linked_assessment_id",
    "include_deleted",
    "limit",
    "cursor",
)
SERVER_OWNED_FIELDS = (
    "id",
    "tenant_id",
    "app_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "is_deleted",
    "deleted_at",
    "deleted_by",
    "schema_version",
)

inprocess_only = pytest.mark.parametrize("server", ["inprocess"], indirect=True)
"""For tests of what only the in-process transport can do: raise an httpx exception as the
network would (a socket acts it out as a reset or silence), or expose the client's request
extensions. Narrows a `server` fixture parametrized over transports; harmless otherwise."""

client_side_only = inprocess_only
"""For tests where the SDK refuses the call before sending: one transport is enough."""


def sample(rule: FieldRule, other: bool = False) -> Any:
    """A value `rule` accepts (as JSON, and as a create argument); `other` gives a second one."""
    if rule.kind == "enum":
        return rule.choices[1 if other else 0]
    if rule.kind == "number":
        low, high = rule.minimum or 0, rule.maximum or 100
        return high if other else low + (high - low) / 2
    return {
        "id": ("p1", "p2"),
        "text": ("Kubernetes Administrator", "Terraform Associate"),
        "boolean": (True, False),
        "datetime": ("2026-03-01T09:30:00Z", "2027-01-31T23:59:59+01:00"),
        "date": ("2026-03-01", "2027-02-28"),
    }[rule.kind][other]


def required_fields(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    """The least a create of `definition` must send."""
    return {name: sample(definition.writable[name]) for name in definition.required}


class Api:
    """One resource's methods on one client (learning records unless `definition` says
    otherwise), awaitable whichever client it is."""

    def __init__(
        self,
        client: Client | AsyncClient,
        server: FakeServer | None = None,
        definition: ResourceDefinition[Any] = LEARNING_RECORDS,
    ) -> None:
        self.client = client
        self.server = server
        self.definition = definition
        self.is_async = isinstance(client, AsyncClient)
        self.mode = "async" if self.is_async else "sync"

    @property
    def records(self) -> Any:
        return getattr(getattr(self.client, self.definition.namespace), self.definition.name)

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        return await result if self.is_async else result

    async def create(self, **kwargs: Any) -> LearningRecord:
        record: LearningRecord = await self._call(
            self.records.create, **{**required_fields(self.definition), **kwargs}
        )
        return record

    async def get(self, record_id: Any, **kwargs: Any) -> LearningRecord:
        record: LearningRecord = await self._call(self.records.get, record_id, **kwargs)
        return record

    async def first_page(self, **kwargs: Any) -> Any:
        """The page `list()` returns (awaited for AsyncClient)."""
        return await self._call(self.records.list, **kwargs)

    async def list(self, **kwargs: Any) -> list[LearningRecord]:
        """Every record a listing yields, by iterating what `list()` returns."""
        if self.is_async:
            return [r async for r in self.records.list(**kwargs)]
        return list(self.records.list(**kwargs))

    async def next_page(self, page: Any) -> Any:
        return await self._call(page.get_next_page)

    async def pages(self, **kwargs: Any) -> list[Any]:
        """Every page of a listing, through `iter_pages()`."""
        first = await self.first_page(**kwargs)
        if self.is_async:
            return [p async for p in first.iter_pages()]
        return list(first.iter_pages())

    async def iterate(self, page: Any) -> list[LearningRecord]:
        """Every record from iterating a page object (this page and the later ones)."""
        if self.is_async:
            return [r async for r in page]
        return list(page)

    async def raw(self, name: str, *args: Any, **kwargs: Any) -> APIResponse[Any]:
        if name == "create":
            kwargs = {**required_fields(self.definition), **kwargs}
        method = getattr(self.records.with_raw_response, name)
        response: APIResponse[Any] = await self._call(method, *args, **kwargs)
        return response

    async def create_many(self, items: Any, **kwargs: Any) -> Any:
        return await self._call(self.records.create_many, items, **kwargs)

    async def close(self) -> None:
        await self._call(self.client.close)


def api_fixture() -> Any:
    """A module-level `api` fixture, parametrized over sync and async."""

    @pytest.fixture(params=MODES)
    def api(request: pytest.FixtureRequest, server: FakeServer) -> Api:
        client = request.getfixturevalue("client" if request.param == "sync" else "async_client")
        return Api(client, server)

    return api


def sleeps_fixture() -> Any:
    """A module-level `sleeps` fixture: `time.sleep` and `asyncio.sleep` return at once and
    record the seconds they were asked to wait, in order."""

    @pytest.fixture
    def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
        slept: list[float] = []
        real_async_sleep = asyncio.sleep

        def fake_sleep(seconds: float) -> None:
            slept.append(seconds)

        async def fake_async_sleep(seconds: float, result: Any = None) -> Any:
            slept.append(seconds)
            return await real_async_sleep(0, result)

        monkeypatch.setattr(time, "sleep", fake_sleep)
        monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
        return slept

    return sleeps


def make_client(
    mode: str,
    *,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    api_key: Any = "test-token",
    base_url: str = "https://edm.test",
    **kwargs: Any,
) -> Client | AsyncClient:
    """A client of the given mode over a transport or a `MockTransport(handler)`."""
    if handler is not None:
        transport = httpx.MockTransport(handler)
    if mode == "sync":
        assert isinstance(transport, httpx.BaseTransport)
        return Client(
            api_key=api_key,
            base_url=base_url,
            http_client=httpx.Client(transport=transport),
            **kwargs,
        )
    assert isinstance(transport, httpx.AsyncBaseTransport)
    return AsyncClient(
        api_key=api_key,
        base_url=base_url,
        http_client=httpx.AsyncClient(transport=transport),
        **kwargs,
    )


def socket_client(mode: str, base_url: str, **kwargs: Any) -> Client | AsyncClient:
    """A client that makes its own connection pool (as users' clients do) to a loopback URL,
    without retries unless asked, and deaf to proxy settings in the environment."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("trust_env", False)
    cls = Client if mode == "sync" else AsyncClient
    return cls(api_key="test-token", base_url=base_url, **kwargs)


def fake_api(
    server: FakeServer,
    mode: str,
    token: str | None = None,
    definition: ResourceDefinition[Any] = LEARNING_RECORDS,
    **kwargs: Any,
) -> Api:
    """An `Api` over its own client of `server` (close it with `await api.close()`)."""
    client = (
        server.client(token, **kwargs) if mode == "sync" else server.async_client(token, **kwargs)
    )
    return Api(client, server, definition)


def no_wait(**kwargs: Any) -> RetryPolicy:
    """A retry policy that does not sleep, for tests that only count attempts."""
    return RetryPolicy(initial_delay=0.0, max_delay=0.0, max_retry_after=0.0, **kwargs)


def record_json(**overrides: Any) -> dict[str, Any]:
    """A valid learning record as the server would send it."""
    record: dict[str, Any] = {
        "id": "per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
        "tenant_id": "ten_demo",
        "app_id": None,
        "created_at": "2026-03-01T09:30:00Z",
        "updated_at": "2026-03-01T09:30:00Z",
        "created_by": "p1",
        "updated_by": "p1",
        "source": "edm",
        "source_type": "api",
        "is_deleted": False,
        "deleted_at": None,
        "deleted_by": None,
        "schema_version": 1,
        "person_id": "p1",
        "title": "Kubernetes Administrator",
    }
    record.update(overrides)
    return record


def json_response(
    status: int, body: object, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": "req_mock", **(headers or {})},
    )


def sent_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


def posts(server: FakeServer) -> list[httpx.Request]:
    return [r for r in server.requests if r.method == "POST"]


def raw_http(server: FakeServer, token: str | None = None) -> httpx.Client:
    """A plain httpx client to the fake, authorised with one of its tokens.

    Over the socket when the fake is served on loopback, else over its in-process transport.
    """
    served = httpx.URL(server.base_url).host in ("127.0.0.1", "localhost", "::1")
    return httpx.Client(
        transport=None if served else server.transport,
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token or server.issue_token()}"},
        trust_env=False,
    )


def iter_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from iter_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item)
