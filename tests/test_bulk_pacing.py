"""`create_many` against rate limits: one pause for the whole batch, nothing lost or doubled.

Every test runs sync and async, in-process and over the socket (conftest's `server`). Pauses
are short (a fractional `Retry-After`, or the fake's own limiter), and nothing is timed: the
tests count requests at the fake and read the batch's decisions from `BulkProgress`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from edm_client import (
    AdaptiveConcurrency,
    BulkCreateResult,
    BulkProgress,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
)
from edm_client.testing import FakeServer, TokenBucket

QUICK = RetryPolicy(initial_delay=0.0, max_delay=0.0)


async def bulk(
    server: FakeServer,
    mode: str,
    items: Any,
    *,
    client_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> BulkCreateResult[Any]:
    """`create_many` of a `mode` ("sync" or "async") client of `server`."""
    options = {"retry_policy": QUICK, **(client_options or {})}
    if mode == "sync":
        with server.client(**options) as client:
            return client.performance.learning_records.create_many(items, **kwargs)
    async with server.async_client(**options) as client:
        return await client.performance.learning_records.create_many(items, **kwargs)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def create_many(mode: str, server: FakeServer):
    """`create_many` of a sync or async client of `server`, awaitable either way; keyword
    `client_options` go to the client."""

    async def run(items: Any, **kwargs: Any) -> BulkCreateResult[Any]:
        return await bulk(server, mode, items, **kwargs)

    return run


@pytest.fixture(params=["inprocess", "socket"])
def limited(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fake whose own limiter lets a tenant send 10 requests at once, then 10 a second."""
    fake = FakeServer(rate_limit=TokenBucket(rate=10, burst=10))
    if request.param == "socket":
        with fake.serve():
            yield fake
    else:
        yield fake


class Recorder:
    """A three-argument `on_progress` that keeps every `BulkProgress` it is given."""

    def __init__(self) -> None:
        self.seen: list[BulkProgress] = []

    def __call__(self, done: int, total: int | None, progress: BulkProgress) -> None:
        self.seen.append(progress)

    @property
    def pauses(self) -> int:
        """How many times the batch went from sending to pausing."""
        paused = [p.paused_for > 0 for p in self.seen]
        return sum(
            1 for before, now in zip([False, *paused], paused, strict=False) if now and not before
        )


def rows(n: int) -> list[dict[str, Any]]:
    return [{"person_id": f"p{i % 3}", "title": f"Course {i}"} for i in range(n)]


def storm(server: FakeServer, *, times: int, retry_after: str) -> None:
    """The next `times` creates are answered 429, each after 50 ms: the requests of a window
    are all in flight when the refusals come, in-process as over the socket."""
    server.inject_fault(status=429, retry_after=retry_after, method="POST", times=times, delay=0.05)


def posts(server: FakeServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


def assert_each_created_once(server: FakeServer, n: int) -> None:
    titles = Counter(r.title for r in server.records())
    assert titles == Counter(f"Course {i}" for i in range(n))


async def test_a_429_storm_pauses_the_whole_batch_once_and_loses_nothing(create_many, server):
    storm(server, times=4, retry_after="0.2")
    progress = Recorder()

    result = await create_many(rows(20), concurrency=4, on_progress=progress)

    assert result.ok
    assert [c.index for c in result.created] == list(range(20))
    assert_each_created_once(server, 20)
    assert len(posts(server)) == 20 + 4  # the first window refused, each sent once more
    assert progress.pauses == 1
    assert progress.seen[-1].rate_limited == 4  # the batch saw them: the pipeline did not retry


async def test_refused_items_are_sent_again_with_the_same_idempotency_key(create_many, server):
    storm(server, times=3, retry_after="0.1")

    await create_many(rows(9), concurrency=3)

    keys = Counter(r.headers["Idempotency-Key"] for r in posts(server))
    assert sorted(keys.values()) == [1] * 6 + [2] * 3
    assert len(server.records()) == 9


async def test_after_the_pause_the_batch_resumes_at_half_and_grows_back(create_many, server):
    storm(server, times=8, retry_after="0.1")
    progress = Recorder()

    result = await create_many(rows(80), concurrency=8, on_progress=progress)

    assert result.ok
    limits = [p.concurrency for p in progress.seen]
    lowest = limits.index(4)
    assert set(limits[:lowest]) <= {8}
    assert limits[lowest:] == sorted(limits[lowest:])  # only grows after the cut
    assert limits[-1] == 8
    assert max(p.in_flight for p in progress.seen[lowest:]) < 8


async def test_a_two_argument_on_progress_is_called_once_per_item_through_pauses(
    create_many, server
):
    storm(server, times=2, retry_after="0.1")
    calls: list[tuple[int, int | None]] = []

    await create_many(rows(6), concurrency=2, on_progress=lambda d, t: calls.append((d, t)))

    assert calls == [(n, 6) for n in range(1, 7)]


async def test_progress_shows_the_pause_then_the_rate(create_many, server):
    storm(server, times=2, retry_after="0.2")
    progress = Recorder()

    await create_many(rows(10), concurrency=2, on_progress=progress)

    paused = [p for p in progress.seen if p.paused_for > 0]
    assert paused
    assert all(0 < p.paused_for <= 0.2 for p in paused)
    assert all(p.done == 0 and p.rate_limited in (1, 2) for p in paused)
    last = progress.seen[-1]
    assert (last.done, last.total, last.in_flight, last.paused_for) == (10, 10, 0, 0.0)
    assert last.rate > 0


async def test_with_max_retries_0_a_refused_item_fails_and_the_rest_goes_on(create_many, server):
    server.inject_fault(status=429, retry_after="0.1", method="POST", times=1)
    progress = Recorder()

    result = await create_many(
        rows(5),
        concurrency=1,
        on_progress=progress,
        client_options={"retry_policy": RetryPolicy(max_retries=0)},
    )

    assert [f.index for f in result.failed] == [0]
    assert isinstance(result.failed[0].error, RateLimitError)
    assert result.created_count == 4
    assert progress.pauses == 1
    assert len(posts(server)) == 5


async def test_without_429_in_the_policy_a_refused_item_fails(create_many, server):
    server.inject_fault(status=429, method="POST", times=1)
    policy = RetryPolicy(initial_delay=0.0, max_delay=0.0, statuses=frozenset({503}))

    result = await create_many(rows(3), concurrency=1, client_options={"retry_policy": policy})

    assert [f.index for f in result.failed] == [0]
    assert result.created_count == 2


async def test_on_retry_hears_of_each_item_sent_again_after_a_429(create_many, server):
    storm(server, times=2, retry_after="0.1")
    events: list[RetryEvent] = []
    policy = RetryPolicy(initial_delay=0.0, max_delay=0.0, on_retry=events.append)

    await create_many(rows(4), concurrency=2, client_options={"retry_policy": policy})

    assert len(events) == 2
    assert {e.attempt for e in events} == {1}
    assert all(e.response is not None and e.response.status_code == 429 for e in events)
    assert all(0 < e.delay <= 0.1 for e in events)


async def test_when_the_server_keeps_refusing_the_batch_gives_up_without_sending_the_rest(
    create_many, server
):
    server.inject_fault(status=429, retry_after="0.05", method="POST", times=None)
    policy = RetryPolicy(initial_delay=0.0, max_delay=0.0, max_retry_after=0.2)

    result = await create_many(rows(50), concurrency=2, client_options={"retry_policy": policy})

    assert result.failed_count == 50
    assert [f.index for f in result.failed] == list(range(50))
    assert all(isinstance(f.error, RateLimitError) for f in result.failed)
    assert len(posts(server)) < 50  # waited as long as the policy allows, then stopped
    assert server.records() == []


async def test_an_adaptive_concurrency_carries_its_pace_to_the_next_call(create_many, server):
    pace = AdaptiveConcurrency(8)
    storm(server, times=8, retry_after="0.1")
    await create_many(rows(8), concurrency=pace)
    carried = pace.limit
    progress = Recorder()

    await create_many(rows(3), concurrency=pace, on_progress=progress)

    assert carried == 5  # halved to 4, then 4 successes grew it by one
    assert progress.seen[0].concurrency in (5, 6)  # not back to 8: one more success at most
    assert pace.maximum == 8


async def test_a_batch_over_the_fakes_own_rate_limit_creates_everything_once(mode, limited):
    progress = Recorder()

    result = await bulk(limited, mode, rows(16), concurrency=4, on_progress=progress)

    assert result.ok
    assert_each_created_once(limited, 16)
    refused = len(posts(limited)) - 16
    assert 1 <= refused <= 4  # one window at most: the batch paused instead of retrying each
    assert progress.pauses == 1
