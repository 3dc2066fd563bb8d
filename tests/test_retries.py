"""Retries: what is retried, how often, how long it waits, and that creates never double.

Sleeps are patched (the `sleeps` fixture records them) or the policy's delays are zero; nothing
here waits for real.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _helpers import (
    Api,
    api_fixture,
    fake_api,
    inprocess_only,
    json_response,
    make_client,
    no_wait,
    posts,
    record_json,
    sleeps_fixture,
)
from edm_client import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
)
from edm_client.testing import FakeServer

api = api_fixture()
sleeps = sleeps_fixture()

RETRYABLE = [408, 429, 500, 502, 503, 504]
NOT_RETRYABLE = [400, 401, 403, 404, 405, 409, 410, 422, 501]


@pytest.mark.parametrize("status", RETRYABLE)
async def test_a_retryable_status_is_retried_until_it_succeeds(
    api: Api, sleeps: list[float], status: int
) -> None:
    api.server.inject_fault(status=status, times=2)

    record = await api.create()

    assert len(api.server.requests) == 3
    assert len(sleeps) == 2
    assert api.server.records() == [record]


@pytest.mark.parametrize("status", RETRYABLE)
async def test_a_retryable_status_is_raised_after_max_retries(
    api: Api, sleeps: list[float], status: int
) -> None:
    api.server.inject_fault(status=status, times=None)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    assert caught.value.status_code == status
    assert len(api.server.requests) == 3  # the first attempt and max_retries=2 retries
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", NOT_RETRYABLE)
async def test_other_statuses_are_never_retried(api: Api, sleeps: list[float], status: int) -> None:
    api.server.inject_fault(status=status, times=None)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    assert caught.value.status_code == status
    assert len(api.server.requests) == 1
    assert sleeps == []


@inprocess_only
@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (httpx.ConnectError, APIConnectionError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.WriteTimeout, APITimeoutError),
        (httpx.PoolTimeout, APITimeoutError),
        (httpx.ReadError, APIConnectionError),
        (httpx.WriteError, APIConnectionError),
        (httpx.RemoteProtocolError, APIConnectionError),
    ],
)
async def test_network_failures_are_retried_then_raised_typed(
    api: Api, sleeps: list[float], exception: type[Exception], error: type[Exception]
) -> None:
    api.server.inject_fault(exception=exception, times=None)

    with pytest.raises(error) as caught:
        await api.list()

    assert type(caught.value) is error
    assert len(api.server.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("max_retries", [1, 4])
async def test_a_status_error_after_retries_says_how_many_attempts_were_made(
    server: FakeServer, sleeps: list[float], mode: str, max_retries: int
) -> None:
    api = fake_api(server, mode, max_retries=max_retries)
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError) as caught:
        await api.get("per_1")
    await api.close()

    assert str(caught.value).startswith("503 Service Unavailable")
    assert str(caught.value).endswith(f". Failed after {max_retries + 1} attempts.")
    assert caught.value.message == str(caught.value)


@inprocess_only
async def test_a_network_error_after_retries_says_how_many_attempts_were_made(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(exception=httpx.ConnectError, times=None)

    with pytest.raises(APIConnectionError) as caught:
        await api.list()

    assert str(caught.value).startswith("Could not reach the EDM API")
    assert str(caught.value).endswith(". Failed after 3 attempts.")


@pytest.mark.parametrize("status", [404, 503])
async def test_an_error_on_the_only_attempt_does_not_count_attempts(
    server: FakeServer, status: int
) -> None:
    api = fake_api(server, "sync", max_retries=0 if status == 503 else 2)
    server.inject_fault(status=status, times=None)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")
    await api.close()

    assert "attempt" not in str(caught.value)


@inprocess_only
async def test_a_network_failure_then_success_returns_the_result(
    api: Api, sleeps: list[float]
) -> None:
    created = await api.create()
    api.server.inject_fault(exception=httpx.ConnectError)

    assert await api.get(created.id) == created
    assert len(sleeps) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("max_retries", [0, 1, 5])
async def test_max_retries_sets_the_number_of_retries(
    server: FakeServer, sleeps: list[float], mode: str, max_retries: int
) -> None:
    api = fake_api(server, mode, max_retries=max_retries)
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError):
        await api.get("per_1")
    await api.close()

    assert len(server.requests) == max_retries + 1
    assert len(sleeps) == max_retries


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_with_options_max_retries_applies_to_the_copy_only(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api = fake_api(server, mode)
    no_retry = Api(api.client.with_options(max_retries=0), server)
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError):
        await no_retry.get("per_1")
    assert len(server.requests) == 1
    with pytest.raises(InternalServerError):
        await api.get("per_1")
    assert len(server.requests) == 4
    await api.close()


# -- backoff -----------------------------------------------------------------------------


def _delays_of(policy_kwargs: dict[str, Any], mode: str, server: FakeServer) -> Any:
    events: list[RetryEvent] = []
    policy = RetryPolicy(on_retry=events.append, **policy_kwargs)
    return fake_api(server, mode, retry_policy=policy), events


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_backoff_doubles_from_half_a_second_up_to_eight(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api, events = _delays_of({"max_retries": 7, "jitter": 0.0}, mode, server)
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError):
        await api.get("per_1")
    await api.close()

    assert [e.delay for e in events] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_default_jitter_keeps_each_delay_within_a_quarter_below_the_backoff(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api, events = _delays_of({"max_retries": 6}, mode, server)
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError):
        await api.get("per_1")
    await api.close()

    for event, base in zip(events, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0], strict=True):
        assert 0.75 * base <= event.delay <= base
    assert sleeps == [e.delay for e in events]


async def test_the_default_policy_is_the_documented_one() -> None:
    policy = RetryPolicy()

    assert policy.max_retries == 2
    assert policy.initial_delay == 0.5
    assert policy.max_delay == 8.0
    assert policy.max_retry_after == 60.0
    assert policy.statuses == frozenset(RETRYABLE)


@inprocess_only
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_on_retry_is_told_the_attempt_the_delay_and_the_cause(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api, events = _delays_of({"jitter": 0.0}, mode, server)
    server.inject_fault(status=429, retry_after=3)
    server.inject_fault(exception=httpx.ConnectError)

    await api.create()
    await api.close()

    assert [e.attempt for e in events] == [1, 2]
    assert events[0].delay == 3.0
    assert events[0].response is not None
    assert events[0].response.status_code == 429
    assert events[0].error is None
    assert events[1].delay == 1.0
    assert events[1].response is None
    assert isinstance(events[1].error, APIConnectionError)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_on_retry_raising_stops_the_retries(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    class GiveUp(Exception):
        pass

    def give_up(event: RetryEvent) -> None:
        raise GiveUp(event.attempt)

    api = fake_api(server, mode, retry_policy=RetryPolicy(on_retry=give_up))
    server.inject_fault(status=503, times=None)

    with pytest.raises(GiveUp):
        await api.get("per_1")
    await api.close()

    assert len(server.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_policy_may_choose_the_statuses_it_retries(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api = fake_api(server, mode, retry_policy=RetryPolicy(statuses=frozenset({409})))
    server.inject_fault(status=409, times=2)

    await api.list()
    server.inject_fault(status=503)
    with pytest.raises(InternalServerError):
        await api.list()
    await api.close()

    assert len(server.requests) == 4


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


# -- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("59", 59.0),
        ("60", 60.0),
        ("120", 60.0),
        ("1e400", 60.0),
        ("-5", 0.0),
    ],
)
async def test_retry_after_seconds_are_obeyed_up_to_sixty(
    api: Api, sleeps: list[float], retry_after: str, expected: float
) -> None:
    api.server.inject_fault(status=429, retry_after=retry_after)

    await api.list()

    assert sleeps == [expected]


async def test_retry_after_on_a_503_is_obeyed(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(status=503, retry_after=7)

    await api.list()

    assert sleeps == [7.0]


async def test_retry_after_as_an_http_date_is_obeyed(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(
        status=429, retry_after=email.utils.formatdate(time.time() + 30, usegmt=True)
    )

    await api.list()

    assert len(sleeps) == 1
    assert 27.0 <= sleeps[0] <= 30.0


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Run the test with the local time zone nine hours east of UTC."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.parametrize(
    "date_format",
    ["%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"],
    ids=["imf-fixdate", "rfc850", "asctime"],
)
async def test_every_http_date_format_is_read_as_gmt_whatever_the_local_zone(
    api: Api, sleeps: list[float], far_from_utc: None, date_format: str
) -> None:
    retry_after = time.strftime(date_format, time.gmtime(time.time() + 30))
    api.server.inject_fault(status=503, retry_after=retry_after)

    await api.list()

    assert len(sleeps) == 1
    assert 27.0 <= sleeps[0] <= 30.0


async def test_retry_after_as_a_far_http_date_is_capped_at_sixty(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(
        status=503, retry_after=email.utils.formatdate(time.time() + 3600, usegmt=True)
    )

    await api.list()

    assert sleeps == [60.0]


async def test_retry_after_as_a_past_http_date_means_now(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")

    await api.list()

    assert sleeps == [0.0]


@pytest.mark.parametrize("retry_after", ["soon", "", "nan", "Mon, 99 Foo 2026", "3 seconds"])
async def test_an_unusable_retry_after_falls_back_to_backoff(
    api: Api, sleeps: list[float], retry_after: str
) -> None:
    api.server.inject_fault(status=429, retry_after=retry_after)

    await api.list()

    assert len(sleeps) == 1
    assert 0.375 <= sleeps[0] <= 0.5


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_max_retry_after_is_configurable(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api = fake_api(server, mode, retry_policy=RetryPolicy(max_retry_after=5.0))
    server.inject_fault(status=429, retry_after=30)

    await api.list()
    await api.close()

    assert sleeps == [5.0]


async def test_a_429_after_the_last_retry_is_a_rate_limit_error(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(status=429, retry_after=1, times=None)

    with pytest.raises(RateLimitError) as caught:
        await api.list()

    assert caught.value.response.headers["Retry-After"] == "1"
    assert sleeps == [1.0, 1.0]


# -- 401 and token refresh -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_401_with_a_string_token_fails_at_once(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api = fake_api(server, mode, server.issue_token(expires_in=-1))

    with pytest.raises(AuthenticationError):
        await api.get("per_1")
    await api.close()

    assert len(server.requests) == 1
    assert sleeps == []


# -- idempotent creates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"status": 503}, {"status": 500}, {"status": 429, "retry_after": 0}],
    ids=["503", "500", "429"],
)
async def test_a_create_whose_response_is_lost_is_stored_exactly_once(
    api: Api, sleeps: list[float], fault: dict[str, Any]
) -> None:
    api.server.inject_fault(method="POST", after_commit=True, **fault)

    record = await api.create(title="exactly once")

    assert api.server.records() == [record]
    sent = posts(api.server)
    assert len(sent) == 2
    assert sent[0].headers["Idempotency-Key"] == sent[1].headers["Idempotency-Key"]


@inprocess_only
@pytest.mark.parametrize(
    "exception", [httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
async def test_a_create_whose_connection_drops_after_commit_is_stored_exactly_once(
    api: Api, sleeps: list[float], exception: type[Exception]
) -> None:
    api.server.inject_fault(method="POST", after_commit=True, exception=exception)

    record = await api.create(title="exactly once")

    assert api.server.records() == [record]
    sent = posts(api.server)
    assert len(sent) == 2
    assert sent[0].headers["Idempotency-Key"] == sent[1].headers["Idempotency-Key"]


async def test_the_retried_create_is_answered_as_a_replay(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(status=503, method="POST", after_commit=True)

    response = await api.raw("create", title="exactly once")

    assert response.status_code == 201
    assert response.headers["Idempotent-Replayed"] == "true"
    assert api.server.records() == [response.parse()]


async def test_every_retry_of_a_create_reuses_the_callers_key(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(status=502, method="POST", times=2, after_commit=True)

    await api.create(idempotency_key="import-7")

    assert [r.headers["Idempotency-Key"] for r in posts(api.server)] == ["import-7"] * 3
    assert len(api.server.records()) == 1


async def test_a_create_whose_every_response_is_lost_still_stores_once(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(status=504, method="POST", times=None, after_commit=True)

    with pytest.raises(InternalServerError):
        await api.create(idempotency_key="import-8")

    assert len(posts(api.server)) == 3
    assert len(api.server.records()) == 1


async def test_the_same_key_with_another_body_is_a_conflict_not_retried(
    api: Api, sleeps: list[float]
) -> None:
    await api.create(title="first", idempotency_key="import-9")

    with pytest.raises(ConflictError) as caught:
        await api.create(title="second", idempotency_key="import-9")

    assert caught.value.status_code == 409
    assert "Idempotency-Key" in str(caught.value)
    assert len(posts(api.server)) == 2
    assert [r.title for r in api.server.records()] == ["first"]
    assert sleeps == []


# -- timeouts ---------------------------------------------------------------------------------


@inprocess_only
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_server_slower_than_the_timeout_gives_a_timeout_error_after_the_retries(
    server: FakeServer, mode: str
) -> None:
    api = fake_api(server, mode, timeout=0.01, retry_policy=no_wait())
    server.inject_fault(delay=5.0, times=None)

    with pytest.raises(APITimeoutError):
        await api.get("per_1")
    await api.close()

    assert len(server.requests) == 3


@inprocess_only
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_per_call_timeout_overrides_the_clients(server: FakeServer, mode: str) -> None:
    api = fake_api(server, mode, retry_policy=no_wait(max_retries=0))
    server.inject_fault(delay=5.0)

    with pytest.raises(APITimeoutError):
        await api.get("per_1", timeout=0.01)
    await api.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_non_json_success_is_not_retried(mode: str, sleeps: list[float]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(200, record_json()) if len(calls) > 1 else httpx.Response(200)

    api = Api(make_client(mode, handler=handler))

    with pytest.raises(APIResponseValidationError, match="not a valid LearningRecord"):
        await api.get("per_1")

    assert len(calls) == 1
    assert sleeps == []
