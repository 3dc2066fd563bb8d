"""One client shared by many threads, one AsyncClient by many tasks: no errors, no crossed
responses. Runs in-process and over a real loopback socket (where a pool bug would cross)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer
from loopback import serve

WORKERS_THREADS = 16
WORKERS_TASKS = 64
ROUNDS = 8  # per thread: create, get, list filtered to the worker's own person
TASK_ROUNDS = 3  # per task (64 of them: as many requests in flight, fewer in all)


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture(params=["in-process", "socket"])
def base_url(request: pytest.FixtureRequest, fake: FakeServer) -> Iterator[str | None]:
    """None: the in-process transport; else the URL of the fake on a loopback socket."""
    if request.param == "in-process":
        yield None
        return
    with serve(fake) as loopback:
        yield loopback.base_url


def sync_client(fake: FakeServer, base_url: str | None) -> Client:
    if base_url is None:
        return fake.client()
    limits = httpx.Limits(max_connections=WORKERS_THREADS)
    return Client(
        api_key=fake.issue_token(), base_url=base_url, http_client=httpx.Client(limits=limits)
    )


def async_client(fake: FakeServer, base_url: str | None) -> AsyncClient:
    if base_url is None:
        return fake.async_client()
    # Fewer connections than tasks: tasks also queue for the pool.
    limits = httpx.Limits(max_connections=WORKERS_THREADS)
    return AsyncClient(
        api_key=fake.issue_token(),
        base_url=base_url,
        http_client=httpx.AsyncClient(limits=limits),
    )


def test_one_client_shared_by_16_threads_never_crosses_responses(
    fake: FakeServer, base_url: str | None
) -> None:
    with sync_client(fake, base_url) as client:
        records = client.performance.learning_records

        def worker(n: int) -> int:
            person = f"person-{n:02d}"
            mine: list[str] = []
            for round_ in range(ROUNDS):
                title = f"{person} round {round_}"
                created = records.create(person_id=person, title=title, score=float(n))
                assert (created.title, created.person_id, created.score) == (title, person, n)
                assert records.get(created.id).title == title
                mine.append(created.id)
                assert [r.id for r in records.list(person_id=person)] == mine
            return len(mine)

        with ThreadPoolExecutor(WORKERS_THREADS) as pool:
            done = list(pool.map(worker, range(WORKERS_THREADS)))
    assert done == [ROUNDS] * WORKERS_THREADS
    assert len(fake.records()) == WORKERS_THREADS * ROUNDS


async def test_one_async_client_shared_by_64_tasks_never_crosses_responses(
    fake: FakeServer, base_url: str | None
) -> None:
    async with async_client(fake, base_url) as client:
        records = client.performance.learning_records

        async def worker(n: int) -> int:
            person = f"person-{n:02d}"
            mine: list[str] = []
            for round_ in range(TASK_ROUNDS):
                title = f"{person} round {round_}"
                created = await records.create(person_id=person, title=title, score=float(n))
                assert (created.title, created.person_id, created.score) == (title, person, n)
                assert (await records.get(created.id)).title == title
                mine.append(created.id)
                assert [r.id async for r in records.list(person_id=person)] == mine
            return len(mine)

        done = await asyncio.gather(*(worker(n) for n in range(WORKERS_TASKS)))
    assert done == [TASK_ROUNDS] * WORKERS_TASKS
    assert len(fake.records()) == WORKERS_TASKS * TASK_ROUNDS
