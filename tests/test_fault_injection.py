"""The fake's fault injection as the storms use it: several seeded kinds at once, and answers
lost after the work was done (the basics are in test_fake_server.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from edm_client import APIError, APITimeoutError, RetryPolicy
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


def two_kinds(seed: int) -> FakeServer:
    server = FakeServer()
    server.inject_fault(status=503, probability=0.1, seed=seed)
    server.inject_fault(exception=httpx.ReadError, probability=0.1, seed=seed + 1)
    return server


def test_several_seeded_fault_kinds_repeat_exactly_together() -> None:
    first = outcomes(two_kinds(7), 300)
    assert first == outcomes(two_kinds(7), 300)
    assert set(first) == {"ok", "InternalServerError", "APIConnectionError"}


def test_a_probability_fault_hits_about_that_share_of_requests() -> None:
    server = FakeServer()
    server.inject_fault(status=500, probability=0.2, seed=7)
    failed = outcomes(server, 1_000).count("InternalServerError")
    assert 150 <= failed <= 250


def test_an_after_commit_timeout_stores_the_record_though_the_client_timed_out() -> None:
    server = FakeServer()
    server.inject_fault(delay=5.0, after_commit=True)
    with (
        server.client(retry_policy=NO_RETRIES, timeout=0.01) as client,
        pytest.raises(APITimeoutError),
    ):
        client.performance.learning_records.create(person_id="p1", title="Lost answer")
    assert [r.title for r in server.records()] == ["Lost answer"]


def test_a_timeout_without_after_commit_stores_nothing() -> None:
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
def test_a_create_retried_after_any_lost_answer_is_replayed_not_stored_twice(
    fault: dict[str, Any],
) -> None:
    server = FakeServer()
    server.inject_fault(after_commit=True, **fault)
    policy = RetryPolicy(max_retries=1, initial_delay=0.001)
    with server.client(retry_policy=policy, timeout=0.01) as client:
        record = client.performance.learning_records.create(person_id="p1", title="Once")
    assert server.records() == [record]
    first, retry = server.requests
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
