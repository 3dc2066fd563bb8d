"""Retries follow the policy: which failures, how many times, how long between, and the hook.

Every test runs on `Client` and on `AsyncClient`; sleeps are recorded, never waited.
"""

from __future__ import annotations

import email.utils
import inspect
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from edm_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    InternalServerError,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
    _base_client,
    _retry,
)
from edm_client.testing import FakeServer

AnyClient = Client | AsyncClient


class Harness:
    """One test body for both clients: builds the client, awaits when needed, records sleeps."""

    def __init__(self, flavor: str, server: FakeServer, monkeypatch: pytest.MonkeyPatch):
        self.flavor = flavor
        self.server = server
        self.slept: list[float] = []

        def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        async def async_sleep(seconds: float) -> None:
            self.slept.append(seconds)

        monkeypatch.setattr(
            _base_client, "time", SimpleNamespace(sleep=sleep, perf_counter=time.perf_counter)
        )
        monkeypatch.setattr(_base_client, "asyncio", SimpleNamespace(sleep=async_sleep))

    def client(self, token: Any = None, **kwargs: Any) -> AnyClient:
        if self.flavor == "sync":
            return self.server.client(token, **kwargs)
        return self.server.async_client(token, **kwargs)

    async def call(self, client: AnyClient, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(client.performance.learning_records, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def create(self, client: AnyClient, **kwargs: Any) -> Any:
        kwargs.setdefault("person_id", "p1")
        kwargs.setdefault("title", "Retry me")
        return await self.call(client, "create", **kwargs)


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Harness:
    return Harness(request.param, FakeServer(), monkeypatch)


def fix_jitter(monkeypatch: pytest.MonkeyPatch, draw: float) -> None:
    """Make the jitter's random draw `draw` (0: full delay, 1: shortest delay)."""
    monkeypatch.setattr(_retry, "random", SimpleNamespace(random=lambda: draw))


# -- the delays ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draw", "expected"),
    [(0.0, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]), (1.0, [0.375, 0.75, 1.5, 3.0, 6.0, 6.0])],
    ids=["no-jitter", "most-jitter"],
)
async def test_backoff_doubles_up_to_8_seconds_and_jitter_shortens_it_by_at_most_a_quarter(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, draw: float, expected: list[float]
) -> None:
    fix_jitter(monkeypatch, draw)
    harness.server.inject_fault(status=503, times=7)
    with pytest.raises(InternalServerError):
        await harness.create(harness.client(max_retries=6))
    assert harness.slept == expected


async def test_jittered_delays_stay_within_bounds_and_vary(harness: Harness) -> None:
    harness.server.inject_fault(status=500, probability=1.0, seed=1)
    client = harness.client(max_retries=6)
    for _ in range(20):
        with pytest.raises(InternalServerError):
            await harness.create(client)
    backoffs = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0] * 20
    assert all(0.75 * b <= s <= b for s, b in zip(harness.slept, backoffs, strict=True))
    assert len(set(harness.slept)) > 6


async def test_policy_delays_are_configurable(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix_jitter(monkeypatch, 0.0)
    harness.server.inject_fault(status=502, times=5)
    policy = RetryPolicy(max_retries=4, initial_delay=1.0, max_delay=3.0)
    with pytest.raises(InternalServerError):
        await harness.create(harness.client(retry_policy=policy))
    assert harness.slept == [1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_replace_the_backoff(harness: Harness, status: int) -> None:
    harness.server.inject_fault(status=status, retry_after=7)
    await harness.create(harness.client())
    assert harness.slept == [7.0]


async def test_retry_after_is_capped_at_60_seconds(harness: Harness) -> None:
    harness.server.inject_fault(status=429, retry_after=3600)
    await harness.create(harness.client())
    assert harness.slept == [60.0]


async def test_retry_after_cap_is_configurable(harness: Harness) -> None:
    harness.server.inject_fault(status=429, retry_after=3600)
    await harness.create(harness.client(retry_policy=RetryPolicy(max_retry_after=5.0)))
    assert harness.slept == [5.0]


async def test_retry_after_as_an_http_date_is_obeyed(harness: Harness) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    harness.server.inject_fault(status=429, retry_after=when)
    await harness.create(harness.client())
    [slept] = harness.slept
    assert 28.0 <= slept <= 30.0


@pytest.mark.parametrize("value", ["soon", "", "-5", "nan"])
async def test_unusable_retry_after_falls_back_to_the_backoff(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    fix_jitter(monkeypatch, 0.0)
    harness.server.inject_fault(status=429, retry_after=value)
    await harness.create(harness.client())
    assert harness.slept == ([0.0] if value == "-5" else [0.5])


# -- what is retried ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 429}, RateLimitError),
        ({"status": 500}, InternalServerError),
        ({"status": 502}, InternalServerError),
        ({"status": 503}, InternalServerError),
        ({"status": 504}, InternalServerError),
        ({"exception": httpx.ConnectError}, APIConnectionError),
        ({"exception": httpx.ReadError}, APIConnectionError),
        ({"exception": httpx.RemoteProtocolError}, APIConnectionError),
        ({"exception": httpx.ReadTimeout}, APITimeoutError),
        ({"delay": 5.0}, APITimeoutError),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_transient_failures_are_retried_max_retries_times_then_raised(
    harness: Harness, fault: dict[str, Any], error: type[Exception]
) -> None:
    harness.server.inject_fault(times=None, **fault)
    with pytest.raises(error):
        await harness.create(harness.client(max_retries=3, timeout=0.01))
    assert len(harness.server.requests) == 4
    assert len(harness.slept) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 422, 501])
async def test_other_statuses_are_not_retried(harness: Harness, status: int) -> None:
    harness.server.inject_fault(status=status, times=None)
    with pytest.raises(APIStatusError) as caught:
        await harness.create(harness.client(max_retries=3))
    assert caught.value.status_code == status
    assert len(harness.server.requests) == 1
    assert harness.slept == []


async def test_a_retry_that_succeeds_returns_the_record(harness: Harness) -> None:
    harness.server.inject_fault(status=503, times=2)
    record = await harness.create(harness.client())
    assert harness.server.records() == [record]
    assert len(harness.server.requests) == 3


async def test_max_retries_zero_raises_at_the_first_failure(harness: Harness) -> None:
    harness.server.inject_fault(status=503)
    with pytest.raises(InternalServerError):
        await harness.create(harness.client(max_retries=0))
    assert len(harness.server.requests) == 1


async def test_retried_statuses_are_configurable(harness: Harness) -> None:
    client = harness.client(retry_policy=RetryPolicy(statuses=frozenset({409})))
    harness.server.inject_fault(status=409)
    await harness.create(client)
    harness.server.inject_fault(status=503)
    with pytest.raises(InternalServerError):
        await harness.create(client)
    assert len(harness.server.requests) == 3


# -- the on_retry hook --------------------------------------------------------------------


async def test_on_retry_gets_attempt_delay_and_the_response_or_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix_jitter(monkeypatch, 0.0)
    events: list[RetryEvent] = []
    harness.server.inject_fault(status=503)
    harness.server.inject_fault(exception=httpx.ReadError)
    await harness.create(harness.client(retry_policy=RetryPolicy(on_retry=events.append)))
    first, second = events
    assert (first.attempt, first.delay, first.error) == (1, 0.5, None)
    assert first.response is not None
    assert first.response.status_code == 503
    assert (second.attempt, second.delay, second.response) == (2, 1.0, None)
    assert isinstance(second.error, APIConnectionError)
    assert harness.slept == [0.5, 1.0]


async def test_on_retry_is_not_called_when_nothing_is_retried(harness: Harness) -> None:
    events: list[RetryEvent] = []
    await harness.create(harness.client(retry_policy=RetryPolicy(on_retry=events.append)))
    assert events == []


async def test_on_retry_raising_stops_the_retries(harness: Harness) -> None:
    class GiveUp(Exception):
        pass

    def give_up(event: RetryEvent) -> None:
        raise GiveUp(event.attempt)

    harness.server.inject_fault(status=503, times=None)
    with pytest.raises(GiveUp):
        await harness.create(harness.client(retry_policy=RetryPolicy(on_retry=give_up)))
    assert len(harness.server.requests) == 1
    assert harness.slept == []


# -- where the policy is set --------------------------------------------------------------


def test_default_policy_is_two_retries_half_a_second_doubling_to_8_capped_retry_after_60() -> None:
    policy = FakeServer().client().retry_policy
    assert policy == RetryPolicy()
    assert (policy.max_retries, policy.initial_delay, policy.max_delay) == (2, 0.5, 8.0)
    assert (policy.max_retry_after, policy.jitter) == (60.0, 0.25)
    assert policy.statuses == {408, 429, 500, 502, 503, 504}


async def test_with_options_retry_policy_applies_to_the_copy_only(harness: Harness) -> None:
    events: list[RetryEvent] = []
    client = harness.client(max_retries=0)
    copy = client.with_options(retry_policy=RetryPolicy(max_retries=1, on_retry=events.append))
    harness.server.inject_fault(status=503)
    await harness.create(copy)
    harness.server.inject_fault(status=503)
    with pytest.raises(InternalServerError):
        await harness.create(client)
    assert len(events) == 1
    assert len(harness.server.requests) == 3


async def test_with_options_max_retries_keeps_the_rest_of_the_policy(harness: Harness) -> None:
    events: list[RetryEvent] = []
    client = harness.client(retry_policy=RetryPolicy(initial_delay=2.0, on_retry=events.append))
    copy = client.with_options(max_retries=4)
    assert copy.retry_policy.initial_delay == 2.0
    assert copy.retry_policy.on_retry is not None
    harness.server.inject_fault(status=503, times=4)
    await harness.create(copy)
    assert [e.attempt for e in events] == [1, 2, 3, 4]


def test_max_retries_argument_overrides_the_policy_s() -> None:
    client = FakeServer().client(
        retry_policy=RetryPolicy(max_retries=5, max_delay=1.0), max_retries=1
    )
    assert (client.max_retries, client.retry_policy.max_delay) == (1, 1.0)


@pytest.mark.parametrize(
    "bad",
    [{"max_retries": -1}, {"jitter": 1.5}, {"jitter": -0.1}],
    ids=["retries", "jitter>1", "jitter<0"],
)
def test_policy_refuses_impossible_settings(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RetryPolicy(**bad)


# -- 401 and token refresh ----------------------------------------------------------------


async def test_expired_token_from_a_callable_is_refreshed_once_and_succeeds(
    harness: Harness,
) -> None:
    expired = harness.server.issue_token(expires_in=-60)
    fresh = harness.server.issue_token()
    asked: list[str] = []

    def provider() -> str:
        asked.append("asked")
        return expired if len(asked) == 1 else fresh

    record = await harness.create(harness.client(provider))
    assert harness.server.records() == [record]
    sent = [r.headers["authorization"] for r in harness.server.requests]
    assert sent == [f"Bearer {expired}", f"Bearer {fresh}"]
    assert len(asked) == 2
    assert harness.slept == []


async def test_a_callable_that_keeps_giving_an_expired_token_fails_after_one_refresh(
    harness: Harness,
) -> None:
    expired = harness.server.issue_token(expires_in=-60)
    with pytest.raises(AuthenticationError):
        await harness.create(harness.client(lambda: expired))
    assert len(harness.server.requests) == 2


async def test_an_expired_plain_string_token_fails_at_once(harness: Harness) -> None:
    expired = harness.server.issue_token(expires_in=-60)
    with pytest.raises(AuthenticationError, match="401"):
        await harness.create(harness.client(expired))
    assert len(harness.server.requests) == 1


async def test_async_client_accepts_a_coroutine_token_provider() -> None:
    server = FakeServer()
    expired = server.issue_token(expires_in=-60)
    fresh = server.issue_token()
    tokens = iter([expired, fresh])

    async def provider() -> str:
        return next(tokens)

    async with server.async_client(provider) as client:
        record = await client.performance.learning_records.create(person_id="p", title="t")
    assert server.records() == [record]
