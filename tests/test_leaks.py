"""Clients do not leak: connections are closed, memory stays flat, dropped clients go quietly.

Connections are counted on a real loopback socket, from the server's side.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import warnings
from collections.abc import Callable, Iterator

import httpx
import pytest

from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer
from loopback import Loopback

CLIENTS = 1_000
# tracemalloc's noise over 1,000 iterations is ~30 KB; a leak of one small object per client
# (a dict, a client, a pool) would be well past this.
MEMORY_NOISE = 256 * 1024


def memory_growth(fake: FakeServer, run: Callable[[int], None], times: int) -> int:
    """Bytes still allocated after `run(times)` that were not before (after a warm-up)."""
    run(20)
    fake.reset()  # the fake keeps every request it saw; that is not the client's memory
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(times)
        fake.reset()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_1000_clients_created_used_and_closed_leave_no_open_connection(
    fake: FakeServer, loopback: Loopback
) -> None:
    token = fake.issue_token()
    for _ in range(CLIENTS):
        with Client(api_key=token, base_url=loopback.base_url) as client:
            client.performance.learning_records.list(limit=1)
    assert loopback.total_connections == CLIENTS
    assert loopback.open_connections_after_settling() == 0


async def test_1000_async_clients_created_used_and_closed_leave_no_open_connection(
    fake: FakeServer, loopback: Loopback
) -> None:
    token = fake.issue_token()
    for _ in range(CLIENTS):
        async with AsyncClient(api_key=token, base_url=loopback.base_url) as client:
            await client.performance.learning_records.list(limit=1)
    assert loopback.total_connections == CLIENTS
    assert loopback.open_connections_after_settling() == 0


def test_1000_with_options_copies_share_one_pool_closed_with_the_original(
    fake: FakeServer, loopback: Loopback
) -> None:
    client = Client(api_key=fake.issue_token(), base_url=loopback.base_url)
    for n in range(CLIENTS):
        copy = client.with_options(timeout=10 + n, default_headers={"X-Copy": str(n)})
        copy.performance.learning_records.list(limit=1)
        copy.close()  # a copy does not own the pool: this leaves it open for the others
    assert not client.is_closed
    client.close()
    assert loopback.total_connections == 1
    assert loopback.open_connections_after_settling() == 0


def test_1000_clients_created_used_and_closed_leave_memory_flat(
    fake: FakeServer, loopback: Loopback
) -> None:
    token = fake.issue_token()

    def run(times: int) -> None:
        for _ in range(times):
            with Client(api_key=token, base_url=loopback.base_url) as client:
                client.performance.learning_records.list(limit=1)

    assert memory_growth(fake, run, CLIENTS) < MEMORY_NOISE


def test_1000_with_options_copies_leave_memory_flat(fake: FakeServer) -> None:
    client = fake.client()

    def run(times: int) -> None:
        for n in range(times):
            copy = client.with_options(max_retries=n % 5, default_headers={"X-Copy": str(n)})
            copy.performance.learning_records.list(limit=1)

    with client:
        assert memory_growth(fake, run, CLIENTS) < MEMORY_NOISE


# -- clients dropped without closing -------------------------------------------------------


async def test_async_client_dropped_without_aclose_in_a_running_loop_closes_quietly(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url)
    await client.performance.learning_records.list(limit=1)
    del client  # as a notebook does when a cell rebinds the name
    gc.collect()
    # The loop goes on running (the dropped client closes on it) while we wait for the server.
    open_after = await asyncio.get_running_loop().run_in_executor(
        None, loopback.open_connections_after_settling
    )
    assert open_after == 0
    assert complaints() == []


def test_client_dropped_without_close_closes_its_connection_quietly(
    fake: FakeServer, loopback: Loopback, complaints: Callable[[], list[str]]
) -> None:
    client = Client(api_key=fake.issue_token(), base_url=loopback.base_url)
    client.performance.learning_records.list(limit=1)
    del client
    gc.collect()
    assert loopback.open_connections_after_settling() == 0
    assert complaints() == []


def test_with_options_copy_keeps_the_pool_open_after_the_original_is_dropped(
    fake: FakeServer, loopback: Loopback
) -> None:
    copy = Client(api_key=fake.issue_token(), base_url=loopback.base_url).with_options(timeout=5)
    gc.collect()
    copy.performance.learning_records.list(limit=1)
    assert not copy.is_closed


def test_dropping_a_client_leaves_a_user_supplied_http_client_open(fake: FakeServer) -> None:
    http = httpx.Client(transport=fake.transport)
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, http_client=http)
    del client
    gc.collect()
    assert not http.is_closed
    http.close()


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    """The cyclic garbage collector off: only reference counting frees anything."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_cycle_collector")
def test_a_dropped_client_is_closed_by_reference_counting_alone(
    fake: FakeServer, loopback: Loopback
) -> None:
    client = Client(api_key=fake.issue_token(), base_url=loopback.base_url)
    records = client.performance.learning_records
    created = records.create(person_id="p1", title="t")
    records.with_raw_response.get(created.id)
    list(records.list(limit=1))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client, records

    assert loopback.open_connections_after_settling() == 0
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.usefixtures("no_cycle_collector")
async def test_a_dropped_async_client_is_closed_by_reference_counting_alone(
    fake: FakeServer, loopback: Loopback
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=loopback.base_url)
    records = client.performance.learning_records
    created = await records.create(person_id="p1", title="t")
    await records.with_raw_response.get(created.id)
    await records.list(limit=1)

    del client, records
    open_after = await asyncio.get_running_loop().run_in_executor(
        None, loopback.open_connections_after_settling
    )

    assert open_after == 0


def test_a_resource_keeps_working_when_its_client_is_no_longer_referenced(
    fake: FakeServer, loopback: Loopback
) -> None:
    records = Client(api_key=fake.issue_token(), base_url=loopback.base_url).performance
    gc.collect()

    assert records.learning_records.create(person_id="p1", title="t").title == "t"
