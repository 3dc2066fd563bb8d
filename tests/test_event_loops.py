"""An AsyncClient used across several `asyncio.run()` calls, each of which makes (and then
closes) an event loop of its own: the pool the client made follows it from loop to loop, and
a caller's `http_client`, whose connections belong to the first loop, gets a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from edm_client import AsyncClient, EDMError
from edm_client.testing import FakeServer
from loopback import Loopback


def _titles(client: AsyncClient, title: str) -> Any:
    async def create_and_list() -> list[str]:
        await client.performance.learning_records.create(person_id="p1", title=title)
        return [r.title async for r in client.performance.learning_records.list()]

    return create_and_list()


def test_an_async_client_works_across_asyncio_run_calls(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url, trust_env=False)

    first = asyncio.run(_titles(client, "one"))
    second = asyncio.run(_titles(client, "two"))
    third = asyncio.run(_titles(client, "three"))

    assert (first, second, third) == (["one"], ["one", "two"], ["one", "two", "three"])
    assert not client.is_closed
    assert loopback.open_connections_after_settling() == 0  # each closed as its loop ended
    assert complaints() == []


def test_a_with_options_copy_follows_the_pool_to_the_new_loop(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url, trust_env=False)
    copy = client.with_options(max_retries=0)

    asyncio.run(_titles(client, "one"))
    assert asyncio.run(_titles(copy, "two")) == ["one", "two"]
    assert asyncio.run(_titles(client, "three")) == ["one", "two", "three"]
    assert complaints() == []


def test_a_loop_closed_without_asyncio_runs_cleanup_is_left_alone(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url, trust_env=False)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_titles(client, "one"))
    loop.close()  # without shutdown_asyncgens(): the pool is still open, on a closed loop

    assert asyncio.run(_titles(client, "two")) == ["one", "two"]
    # The first pool was dropped untouched: Python may warn about its sockets (a
    # ResourceWarning, hidden by default), but nothing reaches the closed loop.
    assert not [c for c in complaints() if "Event loop is closed" in c]


def test_your_own_http_client_in_a_new_loop_is_refused_saying_what_to_do(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    http = httpx.AsyncClient(trust_env=False)
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url, http_client=http)
    asyncio.run(_titles(client, "one"))

    with pytest.raises(EDMError) as caught:
        asyncio.run(_titles(client, "two"))

    message = str(caught.value)
    assert "used in an event loop that has since ended" in message
    assert "Create the httpx.AsyncClient and the AsyncClient inside the loop" in message
    assert "leave out http_client" in message
    assert not http.is_closed  # yours: the SDK neither replaced nor closed it
    # Its connections belong to a closed loop, and Python warns as it drops them (the error's
    # traceback holds them too).
    del client, http, caught
    complaints()


def test_your_own_in_memory_http_client_moves_to_a_new_loop(fake: FakeServer) -> None:
    client = fake.async_client()  # over the fake's in-process transport: no connections

    asyncio.run(_titles(client, "one"))

    assert asyncio.run(_titles(client, "two")) == ["one", "two"]


def test_a_closed_async_client_stays_closed_in_a_new_loop(
    fake: FakeServer, loopback: Loopback
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url, trust_env=False)

    async def use_and_close() -> None:
        await client.performance.learning_records.list()
        await client.aclose()

    asyncio.run(use_and_close())

    with pytest.raises(EDMError, match="is closed"):
        asyncio.run(_titles(client, "two"))
    assert client.is_closed


async def test_the_pool_is_kept_while_the_same_loop_runs(fake: FakeServer) -> None:
    with fake.serve():
        client = AsyncClient(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
        await client.performance.learning_records.list()
        pool = client._pool.http
        await client.performance.learning_records.list()

        assert client._pool.http is pool
        assert fake._served[-1].total_connections == 1
        await client.aclose()
