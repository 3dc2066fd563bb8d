"""`FakeServer.serve()`: the fake over a real HTTP/1.1 socket, and faults acted out on the wire."""

from __future__ import annotations

import gc
import http.client
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trustme

from edm_client import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Client,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from edm_client.testing import FakeServer

COLLECTION = "/api/v1/performance/learning-records"
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0, max_retry_after=0.0)


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def url(fake: FakeServer) -> Iterator[str]:
    with fake.serve() as url:
        yield url


@pytest.fixture
def connection(url: str) -> Iterator[http.client.HTTPConnection]:
    parsed = httpx.URL(url)
    conn = http.client.HTTPConnection(parsed.host, parsed.port, timeout=10)
    yield conn
    conn.close()


def _auth(fake: FakeServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.issue_token()}"}


def _raw_exchange(url: str, payload: bytes) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    parsed = httpx.URL(url)
    with socket.create_connection((parsed.host, parsed.port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


# -- serving --------------------------------------------------------------------------------


def test_serve_yields_a_loopback_http_url_on_a_free_port(fake: FakeServer) -> None:
    with fake.serve() as url:
        parsed = httpx.URL(url)

    assert parsed.scheme == "http"
    assert parsed.host == "127.0.0.1"
    assert parsed.port is not None
    assert parsed.port > 0


def test_serve_listens_on_the_port_asked_for(fake: FakeServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with fake.serve(port=port) as url:
        assert url == f"http://127.0.0.1:{port}"
        with fake.client() as client:
            assert list(client.performance.learning_records.list()) == []


def test_a_port_already_in_use_raises_oserror(url: str) -> None:
    port = httpx.URL(url).port
    assert port is not None

    with pytest.raises(OSError, match="in use"), FakeServer().serve(port=port):
        pass


def test_the_socket_and_the_in_process_transport_share_one_state(
    fake: FakeServer, url: str
) -> None:
    with fake.client() as over_socket:
        created = over_socket.performance.learning_records.create(person_id="p1", title="Go")
    in_process = Client(
        api_key=fake.issue_token(),
        base_url="https://edm.fake.test",
        http_client=httpx.Client(transport=fake.transport),
    )

    with in_process:
        assert in_process.performance.learning_records.get(created.id) == created
    assert fake.records() == [created]


def test_base_url_is_the_served_url_while_serving_and_restored_after(fake: FakeServer) -> None:
    original = fake.base_url

    with fake.serve() as url:
        assert fake.base_url == url

    assert fake.base_url == original


def test_a_client_made_while_serving_talks_over_the_socket(fake: FakeServer) -> None:
    with fake.serve():
        client = fake.client(max_retries=0)
        client.performance.learning_records.list()

    with client, pytest.raises(APIConnectionError):
        client.performance.learning_records.list()


def test_the_served_requests_are_recorded_with_their_headers_and_body(
    fake: FakeServer, url: str
) -> None:
    with fake.client() as client:
        client.performance.learning_records.create(
            person_id="p1", title="Rust", idempotency_key="key-1"
        )

    (request,) = fake.requests
    assert request.method == "POST"
    assert request.url.path == COLLECTION
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["Authorization"].startswith("Bearer ")
    assert request.content == b'{"person_id":"p1","title":"Rust"}'


# -- HTTP/1.1 -------------------------------------------------------------------------------


def test_a_kept_alive_connection_serves_many_requests(
    fake: FakeServer, connection: http.client.HTTPConnection
) -> None:
    sockets = []
    for _ in range(3):
        connection.request("GET", COLLECTION, headers=_auth(fake))
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Connection") is None
        sockets.append(connection.sock)

    assert sockets[0] is not None
    assert all(sock is sockets[0] for sock in sockets)


def test_a_chunked_request_body_is_read_whole(
    fake: FakeServer, connection: http.client.HTTPConnection
) -> None:
    parts = [b'{"person_id": "p1", ', b'"title": "Chunked ', b'upload"}']
    headers = {**_auth(fake), "Content-Type": "application/json"}

    connection.request("POST", COLLECTION, body=iter(parts), headers=headers, encode_chunked=True)
    response = connection.getresponse()
    response.read()

    assert response.status == 201
    assert [r.title for r in fake.records()] == ["Chunked upload"]
    assert "transfer-encoding" not in fake.requests[-1].headers


def test_a_head_request_gets_no_body_and_the_connection_stays_usable(
    fake: FakeServer, connection: http.client.HTTPConnection
) -> None:
    connection.request("HEAD", COLLECTION, headers=_auth(fake))
    head = connection.getresponse()
    assert head.read() == b""
    connection.request("GET", COLLECTION, headers=_auth(fake))
    get = connection.getresponse()

    assert head.status == 405
    assert get.status == 200
    assert get.read().startswith(b'{"data"')


def test_a_malformed_chunked_body_is_a_400_problem_and_closes_the_connection(url: str) -> None:
    received = _raw_exchange(
        url,
        b"POST " + COLLECTION.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    )

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/problem+json" in head
    assert b"Connection: close" in head
    assert b"chunk size" in body


def test_a_body_over_the_size_limit_is_refused_with_413(url: str) -> None:
    received = _raw_exchange(
        url,
        b"POST " + COLLECTION.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 999999999\r\n\r\n",
    )

    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in received


def test_a_garbage_request_line_is_answered_with_problem_json(url: str) -> None:
    received = _raw_exchange(url, b"NOT-HTTP\r\n\r\n")

    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"application/problem+json" in received


# -- shutdown -------------------------------------------------------------------------------


def test_leaving_serve_ends_every_thread_and_closes_kept_alive_connections(
    fake: FakeServer,
) -> None:
    before = set(threading.enumerate())
    with fake.serve() as url:
        client = fake.client(max_retries=0)
        client.performance.learning_records.list()  # leaves a kept-alive connection open
        parsed = httpx.URL(url)
        idle = http.client.HTTPConnection(parsed.host, parsed.port, timeout=10)
        idle.request("GET", COLLECTION, headers=_auth(fake))
        idle.getresponse().read()

    try:
        assert set(threading.enumerate()) == before
        assert idle.sock is not None
        assert idle.sock.recv(1) == b""  # the server closed its side
        with pytest.raises(APIConnectionError):
            client.performance.learning_records.list()
    finally:
        idle.close()
        client.close()
    gc.collect()  # an unclosed socket would warn here, and warnings are errors


def test_leaving_serve_cuts_a_delayed_answer_short(fake: FakeServer) -> None:
    fake.inject_fault(delay=600)
    outcome: list[Any] = []

    def call() -> None:
        try:
            client.performance.learning_records.list()
        except APIConnectionError as exc:
            outcome.append(exc)

    with fake.serve():
        client = fake.client(max_retries=0)
        caller = threading.Thread(target=call)
        caller.start()
        while not fake.requests:
            threading.Event().wait(0.01)
    caller.join()
    client.close()

    assert len(outcome) == 1
    assert isinstance(outcome[0], APIConnectionError)


# -- faults on the wire ---------------------------------------------------------------------


def test_a_reset_fault_is_a_connection_error(fake: FakeServer, url: str) -> None:
    fake.inject_fault(exception=httpx.ReadError)

    with fake.client(max_retries=0) as client, pytest.raises(APIConnectionError) as caught:
        client.performance.learning_records.list()

    assert not isinstance(caught.value, APITimeoutError)


def test_a_connect_error_fault_resets_the_connection(fake: FakeServer, url: str) -> None:
    fake.inject_fault(exception=httpx.ConnectError)

    with httpx.Client(base_url=url) as raw, pytest.raises(httpx.ReadError):
        raw.get(COLLECTION, headers=_auth(fake))


def test_a_disconnect_fault_closes_the_connection_without_a_response(
    fake: FakeServer, url: str
) -> None:
    fake.inject_fault(exception=httpx.RemoteProtocolError)

    with httpx.Client(base_url=url) as raw, pytest.raises(httpx.RemoteProtocolError) as caught:
        raw.get(COLLECTION, headers=_auth(fake))

    assert "without sending a response" in str(caught.value)


def test_connection_faults_are_retried_until_the_fake_answers(fake: FakeServer, url: str) -> None:
    fake.inject_fault(exception=httpx.ReadError, times=1)
    fake.inject_fault(exception=httpx.RemoteProtocolError, times=1)

    with fake.client(retry_policy=NO_WAIT) as client:
        page = client.performance.learning_records.list()

    assert page.data == []
    assert len(fake.requests) == 3


def test_a_status_fault_is_a_real_problem_response_with_retry_after(
    fake: FakeServer, url: str
) -> None:
    fake.inject_fault(status=429, retry_after=7)

    with httpx.Client(base_url=url) as raw:
        response = raw.get(COLLECTION, headers=_auth(fake))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 429


def test_a_status_fault_reaches_the_sdk_as_its_typed_error(fake: FakeServer, url: str) -> None:
    fake.inject_fault(status=429, retry_after=0, times=None)

    with fake.client(retry_policy=NO_WAIT) as client, pytest.raises(RateLimitError):
        client.performance.learning_records.list()

    assert len(fake.requests) == 3


def test_a_lost_create_response_is_retried_without_storing_twice(
    fake: FakeServer, url: str
) -> None:
    fake.inject_fault(exception=httpx.ReadError, method="POST", after_commit=True)

    with fake.client(retry_policy=NO_WAIT) as client:
        response = client.performance.learning_records.with_raw_response.create(
            person_id="p1", title="Once"
        )

    assert response.headers["Idempotent-Replayed"] == "true"
    assert [r.id for r in fake.records()] == [response.parse().id]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_server_delay_longer_than_the_timeout_is_an_api_timeout_after_the_retries(
    fake: FakeServer, url: str, mode: str
) -> None:
    fake.inject_fault(delay=30, times=None)
    policy = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)

    if mode == "sync":
        with (
            fake.client(timeout=0.2, retry_policy=policy) as client,
            pytest.raises(APITimeoutError, match="timed out"),
        ):
            client.performance.learning_records.list()
    else:
        async with fake.async_client(timeout=0.2, retry_policy=policy) as aclient:
            with pytest.raises(APITimeoutError, match="timed out"):
                await aclient.performance.learning_records.list()

    assert len(fake.requests) == 3


def test_a_delayed_create_whose_client_gave_up_is_never_stored(fake: FakeServer) -> None:
    fake.inject_fault(delay=30, method="POST")

    with (
        fake.serve(),
        fake.client(timeout=0.2, max_retries=0) as client,
        pytest.raises(APITimeoutError),
    ):
        client.performance.learning_records.create(person_id="p1", title="Too slow")
    # Leaving serve() joined every server thread: nothing can still be storing.

    assert fake.records() == []


def test_a_delay_shorter_than_the_timeout_answers_late(fake: FakeServer, url: str) -> None:
    fake.inject_fault(delay=0.05)

    with fake.client(timeout=10) as client:
        record = client.performance.learning_records.create(person_id="p1", title="Late")

    assert fake.records() == [record]


async def test_a_timeout_fault_is_silence_until_the_client_gives_up(
    fake: FakeServer, url: str
) -> None:
    fake.inject_fault(exception=httpx.ReadTimeout, times=None)

    async with fake.async_client(timeout=0.2, retry_policy=NO_WAIT) as client:
        with pytest.raises(APITimeoutError):
            await client.performance.learning_records.get("per_1")

    assert len(fake.requests) == 3


async def test_an_async_client_shares_kept_alive_connections(fake: FakeServer, url: str) -> None:
    async with fake.async_client() as client:
        created = await client.performance.learning_records.create(person_id="p", title="A")
        with pytest.raises(NotFoundError):
            await client.performance.learning_records.get("per_missing")
        fetched = await client.performance.learning_records.get(created.id)

    assert fetched == created


def test_a_client_given_the_served_url_needs_nothing_from_the_fake(
    fake: FakeServer, url: str
) -> None:
    token = fake.issue_token()

    with Client(api_key=token, base_url=url) as client:
        created = client.performance.learning_records.create(person_id="p", title="Plain")

    assert fake.records() == [created]


async def test_an_async_client_given_the_served_url_works_too(fake: FakeServer, url: str) -> None:
    async with AsyncClient(api_key=fake.issue_token(), base_url=url) as client:
        page = await client.performance.learning_records.list()

    assert page.data == []


# -- the Python side of demo data, and regressions the fuzzer found ------------------------


def test_seed_demo_data_stores_valid_demo_tenant_records_once(fake: FakeServer) -> None:
    seeded = fake.seed_demo_data()
    again = fake.seed_demo_data()

    assert again == seeded
    assert fake.records() == seeded
    assert {r.tenant_id for r in seeded} == {fake.demo_tenant_id}
    assert {r.created_by for r in seeded} == {fake.demo_person_id}
    assert len({r.person_id for r in seeded}) > 1


def _raw(server: FakeServer) -> httpx.Client:
    served = server.base_url.startswith("http://")
    return httpx.Client(
        base_url=server.base_url,
        transport=None if served else server.transport,
        headers=_auth(server),
    )


def test_a_create_body_with_null_optional_fields_is_stored(server: FakeServer) -> None:
    body = {"person_id": "p1", "title": "Nulls", "completed_at": None, "expires_at": None}

    with _raw(server) as http:
        response = http.post(COLLECTION, json=body)

    assert response.status_code == 201
    assert response.json()["completed_at"] is None


@pytest.mark.parametrize("limit", ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT FIVE}", "+5"])
def test_a_non_ascii_digit_limit_is_a_422_not_a_crash(server: FakeServer, limit: str) -> None:
    with _raw(server) as http:
        response = http.get(COLLECTION, params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


def test_the_pytest_plugins_network_guard_lets_the_served_fake_through(
    edm_fake: FakeServer,
) -> None:
    with edm_fake.serve(), edm_fake.client() as client:
        assert client.performance.learning_records.list().data == []


def test_serve_with_an_ssl_context_serves_https(fake: FakeServer) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)

    with fake.serve(ssl_context=context) as url:
        http_client = httpx.Client(verify=trusting, trust_env=False)
        with fake.client(http_client=http_client) as client:
            created = client.performance.learning_records.create(person_id="p", title="TLS")

    assert url.startswith("https://127.0.0.1:")
    assert fake.records() == [created]


def test_a_fake_that_fails_while_logging_a_request_answers_500_not_a_dropped_connection(
    fake: FakeServer,
    connection: http.client.HTTPConnection,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the fake")

    # Stands in for any bug in the fake's first step (logging, rate limit, faults).
    monkeypatch.setattr(type(fake._state), "arrive", broken)

    connection.request("GET", COLLECTION, headers=_auth(fake))
    response = connection.getresponse()

    assert response.status == 500
    assert response.getheader("Content-Type") == "application/problem+json"
    assert "see its log" in response.read().decode()
    assert "The fake server failed on a request" in caplog.text
