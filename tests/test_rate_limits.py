"""Rate limits, visible: `APIResponse.rate_limit`, `RateLimitError.retry_after` and
`.rate_limit`, read from the headers servers send, and never an error on junk."""

from __future__ import annotations

import copy
import email.utils
import pickle
import time
from typing import Any

import httpx
import pytest

from _helpers import MODES, Api, api_fixture, json_response, make_client, record_json
from edm_client import AsyncClient, RateLimit, RateLimitError

api = api_fixture()

DIALECTS = {
    "IETF draft 08+ structured fields": (
        {"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
        RateLimit(limit=100, remaining=50, reset_after=30.0, window=60.0),
    ),
    "IETF draft 07 dictionary": (
        {"RateLimit": "limit=100, remaining=50, reset=30", "RateLimit-Policy": "100;w=60"},
        RateLimit(limit=100, remaining=50, reset_after=30.0, window=60.0),
    ),
    "IETF separate fields": (
        {"RateLimit-Limit": "100", "RateLimit-Remaining": "50", "RateLimit-Reset": "30"},
        RateLimit(limit=100, remaining=50, reset_after=30.0),
    ),
    "IETF separate fields with policies": (
        {"RateLimit-Limit": "10, 10;w=1, 500;w=60", "RateLimit-Remaining": "4"},
        RateLimit(limit=10, remaining=4, window=1.0),
    ),
    "X-RateLimit": (
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"},
        RateLimit(limit=100, remaining=0, reset_after=12.0),
    ),
    "X-Rate-Limit": (
        {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "7"},
        RateLimit(limit=100, remaining=7),
    ),
    "only some fields": ({"X-RateLimit-Remaining": "3"}, RateLimit(remaining=3)),
    "lower-case names": (
        {"ratelimit-limit": "60", "ratelimit-remaining": "59", "ratelimit-reset": "0.5"},
        RateLimit(limit=60, remaining=59, reset_after=0.5),
    ),
}

JUNK = {
    "words": {"RateLimit-Limit": "lots", "RateLimit-Remaining": "some", "RateLimit-Reset": "soon"},
    "negative numbers": {"X-RateLimit-Limit": "-1", "X-RateLimit-Remaining": "-5"},
    "not finite": {"X-RateLimit-Remaining": "nan", "X-RateLimit-Reset": "inf"},
    "fractional counts": {"RateLimit-Limit": "10.5", "RateLimit-Remaining": "1e3"},
    "empty values": {"RateLimit-Limit": "", "RateLimit-Remaining": " ", "RateLimit-Reset": ""},
    "broken structured fields": {"RateLimit": '"";;;=,,,"', "RateLimit-Policy": "q=;w"},
    "structured fields with junk parameters": {
        "RateLimit": '"default";r=x;t=-3',
        "RateLimit-Policy": '"default";q=many;w=long',
    },
    "huge value": {"RateLimit": "x" * 10_000},
    "numbers too long to be counts": {"X-RateLimit-Limit": "9" * 40},
}


def _raw_get(mode: str, headers: dict[str, str]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        return json_response(200, record_json(), headers=headers)

    client = make_client(mode, handler=answer)
    return client.performance.learning_records.with_raw_response.get("per_1"), client


async def _raw_response_rate_limit(mode: str, headers: dict[str, str]) -> RateLimit | None:
    call, client = _raw_get(mode, headers)
    if isinstance(client, AsyncClient):
        async with client:
            return (await call).rate_limit
    with client:
        rate_limit: RateLimit | None = call.rate_limit
        return rate_limit


async def _rate_limit_error(mode: str, headers: dict[str, str]) -> RateLimitError:
    def answer(request: httpx.Request) -> httpx.Response:
        return json_response(429, {"detail": "slow down"}, headers=headers)

    client = make_client(mode, handler=answer, max_retries=0)
    try:
        if isinstance(client, AsyncClient):
            async with client:
                await client.performance.learning_records.get("per_1")
        else:
            with client:
                client.performance.learning_records.get("per_1")
    except RateLimitError as error:
        return error
    raise AssertionError("the call did not raise RateLimitError")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("headers", "expected"), DIALECTS.values(), ids=DIALECTS.keys())
async def test_the_rate_limit_is_read_from_each_header_dialect(
    mode: str, headers: dict[str, str], expected: RateLimit
) -> None:
    assert await _raw_response_rate_limit(mode, headers) == expected


@pytest.mark.parametrize("headers", JUNK.values(), ids=JUNK.keys())
async def test_unparseable_rate_limit_headers_give_none(headers: dict[str, str]) -> None:
    assert await _raw_response_rate_limit("sync", headers) is None


async def test_a_junk_field_is_none_while_the_others_are_read() -> None:
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "many"}

    assert await _raw_response_rate_limit("sync", headers) == RateLimit(limit=100)


async def test_of_several_policies_the_one_closest_to_running_out_is_given() -> None:
    headers = {
        "RateLimit": '"second";r=9;t=1, "day";r=2;t=3600',
        "RateLimit-Policy": '"second";q=10;w=1, "day";q=1000;w=86400',
    }

    rate_limit = await _raw_response_rate_limit("sync", headers)

    assert rate_limit == RateLimit(limit=1000, remaining=2, reset_after=3600.0, window=86400.0)


@pytest.mark.parametrize("scale", [1, 1000], ids=["seconds", "milliseconds"])
async def test_a_reset_given_as_a_unix_time_is_turned_into_seconds_from_now(scale: int) -> None:
    reset_at = int((time.time() + 120) * scale)

    rate_limit = await _raw_response_rate_limit("sync", {"X-RateLimit-Reset": str(reset_at)})

    assert rate_limit is not None
    assert rate_limit.reset_after is not None
    assert 100 < rate_limit.reset_after <= 120


async def test_a_reset_in_the_past_is_zero_seconds() -> None:
    rate_limit = await _raw_response_rate_limit("sync", {"X-RateLimit-Reset": "1500000000"})

    assert rate_limit == RateLimit(reset_after=0.0)


async def test_a_response_without_rate_limit_headers_has_none(api: Api) -> None:
    response = await api.raw("create")

    assert response.rate_limit is None


@pytest.mark.parametrize("mode", MODES)
async def test_a_rate_limit_error_carries_the_rate_limit(mode: str) -> None:
    headers = {"RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "5"}

    error = await _rate_limit_error(mode, headers)

    assert error.rate_limit == RateLimit(limit=100, remaining=0, reset_after=5.0)


async def test_a_rate_limit_error_from_the_fake_carries_retry_after(api: Api) -> None:
    api.server.inject_fault(status=429, retry_after=7, times=None)
    api.client = api.client.with_options(max_retries=0)

    with pytest.raises(RateLimitError) as caught:
        await api.get("per_1")

    assert caught.value.retry_after == 7.0
    assert caught.value.rate_limit is None


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_as_an_http_date_is_seconds_from_now(mode: str) -> None:
    when = email.utils.formatdate(time.time() + 90, usegmt=True)

    error = await _rate_limit_error(mode, {"Retry-After": when})

    assert error.retry_after is not None
    assert 80 < error.retry_after <= 90


@pytest.mark.parametrize(
    "retry_after", ["", "soon", "nan", "Mon, 99 Foo 2026", "3 seconds", "\x00"]
)
async def test_an_unusable_retry_after_is_none(retry_after: str) -> None:
    error = await _rate_limit_error("sync", {"Retry-After": retry_after})

    assert error.retry_after is None


async def test_a_rate_limit_error_without_headers_has_neither() -> None:
    error = await _rate_limit_error("sync", {})

    assert (error.retry_after, error.rate_limit) == (None, None)


async def test_a_rate_limit_error_keeps_its_numbers_when_pickled_and_copied() -> None:
    error = await _rate_limit_error("sync", {"Retry-After": "3", "X-RateLimit-Remaining": "0"})

    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert isinstance(clone, RateLimitError)
        assert clone.retry_after == 3.0
        assert clone.rate_limit == RateLimit(remaining=0)


def test_a_rate_limit_is_frozen() -> None:
    rate_limit = RateLimit(limit=1)

    with pytest.raises(AttributeError):
        rate_limit.limit = 2  # type: ignore[misc]
