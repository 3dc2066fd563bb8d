"""total_timeout: a bound on the whole call, every attempt, retry wait and body read included,
however a server trickles its answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import raw_server
from _helpers import (
    MODES,
    Api,
    fake_api,
    json_response,
    make_client,
    record_json,
    sleeps_fixture,
    socket_client,
)
from edm_client import (
    APITimeoutError,
    Client,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    RetryPolicy,
)
from edm_client.testing import FakeServer

sleeps = sleeps_fixture()

DRIP_EVERY = 0.02
BODY = b'{"id": "per_1", "tenant_id": "ten_1"' + b" " * 500 + b"}"
TOTAL = 0.4
"""The total_timeout of the trickle tests; with DRIP_EVERY, the server drips about 20 bytes
before the client gives up, against hundreds it has to send."""


class Trickle:
    """A server that answers every request one byte at a time, counting the bytes it sent."""

    def __init__(self, headers_too: bool = False, then_silence: bool = False) -> None:
        self.sent = 0
        self.headers_too = headers_too
        self.then_silence = then_silence

    def __call__(self, conn: socket.socket, head: bytes) -> None:
        start = raw_server.head(
            "200 OK", {"Content-Type": "application/json", "Content-Length": str(len(BODY))}
        )
        if self.headers_too:
            self._drip(conn, start + BODY)
            return
        conn.sendall(start)
        if self.then_silence:
            conn.sendall(BODY[:10])
            while conn.recv(1):  # silence until the client hangs up
                pass
            return
        self._drip(conn, BODY)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            conn.sendall(bytes([byte]))
            self.sent += 1
            raw_server.time.sleep(DRIP_EVERY)


@pytest.fixture
def trickle() -> Iterator[tuple[str, Trickle]]:
    server = Trickle()
    with raw_server.serve(server) as url:
        yield url, server


async def _expect_out_of_time(api: Api) -> APITimeoutError:
    with pytest.raises(APITimeoutError) as caught:
        await api.get("per_1")
    await api.close()
    return caught.value


def _says_total_timeout(error: APITimeoutError, total: float = TOTAL) -> None:
    message = str(error)
    assert f"did not finish within total_timeout={total:g} s" in message
    assert "raise total_timeout=" in message
    assert "total_timeout=None" in message


# -- a server that trickles ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_dripping_one_byte_at_a_time_ends_at_total_timeout(mode: str) -> None:
    server = Trickle()
    with raw_server.serve(server) as url:
        api = Api(socket_client(mode, url, total_timeout=TOTAL, timeout=5))
        error = await _expect_out_of_time(api)

    _says_total_timeout(error)
    assert "(1 attempt)" in str(error)
    assert server.sent < len(BODY) // 2


@pytest.mark.parametrize("mode", MODES)
async def test_headers_dripping_one_byte_at_a_time_end_at_total_timeout(mode: str) -> None:
    server = Trickle(headers_too=True)
    with raw_server.serve(server) as url:
        api = Api(socket_client(mode, url, total_timeout=TOTAL, timeout=5))
        error = await _expect_out_of_time(api)

    _says_total_timeout(error)
    assert server.sent < 60  # still in the status line and headers


@pytest.mark.parametrize("mode", MODES)
async def test_a_server_gone_silent_mid_body_is_cut_off_at_total_timeout_not_the_read_timeout(
    mode: str,
) -> None:
    with raw_server.serve(Trickle(then_silence=True)) as url:
        api = Api(socket_client(mode, url, total_timeout=TOTAL, timeout=30))
        error = await _expect_out_of_time(api)

    _says_total_timeout(error)  # not "raise `timeout=`": the 30 s read timeout never fired


def test_a_dripping_body_through_your_own_http_client_ends_at_total_timeout() -> None:
    server = Trickle()
    with raw_server.serve(server) as url:
        client = Client(
            api_key="test-token",
            base_url=url,
            http_client=httpx.Client(trust_env=False),
            total_timeout=TOTAL,
            max_retries=0,
        )
        with client, pytest.raises(APITimeoutError) as caught:
            client.performance.learning_records.get("per_1")

    _says_total_timeout(caught.value)
    assert server.sent < len(BODY) // 2


# -- retries within the deadline -------------------------------------------------------------


def _always_503(calls: list[httpx.Request], **headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(503, {"detail": "busy"}, headers=headers)

    return handler


@pytest.mark.parametrize("mode", MODES)
async def test_a_retry_whose_backoff_would_pass_the_deadline_is_not_started(
    mode: str, sleeps: list[float]
) -> None:
    calls: list[httpx.Request] = []
    policy = RetryPolicy(max_retries=5, initial_delay=10.0, max_delay=20.0, jitter=0.0)
    api = Api(make_client(mode, handler=_always_503(calls), retry_policy=policy, total_timeout=5))

    with pytest.raises(APITimeoutError) as caught:
        await api.get("per_1")

    message = str(caught.value)
    assert len(calls) == 1
    assert sleeps == []
    assert "stopped after 1 attempt: waiting 10.00 s for the next retry" in message
    assert "would pass total_timeout=5 s" in message
    assert "503 Service Unavailable: busy" in message
    assert isinstance(caught.value.__cause__, InternalServerError)


@pytest.mark.parametrize("mode", MODES)
async def test_a_retry_after_longer_than_the_time_left_is_not_waited_for(
    mode: str, sleeps: list[float]
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(429, {"detail": "slow down"}, headers={"Retry-After": "30"})

    api = Api(make_client(mode, handler=handler, total_timeout=10))

    with pytest.raises(APITimeoutError, match=r"waiting 30\.00 s") as caught:
        await api.list()

    assert len(calls) == 1
    assert sleeps == []
    assert isinstance(caught.value.__cause__, RateLimitError)


@pytest.mark.parametrize("mode", MODES)
async def test_retries_that_fit_in_the_deadline_are_made(mode: str, sleeps: list[float]) -> None:
    calls: list[httpx.Request] = []
    policy = RetryPolicy(max_retries=2, initial_delay=1.0, jitter=0.0)
    api = Api(make_client(mode, handler=_always_503(calls), retry_policy=policy, total_timeout=60))

    with pytest.raises(InternalServerError):
        await api.get("per_1")

    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]


# -- where it is set -------------------------------------------------------------------------


@pytest.fixture
def slow_fake(server: FakeServer) -> FakeServer:
    """The fake (in-process and served), answering every request after 0.3 s."""
    server.inject_fault(delay=0.3, times=None)
    return server


@pytest.mark.parametrize("mode", MODES)
async def test_the_client_total_timeout_bounds_a_slow_answer(
    slow_fake: FakeServer, mode: str
) -> None:
    api = fake_api(slow_fake, mode, total_timeout=0.1, max_retries=0)

    with pytest.raises(APITimeoutError) as caught:
        await api.list()
    await api.close()

    _says_total_timeout(caught.value, 0.1)


@pytest.mark.parametrize("mode", MODES)
async def test_none_on_the_call_removes_the_limit(slow_fake: FakeServer, mode: str) -> None:
    api = fake_api(slow_fake, mode, total_timeout=0.1, max_retries=0)

    assert await api.list(total_timeout=None) == []
    await api.close()


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_total_timeout_wins_over_the_clients(slow_fake: FakeServer, mode: str) -> None:
    api = fake_api(slow_fake, mode, max_retries=0)

    with pytest.raises(APITimeoutError, match=r"total_timeout=0\.1 s"):
        await api.get("per_1", total_timeout=0.1)
    await api.close()


@pytest.mark.parametrize("mode", MODES)
async def test_with_options_sets_or_removes_the_limit(slow_fake: FakeServer, mode: str) -> None:
    api = fake_api(slow_fake, mode, max_retries=0)
    strict = Api(api.client.with_options(total_timeout=0.1))
    unlimited = Api(strict.client.with_options(total_timeout=None))

    with pytest.raises(APITimeoutError):
        await strict.list()
    assert await unlimited.list() == []
    assert unlimited.client.total_timeout is None
    assert api.client.total_timeout == 120
    await api.close()


def test_a_create_many_item_may_carry_its_own_total_timeout(slow_fake: FakeServer) -> None:
    items = [
        {"person_id": "p1", "title": "mine: no limit", "total_timeout": None},
        {"person_id": "p1", "title": "the client's: 0.1 s"},
    ]
    with slow_fake.client(total_timeout=0.1, max_retries=0) as client:
        result = client.performance.learning_records.create_many(items)

    assert [created.index for created in result.created] == [0]
    (failure,) = result.failed
    assert failure.index == 1
    assert isinstance(failure.error, APITimeoutError)
    assert "total_timeout=0.1 s" in str(failure.error)


@pytest.mark.parametrize("mode", MODES)
async def test_each_page_of_a_listing_is_its_own_call(server: FakeServer, mode: str) -> None:
    api = fake_api(server, mode, total_timeout=0.5, max_retries=0)
    for n in range(5):
        await api.create(title=f"course {n}")
    server.inject_fault(delay=0.2, method="GET", times=None)

    records = await api.list(limit=2)  # 3 pages, 0.6 s in all
    await api.close()

    assert len(records) == 5


@pytest.mark.parametrize("mode", MODES)
async def test_no_wait_of_an_attempt_is_longer_than_the_time_left(mode: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, record_json())

    api = Api(make_client(mode, handler=handler, timeout=30, total_timeout=2))
    await api.get("per_1")

    timeouts = seen[0].extensions["timeout"]
    assert set(timeouts) == {"connect", "read", "write", "pool"}
    assert all(0 < value <= 2 for value in timeouts.values())


def test_the_default_total_timeout_is_120_seconds_and_shows_in_the_repr() -> None:
    client = Client(api_key="tok", base_url="https://edm.test")

    assert client.total_timeout == 120
    assert "total_timeout=120.0" in repr(client)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", [0, -1, float("nan"), "10"])
async def test_an_unusable_total_timeout_on_a_call_is_refused_before_sending(
    mode: str, value: Any
) -> None:
    seen: list[httpx.Request] = []
    api = Api(make_client(mode, handler=lambda r: seen.append(r) or json_response(200, {})))

    with pytest.raises(InvalidRequestError, match="total_timeout"):
        await api.get("per_1", total_timeout=value)

    assert seen == []
