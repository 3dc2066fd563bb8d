"""`FakeServer.mock()`: code that builds its own clients reaches the fake, unchanged.

Tests that mock a non-loopback host use the plugin's `edm_fake` fixture, whose network guard
fails the test instead of letting a broken mock reach the network.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
import pytest
import respx

from edm_client import AsyncClient, AuthenticationError, Client, RetryEvent, RetryPolicy
from edm_client.testing import FakeServer

EDM_URL = "https://edm.example.com"
PATH = "/api/v1/performance/learning-records"


def app_sync_job() -> str:
    """Application code under test: configures its own client from the environment."""
    with Client() as client:
        return client.performance.learning_records.create(person_id="p1", title="Kubernetes").id


async def app_async_job() -> str:
    async with AsyncClient() as client:
        record = await client.performance.learning_records.create(person_id="p1", title="AWS")
        return record.id


def test_sync_client_built_from_the_environment_is_served_by_the_fake(
    edm_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with edm_fake.mock(base_url=EDM_URL) as api:
        for name, value in api.environ.items():
            monkeypatch.setenv(name, value)
        record_id = app_sync_job()

    assert [record.id for record in edm_fake.records()] == [record_id]


async def test_async_client_built_from_the_environment_is_served_by_the_fake(
    edm_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with edm_fake.mock(base_url=EDM_URL) as api:
        for name, value in api.environ.items():
            monkeypatch.setenv(name, value)
        record_id = await app_async_job()

    assert [record.id for record in edm_fake.records()] == [record_id]


def test_any_httpx_client_is_routed_into_the_fake(edm_fake: FakeServer) -> None:
    with edm_fake.mock(base_url=EDM_URL) as api, httpx.Client() as http:
        response = http.get(EDM_URL + PATH, headers={"Authorization": f"Bearer {api.api_key}"})

    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}


def test_default_base_url_is_the_fakes_own(edm_fake: FakeServer) -> None:
    with edm_fake.mock() as api:
        response = httpx.get(edm_fake.base_url + PATH, headers={"Authorization": "Bearer x"})

    assert api.base_url == edm_fake.base_url
    assert response.status_code == 401


def test_static_api_key_is_accepted_as_the_configured_caller(
    edm_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDM_BASE_URL", EDM_URL)
    monkeypatch.setenv("EDM_API_KEY", "sk-test-123")

    with edm_fake.mock(base_url=EDM_URL, api_key="sk-test-123", app_id="app_lms"):
        app_sync_job()

    [record] = edm_fake.records()
    assert record.app_id == "app_lms"
    assert record.tenant_id == edm_fake.demo_tenant_id


def test_keys_other_than_the_static_one_are_rejected(
    edm_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDM_BASE_URL", EDM_URL)
    monkeypatch.setenv("EDM_API_KEY", "sk-wrong")

    with edm_fake.mock(base_url=EDM_URL, api_key="sk-test-123"), pytest.raises(AuthenticationError):
        app_sync_job()


def test_base_url_with_a_path_prefix_is_served(edm_fake: FakeServer) -> None:
    with (
        edm_fake.mock(base_url="https://gateway.example.com/edm/") as api,
        Client(api_key=api.api_key, base_url=api.base_url) as client,
    ):
        created = client.performance.learning_records.create(person_id="p1", title="Go")
        fetched = client.performance.learning_records.get(created.id)

    assert fetched == created


def test_requests_to_other_urls_are_left_alone(server: FakeServer, unused_tcp_port: int) -> None:
    with server.mock(base_url=EDM_URL), pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{unused_tcp_port}{PATH}")


def test_routing_stops_when_the_block_ends(server: FakeServer, unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}{PATH}"
    with server.mock(base_url=url.removesuffix(PATH)) as api:
        inside = httpx.get(url, headers={"Authorization": f"Bearer {api.api_key}"})

    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers={"Authorization": f"Bearer {api.api_key}"})
    assert inside.status_code == 200


def test_injected_faults_apply_to_mocked_requests(edm_fake: FakeServer) -> None:
    edm_fake.inject_fault(status=503, retry_after=0)
    retries: list[RetryEvent] = []
    policy = RetryPolicy(initial_delay=0, jitter=0, on_retry=retries.append)
    with (
        edm_fake.mock(base_url=EDM_URL) as api,
        Client(api_key=api.api_key, base_url=EDM_URL, retry_policy=policy) as client,
    ):
        client.performance.learning_records.create(person_id="p1", title="Rust")

    assert [event.response.status_code for event in retries if event.response] == [503]
    assert len(edm_fake.records()) == 1


async def test_async_requests_wait_out_injected_delays_without_blocking_the_loop(
    edm_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    awaited: list[float] = []

    async def instant_sleep(seconds: float) -> None:
        awaited.append(seconds)

    def blocking_sleep(seconds: float) -> None:
        raise AssertionError("time.sleep() would block the event loop")

    monkeypatch.setattr(asyncio, "sleep", instant_sleep)
    monkeypatch.setattr(time, "sleep", blocking_sleep)
    edm_fake.inject_fault(delay=5)
    async with edm_fake.mock(base_url=EDM_URL) as api, httpx.AsyncClient() as http:
        response = await http.get(
            EDM_URL + PATH, headers={"Authorization": f"Bearer {api.api_key}"}
        )

    assert response.status_code == 200
    assert awaited == [5]


def test_requests_are_recorded_by_the_fake(edm_fake: FakeServer) -> None:
    with edm_fake.mock(base_url=EDM_URL) as api:
        httpx.get(EDM_URL + PATH + "?limit=5", headers={"Authorization": f"Bearer {api.api_key}"})

    [request] = edm_fake.requests
    assert request.url.params["limit"] == "5"


def test_another_respx_mock_keeps_its_own_routes(edm_fake: FakeServer) -> None:
    with edm_fake.mock(base_url=EDM_URL) as api, respx.mock() as other:
        other.get("https://weather.example.com/today").respond(json={"sky": "clear"})
        weather = httpx.get("https://weather.example.com/today")
        edm = httpx.get(EDM_URL + PATH, headers={"Authorization": f"Bearer {api.api_key}"})

    assert weather.json() == {"sky": "clear"}
    assert edm.status_code == 200


def test_token_is_kept_out_of_the_repr(edm_fake: FakeServer) -> None:
    api = edm_fake.mock(base_url=EDM_URL, api_key="sk-secret")

    assert "sk-secret" not in repr(api)
    assert api.environ == {"EDM_BASE_URL": EDM_URL, "EDM_API_KEY": "sk-secret"}


def test_invalid_base_url_is_rejected(edm_fake: FakeServer) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        edm_fake.mock(base_url="edm.example.com")


def test_without_respx_mock_names_the_extra_to_install(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "respx", None)
    monkeypatch.delitem(sys.modules, "edm_client.testing._mock")

    with pytest.raises(ImportError, match=r"pip install 'edm-sdk\[testing\]'"):
        server.mock()
