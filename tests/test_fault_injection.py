"""The fake's fault injection: seeded probability faults and after-commit losses."""

from __future__ import annotations

import httpx
import pytest

from edm_client import APIError, APITimeoutError, Client, RetryPolicy
from edm_client.testing import FakeServer

NO_RETRIES = RetryPolicy(max_retries=0)


def outcomes(server: FakeServer, calls: int) -> list[str]:
    """What each of `calls` list requests got: "ok" or the error class name."""
    seen = []
    with server.client(retry_policy=NO_RETRIES) as client:
        for _ in range(calls):
            try:
                client.performance.learning_records.list(limit=1)
            except APIError as exc:
                seen.append(type(exc).__name__)
            else:
                seen.append("ok")
    return seen


def storm_server(seed: int) -> FakeServer:
    server = FakeServer()
    server.inject_fault(status=503, probability=0.1, seed=seed)
    server.inject_fault(exception=httpx.ReadError, probability=0.1, seed=seed + 1)
    return server


def test_probability_faults_repeat_exactly_with_the_same_seed() -> None:
    assert outcomes(storm_server(7), 300) == outcomes(storm_server(7), 300)


def test_probability_faults_differ_with_another_seed() -> None:
    assert outcomes(storm_server(7), 300) != outcomes(storm_server(8), 300)


def test_probability_fault_hits_about_that_share_of_requests() -> None:
    server = FakeServer()
    server.inject_fault(status=500, probability=0.2, seed=7)
    failed = outcomes(server, 1_000).count("InternalServerError")
    assert 150 <= failed <= 250


def test_probability_fault_lasts_until_cleared() -> None:
    server = FakeServer()
    server.inject_fault(status=500, probability=1.0, seed=1)
    assert outcomes(server, 5) == ["InternalServerError"] * 5
    server.clear_faults()
    assert outcomes(server, 5) == ["ok"] * 5


def test_probability_fault_with_times_stops_after_that_many() -> None:
    server = FakeServer()
    server.inject_fault(status=500, probability=1.0, seed=1, times=3)
    assert outcomes(server, 5) == ["InternalServerError"] * 3 + ["ok"] * 2


def test_probability_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        FakeServer().inject_fault(status=500, probability=1.5)


def test_after_commit_timeout_stores_the_record_though_the_client_timed_out() -> None:
    server = FakeServer()
    server.inject_fault(delay=5.0, after_commit=True)
    with (
        server.client(retry_policy=NO_RETRIES, timeout=0.01) as client,
        pytest.raises(APITimeoutError),
    ):
        client.performance.learning_records.create(person_id="p1", title="Lost answer")
    assert [r.title for r in server.records()] == ["Lost answer"]


def test_timeout_without_after_commit_stores_nothing() -> None:
    server = FakeServer()
    server.inject_fault(delay=5.0)
    with (
        server.client(retry_policy=NO_RETRIES, timeout=0.01) as client,
        pytest.raises(APITimeoutError),
    ):
        client.performance.learning_records.create(person_id="p1", title="Never arrived")
    assert server.records() == []


@pytest.mark.parametrize(
    "fault",
    [
        {"exception": httpx.ReadError},
        {"exception": httpx.RemoteProtocolError},
        {"status": 502},
        {"status": 504},
        {"delay": 5.0},
    ],
    ids=["reset", "hangup", "502", "504", "timeout"],
)
def test_retried_create_after_a_lost_answer_is_replayed_not_stored_twice(fault: dict) -> None:
    server = FakeServer()
    server.inject_fault(after_commit=True, **fault)
    policy = RetryPolicy(max_retries=1, initial_delay=0.001)
    client: Client
    with server.client(retry_policy=policy, timeout=0.01) as client:
        record = client.performance.learning_records.create(person_id="p1", title="Once")
    assert server.records() == [record]
    first, retry = server.requests
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
