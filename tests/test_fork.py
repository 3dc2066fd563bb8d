"""After `os.fork()`, parent and child each talk over connections of their own.

Before, a client used before the fork shared its pooled keep-alive sockets with the child, and
`get(my_id)` in one process could return the other process's record. Every test here warms
the pool over the served fake (a real socket, kept alive), forks, then has both processes
fetch their own records many times at once and checks every answer.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import warnings
from collections.abc import Callable, Iterator

import httpx
import pytest

from edm_client import AsyncClient, Client, EDMError
from edm_client.testing import FakeServer

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform has no fork()")

ROUNDS = 30


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    with server.serve():
        yield server


def _records(client: Client, count: int, title: str) -> list[str]:
    records = client.performance.learning_records
    return [records.create(person_id="p1", title=f"{title} {n}").id for n in range(count)]


def _slow_answers(fake: FakeServer) -> None:
    """Answers 10 ms late make the two processes' requests overlap: on a shared connection
    each would read the other's answer; over separate connections they cannot mix."""
    fake.inject_fault(delay=0.01, method="GET", times=None)


def _fork(child: Callable[[], str]) -> tuple[int, int]:
    """Fork; the child runs `child` and reports what it returns (or raised) on a pipe."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (the served fake's) may
        # deadlock; here the child only uses the client under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: whatever happens, never return into pytest
        try:
            os.close(read_end)
            try:
                report = child()
            except BaseException as exc:
                report = f"{type(exc).__name__}: {exc}"
            os.write(write_end, report.encode(errors="replace")[:60000])
        finally:
            os._exit(0)
    os.close(write_end)
    return pid, read_end


def _child_report(pid: int, read_end: int) -> str:
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    return report


def _check_all(client: Client, ids: list[str]) -> str:
    records = client.performance.learning_records
    wrong = [i for _ in range(ROUNDS) for i in ids if records.get(i).id != i]
    return f"{len(wrong)} wrong of {ROUNDS * len(ids)}"


def _same_client(fake: FakeServer) -> tuple[Client, Client]:
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
    return client, client


def _a_copy_in_the_child(fake: FakeServer) -> tuple[Client, Client]:
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
    return client, client.with_options(max_retries=0)


def _your_own_http_client(fake: FakeServer) -> tuple[Client, Client]:
    http = httpx.Client(trust_env=False)
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, http_client=http)
    return client, client


@pytest.mark.parametrize(
    "clients",
    [_same_client, _a_copy_in_the_child, _your_own_http_client],
    ids=["client", "with-options-copy", "own-http-client"],
)
def test_after_a_fork_a_client_in_each_process_gets_its_own_records(
    fake: FakeServer, clients: Callable[[FakeServer], tuple[Client, Client]]
) -> None:
    parent_client, child_client = clients(fake)
    parent_ids = _records(parent_client, 3, "parent")
    child_ids = _records(child_client, 3, "child")  # the pool now holds a kept-alive connection

    _slow_answers(fake)
    pid, pipe = _fork(lambda: _check_all(child_client, child_ids))
    parent = _check_all(parent_client, parent_ids)
    child = _child_report(pid, pipe)
    parent_client.close()

    assert parent == f"0 wrong of {ROUNDS * 3}"
    assert child == f"0 wrong of {ROUNDS * 3}"


def test_the_parent_keeps_its_pooled_connection_and_the_child_opens_one(
    fake: FakeServer,
) -> None:
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
    (record_id,) = _records(client, 1, "parent")
    served = fake._served[-1]
    assert served.total_connections == 1

    _slow_answers(fake)
    pid, pipe = _fork(lambda: _check_all(client, [record_id]))
    _child_report(pid, pipe)
    client.performance.learning_records.get(record_id)
    client.close()

    assert served.total_connections == 2  # the parent's, reused after the fork, and the child's


async def _check_all_async(client: AsyncClient, ids: list[str]) -> str:
    records = client.performance.learning_records

    async def one(record_id: str) -> bool:
        return (await records.get(record_id)).id == record_id

    results = await asyncio.gather(*(one(i) for _ in range(ROUNDS) for i in ids))
    return f"{results.count(False)} wrong of {len(results)}"


def test_after_a_fork_an_async_client_in_each_process_gets_its_own_records(
    fake: FakeServer,
) -> None:
    client = AsyncClient(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
    records = client.performance.learning_records
    loop = asyncio.new_event_loop()  # the parent's loop runs on after the fork
    try:

        async def create(title: str) -> str:
            return (await records.create(person_id="p1", title=title)).id

        parent_ids = [loop.run_until_complete(create(f"parent {n}")) for n in range(2)]
        child_ids = [loop.run_until_complete(create(f"child {n}")) for n in range(2)]

        _slow_answers(fake)
        pid, pipe = _fork(lambda: asyncio.run(_check_all_async(client, child_ids)))
        parent = loop.run_until_complete(_check_all_async(client, parent_ids))
        child = _child_report(pid, pipe)
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()

    assert (parent, child) == (f"0 wrong of {ROUNDS * 2}",) * 2


def test_your_own_async_http_client_with_inherited_connections_is_refused_in_the_child(
    fake: FakeServer,
) -> None:
    client = AsyncClient(
        api_key=fake.issue_token(),
        base_url=fake.base_url,
        http_client=httpx.AsyncClient(trust_env=False),
    )
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(client.performance.learning_records.list())

        async def first_page() -> object:
            return await client.performance.learning_records.list()

        def child() -> str:
            try:
                asyncio.run(first_page())
            except EDMError as exc:
                return str(exc)
            return "no error"

        pid, pipe = _fork(child)
        report = _child_report(pid, pipe)
        loop.run_until_complete(client.performance.learning_records.list())  # the parent's works
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()

    assert "made before os.fork() with your own http_client" in report
    assert "leave out http_client" in report


def _child_report_within(pid: int, read_end: int, seconds: float) -> str:
    """The child's report, or "hung" (and the child killed) if it has none after `seconds`."""
    ready, _, _ = select.select([read_end], [], [], seconds)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        return "hung"
    return _child_report(pid, read_end)


@pytest.mark.parametrize("own_http_client", [False, True], ids=["own-pool", "own-http-client"])
def test_closing_a_client_in_the_child_takes_no_lock_a_parent_thread_held(
    fake: FakeServer, own_http_client: bool
) -> None:
    # Your own httpx.Client, holding the parent's connection, is left for the parent to close.
    http = httpx.Client(trust_env=False) if own_http_client else None
    client = Client(
        api_key=fake.issue_token(), base_url=fake.base_url, http_client=http, trust_env=False
    )
    _records(client, 1, "parent")
    # As if a parent thread were inside httpcore's pool (it holds this lock while it hands
    # out connections) at the moment of the fork: the child's copy is held forever.
    pool_lock = client._pool.http._transport._pool._optional_thread_lock
    with pool_lock:
        pid, pipe = _fork(lambda: (client.close(), "closed")[1])
    report = _child_report_within(pid, pipe, 10)
    client.close()

    assert report == "closed"
    assert http is None or http.is_closed  # your own: closed by the parent's close


def test_closing_a_client_in_the_child_leaves_the_parents_connection_open(
    fake: FakeServer,
) -> None:
    client = Client(api_key=fake.issue_token(), base_url=fake.base_url, trust_env=False)
    (record_id,) = _records(client, 1, "parent")
    served = fake._served[-1]

    pid, pipe = _fork(lambda: (client.close(), "closed")[1])
    report = _child_report(pid, pipe)
    client.performance.learning_records.get(record_id)
    client.close()

    assert report == "closed"
    assert served.total_connections == 1  # the parent's connection, still in use


@pytest.mark.parametrize("own_http_client", [False, True], ids=["own-pool", "own-http-client"])
def test_closing_an_async_client_in_the_child_leaves_the_parents_connection_open(
    fake: FakeServer, own_http_client: bool
) -> None:
    # Your own httpx.AsyncClient, holding the parent's connection, is left for the parent.
    http = httpx.AsyncClient(trust_env=False) if own_http_client else None
    client = AsyncClient(
        api_key=fake.issue_token(), base_url=fake.base_url, http_client=http, trust_env=False
    )
    records = client.performance.learning_records
    loop = asyncio.new_event_loop()
    try:
        record = loop.run_until_complete(records.create(person_id="p1", title="parent"))
        served = fake._served[-1]

        pid, pipe = _fork(lambda: (asyncio.run(client.close()), "closed")[1])
        report = _child_report_within(pid, pipe, 10)
        loop.run_until_complete(records.get(record.id))
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()

    assert report == "closed"
    assert served.total_connections == 1  # the child's close did not shut it down
    assert http is None or http.is_closed  # your own: closed by the parent's close
