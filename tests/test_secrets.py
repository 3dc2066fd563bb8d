"""The token stays secret: never in a repr, str, log line, pickle or copy; never sent in clear.

Each test greps what a user could print or store for the token itself.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import pickle
import ssl
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trustme

from edm_client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    EDMError,
    InsecureTransportWarning,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
)
from edm_client.testing import FakeServer
from loopback import serve

NO_RETRIES = RetryPolicy(max_retries=0)
QUICK_RETRIES = RetryPolicy(max_retries=1, initial_delay=0.001)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def token(server: FakeServer) -> str:
    return server.issue_token()


def shows(text: str, token: str) -> bool:
    """Whether `text` gives the token away, whole or as its signature."""
    return token in text or token.rsplit(".", 1)[-1] in text


def everything_printable(value: object) -> str:
    return f"{value!r}\n{value!s}"


# -- repr and str -------------------------------------------------------------------------


def test_clients_and_their_copies_never_show_the_token(server: FakeServer, token: str) -> None:
    sync = server.client(token)
    async_ = server.async_client(token)
    provided = server.client(lambda: token)
    shown = [
        sync,
        async_,
        provided,
        sync.with_options(timeout=3),
        async_.with_options(max_retries=5),
        sync.performance.learning_records,
        async_.performance.learning_records,
    ]
    assert not any(shows(everything_printable(c), token) for c in shown)
    assert not shows(str(vars(sync.retry_policy)), token)


def test_records_pages_and_raw_responses_never_show_the_token(
    server: FakeServer, token: str
) -> None:
    records = server.client(token).performance.learning_records
    record = records.create(person_id="p1", title="Secret-free")
    raw = records.with_raw_response.create(person_id="p1", title="Raw")
    page = records.list(limit=1)
    shown: list[object] = [
        record,
        raw,
        raw.http_response,
        raw.http_response.request,
        raw.headers,
        raw.http_response.request.headers,
        page,
        page.http_response.request.headers,
        records.get(record.id),
    ]
    assert not any(shows(everything_printable(v), token) for v in shown)
    assert not shows(page._repr_html_(), token)
    assert not shows(record._repr_html_(), token)


async def test_async_pages_never_show_the_token(server: FakeServer, token: str) -> None:
    async with server.async_client(token) as client:
        await client.performance.learning_records.create(person_id="p1", title="Async")
        page = await client.performance.learning_records.list()
    assert not shows(everything_printable(page), token)


def raised(call: Callable[[], Any]) -> EDMError:
    with pytest.raises(EDMError) as caught:
        call()
    return caught.value


def every_error(server: FakeServer, token: str) -> Iterator[EDMError]:
    """One error of each kind the SDK raises, each from a request that carried `token`."""
    records = server.client(token, retry_policy=NO_RETRIES, timeout=0.01).performance
    lr = records.learning_records
    yield raised(lambda: lr.get("missing"))
    yield raised(lambda: lr.create(person_id="p", title="t", score=float("nan")))
    for fault in (
        {"status": 422},
        {"status": 409},
        {"status": 429, "retry_after": 1},
        {"status": 503},
        {"exception": httpx.ConnectError},
        {"exception": httpx.ReadError},
        {"delay": 1.0},
    ):
        server.inject_fault(**fault)
        yield raised(lambda: lr.create(person_id="p", title="t"))
    expired = server.issue_token(expires_in=-1)
    yield raised(server.client(expired).performance.learning_records.list)

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>not json</html>")

    hostile = Client(
        api_key=token,
        base_url="https://edm.test",
        http_client=httpx.Client(transport=httpx.MockTransport(garbage)),
    )
    yield raised(lambda: hostile.performance.learning_records.get("x"))


EXPECTED_KINDS = {
    NotFoundError,
    InvalidRequestError,
    UnprocessableEntityError,
    ConflictError,
    RateLimitError,
    InternalServerError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    APIResponseValidationError,
}


def test_every_kind_of_error_is_covered(server: FakeServer, token: str) -> None:
    assert {type(e) for e in every_error(server, token)} == EXPECTED_KINDS


def test_errors_never_show_the_token_in_repr_str_or_traceback(
    server: FakeServer, token: str
) -> None:
    for error in every_error(server, token):
        shown = everything_printable(error) + "".join(traceback.format_exception(error))
        assert not shows(shown, token), type(error).__name__


def test_pickled_errors_never_hold_the_token(server: FakeServer, token: str) -> None:
    for error in every_error(server, token):
        dumped = pickle.dumps(error)
        assert token.encode() not in dumped, type(error).__name__
        loaded = pickle.loads(dumped)
        assert (type(loaded), str(loaded)) == (type(error), str(error))


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copied_errors_never_hold_the_token(
    server: FakeServer, token: str, clone: Callable[[Any], Any]
) -> None:
    for error in every_error(server, token):
        cloned = clone(error)
        assert str(cloned) == str(error)
        if isinstance(cloned, APIError) and cloned.request is not None:
            assert cloned.request.headers["authorization"] == "[redacted]"
            assert not shows(str(cloned.request.headers.raw), token)


def test_pickled_status_error_keeps_what_a_user_needs(server: FakeServer, token: str) -> None:
    error = raised(lambda: server.client(token).performance.learning_records.get("nope"))
    assert isinstance(error, NotFoundError)
    loaded = pickle.loads(pickle.dumps(error))
    assert (loaded.status_code, loaded.request_id, loaded.body) == (
        error.status_code,
        error.request_id,
        error.body,
    )
    assert loaded.response.json() == error.response.json()


@pytest.mark.parametrize("status", [200, 401, 500])
def test_a_token_echoed_back_by_a_server_is_scrubbed_from_the_error(
    token: str, status: int
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        return httpx.Response(status, json={"detail": f"debug: you sent {sent}", "echo": [sent]})

    client = Client(
        api_key=token,
        base_url="https://edm.test",
        http_client=httpx.Client(transport=httpx.MockTransport(echo)),
        retry_policy=NO_RETRIES,
    )
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, APIError)
    assert "[redacted]" in str(error.body)
    assert not shows(everything_printable(error) + str(error.body), token)
    assert token.encode() not in pickle.dumps(error)


# -- logs ---------------------------------------------------------------------------------


def test_debug_logs_never_show_the_token(
    server: FakeServer, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx's and httpcore's
    with serve(server) as loopback:
        client = Client(api_key=token, base_url=loopback.base_url, retry_policy=QUICK_RETRIES)
        with client:
            records = client.performance.learning_records
            server.inject_fault(status=503)
            record = records.create(person_id="p1", title="Logged")
            records.get(record.id)
            list(records.list())
            server.inject_fault(exception=httpx.ReadError)
            records.list()
            with pytest.raises(NotFoundError):
                records.get("missing")
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "Retrying POST" in logged
    assert "-> 404" in logged
    assert not shows(logged, token)


# -- transport security -------------------------------------------------------------------


@pytest.mark.parametrize("make", [Client, AsyncClient], ids=["sync", "async"])
@pytest.mark.parametrize(
    "base_url", ["http://edm.example.com", "http://10.0.0.7:8080/", "http://edm.localhost.com"]
)
def test_plain_http_to_another_host_warns_that_the_token_would_travel_unencrypted(
    make: Callable[..., Any], base_url: str, token: str
) -> None:
    with pytest.warns(InsecureTransportWarning, match="unencrypted") as warned:
        make(api_key=token, base_url=base_url)
    assert warned[0].filename == __file__
    assert not shows(str(warned[0].message), token)


def test_insecure_transport_warning_points_at_the_with_options_call(token: str) -> None:
    with pytest.warns(InsecureTransportWarning):
        client = Client(api_key=token, base_url="http://edm.example.com")
    with pytest.warns(InsecureTransportWarning) as warned:
        client.with_options(timeout=1)
    assert warned[0].filename == __file__


@pytest.mark.parametrize(
    "base_url",
    [
        "https://edm.example.com",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://127.8.9.1",
        "http://[::1]:8000",
        "http://api.localhost",
    ],
)
def test_https_and_loopback_http_do_not_warn(base_url: str, token: str) -> None:
    Client(api_key=token, base_url=base_url).close()  # warnings are errors here


def test_clients_have_no_switch_to_turn_tls_verification_off() -> None:
    for cls in (Client, AsyncClient):
        assert not {"verify", "insecure", "ssl", "tls"} & set(inspect.signature(cls).parameters)


@pytest.fixture
def tls_server(server: FakeServer) -> Iterator[tuple[str, trustme.CA]]:
    """The fake over TLS with a certificate from a CA nobody trusts by default."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with serve(server, tls=context) as loopback:
        yield loopback.base_url, ca


def test_tls_certificates_are_verified_by_default(
    server: FakeServer, token: str, tls_server: tuple[str, trustme.CA]
) -> None:
    base_url, _ = tls_server
    with (
        Client(api_key=token, base_url=base_url, retry_policy=NO_RETRIES) as client,
        pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.performance.learning_records.list()
    assert server.requests == []


async def test_async_tls_certificates_are_verified_by_default(
    server: FakeServer, token: str, tls_server: tuple[str, trustme.CA]
) -> None:
    base_url, _ = tls_server
    async with AsyncClient(api_key=token, base_url=base_url, retry_policy=NO_RETRIES) as client:
        with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.performance.learning_records.list()
    assert server.requests == []


def test_an_explicit_http_client_decides_which_certificates_to_trust(
    server: FakeServer, token: str, tls_server: tuple[str, trustme.CA]
) -> None:
    base_url, ca = tls_server
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    http = httpx.Client(verify=trusting)
    with Client(api_key=token, base_url=base_url, http_client=http) as client:
        assert list(client.performance.learning_records.list()) == []
    assert len(server.requests) == 1


# -- a server that echoes the token back ----------------------------------------------------

API_KEY = "sk_live_4eC39HqLyjWD/arjtT1z+dp7dc=Zx9Q0fW3kLm0aB7/Yq+pR8sT="
"""A key with `/`, `+` and `=`, which percent-encoding and JSON-escaping spell differently."""


def runs_of(secret: str) -> list[str]:
    return [secret[i : i + 16] for i in range(len(secret) - 15)]


def leaks(text: str, secret: str) -> bool:
    """Whether `text` holds any 16 characters of `secret` in a row, as sent or as the
    forms a server echoes it in."""
    forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1].replace("/", "\\/")}
    return any(run in text for form in forms for run in runs_of(form))


def problem(status: int, detail: str, **extra: Any) -> httpx.Response:
    body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
    headers = {"Content-Type": "application/problem+json"}
    return httpx.Response(status, json={**body, **extra}, headers=headers)


def wrapped(text: str, width: int = 60) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


# How servers, proxies and debug pages echo a request's Authorization header back; each takes
# the header's value and the token, and answers 401.
ECHOES: dict[str, Callable[[str, str], httpx.Response]] = {
    "problem detail": lambda auth, token: problem(401, f"rejected 'Authorization: {auth}'"),
    "detail, token across the 200-character cut": lambda auth, token: problem(
        401, "The gateway rejected this request because its credentials " * 2 + auth
    ),
    "plain text": lambda auth, token: httpx.Response(401, text=f"bad credentials: {auth}"),
    "HTML title": lambda auth, token: httpx.Response(
        401, html=f"<html><head><title>Denied {token}</title></head><body>no</body></html>"
    ),
    "HTML page": lambda auth, token: httpx.Response(
        401, html=f"<html><body><h1>Debug</h1><pre>Authorization: {auth}</pre></body></html>"
    ),
    "error.message": lambda auth, token: httpx.Response(
        401, json={"error": {"message": f"token {token} expired", "code": "expired"}}
    ),
    "JSON without a message": lambda auth, token: httpx.Response(
        401, json={"debug": {"headers": {"authorization": auth, "accept": "*/*"}}}
    ),
    "percent-encoded": lambda auth, token: problem(
        401, f"log in again: /login?next=%2F&token={quote(token, safe='')}"
    ),
    "JSON-escaped inside the detail": lambda auth, token: problem(
        401, "request headers: " + json.dumps({"authorization": auth}).replace("/", "\\/")
    ),
    "cut short by the server": lambda auth, token: problem(401, f"unknown key {token[:40]}…"),
    "wrapped over lines": lambda auth, token: httpx.Response(401, text=wrapped(auth)),
    "X-Request-ID header": lambda auth, token: problem(
        401, "denied", headers={"X-Request-ID": token}
    ),
    "request id in the body": lambda auth, token: problem(401, "denied", request_id=token),
    "Location header": lambda auth, token: httpx.Response(
        302, headers={"Location": f"https://login.example.com/?token={quote(token, safe='')}"}
    ),
    "WWW-Authenticate header": lambda auth, token: httpx.Response(
        401, headers={"WWW-Authenticate": f'Bearer error="invalid_token", token="{token}"'}
    ),
}


def echoing(
    echo: Callable[[str, str], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        return echo(auth, auth.removeprefix("Bearer "))

    return answer


def written(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Everything the SDK writes about `error`: its str, repr, traceback, request id, logs."""
    return "\n".join(
        [
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),
            str(getattr(error, "request_id", "")),
            *(record.getMessage() for record in caplog.records),
        ]
    )


@pytest.fixture(params=["jwt", "api key"])
def secret(request: pytest.FixtureRequest, token: str) -> str:
    return token if request.param == "jwt" else API_KEY


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_no_run_of_an_echoed_token_is_written_or_pickled(
    hostile: Callable[..., Client],
    secret: str,
    echo: Callable[[str, str], httpx.Response],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")
    client = hostile(echoing(echo), api_key=secret)
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, APIError)
    assert not leaks(written(error, caplog), secret)
    assert not leaks(pickle.dumps(error).decode("latin-1"), secret)


@pytest.mark.parametrize("echo", ["plain text", "JSON without a message"])
def test_a_token_echoed_in_a_successful_but_invalid_body_is_not_written(
    hostile: Callable[..., Client], token: str, echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        echoed = echoing(ECHOES[echo])(request)
        return httpx.Response(200, content=echoed.content, headers=echoed.headers)

    client = hostile(answer, api_key=token)
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, APIResponseValidationError)
    assert not leaks(written(error, caplog), token)


def test_the_message_keeps_its_text_when_the_token_is_scrubbed_before_the_cut(
    hostile: Callable[..., Client], token: str
) -> None:
    echo = ECHOES["detail, token across the 200-character cut"]
    client = hostile(echoing(echo), api_key=token)
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert str(error).startswith("401 Unauthorized: The gateway rejected this request")
    assert str(error).endswith("its credentials Bearer [redacted]")


async def test_async_errors_scrub_an_echoed_token_before_the_cut(token: str) -> None:
    answer = echoing(ECHOES["detail, token across the 200-character cut"])
    async with AsyncClient(
        api_key=token,
        base_url="https://edm.test",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        retry_policy=NO_RETRIES,
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.performance.learning_records.get("x")
    assert str(caught.value).endswith("its credentials Bearer [redacted]")
    assert not leaks(repr(caught.value), token)


def test_the_body_keeps_the_server_text_without_the_token(
    hostile: Callable[..., Client], token: str
) -> None:
    client = hostile(echoing(ECHOES["problem detail"]), api_key=token)
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, AuthenticationError)
    assert error.body["detail"] == "rejected 'Authorization: Bearer [redacted]'"


# -- pickles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda server, token: server.client(token),
        lambda server, token: server.client(token).with_options(timeout=3),
        lambda server, token: server.client(lambda: token),
        lambda server, token: server.client(token).performance.learning_records,
    ],
    ids=["Client", "with_options copy", "token provider", "resource"],
)
def test_pickling_a_client_fails_on_purpose_saying_what_to_do_in_a_worker(
    server: FakeServer, token: str, make: Callable[[FakeServer, str], object]
) -> None:
    with pytest.raises(TypeError, match="cannot be pickled") as caught:
        pickle.dumps(make(server, token))
    assert "build a Client() there, from EDM_BASE_URL and EDM_API_KEY" in str(caught.value)
    assert not leaks(str(caught.value), token)


async def test_pickling_an_async_client_fails_on_purpose_saying_what_to_do_in_a_worker(
    server: FakeServer, token: str
) -> None:
    async with server.async_client(token) as client:
        for value in (client, client.with_options(max_retries=1)):
            with pytest.raises(TypeError, match=r"build a AsyncClient\(\) there"):
                pickle.dumps(value)


def returned(server: FakeServer, token: str) -> dict[str, object]:
    """One of each kind of thing the SDK returns, from requests that carried `token`."""
    records = server.client(token).performance.learning_records
    record = records.create(person_id="p1", title="Pickled")
    records.create(person_id="p1", title="Second, so that the first page has a cursor")
    raw = records.with_raw_response.create(person_id="p1", title="Raw")
    page = records.list(limit=1)
    server.inject_fault(status=422)
    bulk = records.create_many([{"person_id": "p1", "title": "a"}, {"person_id": "p1"}])
    errors = list(every_error(server, token))
    return {
        "record": record,
        "page": page,
        "raw create": raw,
        "raw list": records.with_raw_response.list(limit=1),
        "raw http_response": raw.http_response,
        "its request": raw.http_response.request,
        "page http_response": page.http_response,
        "bulk result": bulk,
        "errors": errors,
        "errors' requests": [getattr(e, "request", None) for e in errors],
        "errors' responses": [getattr(e, "response", None) for e in errors],
    }


def test_nothing_the_sdk_returns_pickles_with_the_token(server: FakeServer, token: str) -> None:
    for name, value in returned(server, token).items():
        assert not leaks(pickle.dumps(value).decode("latin-1"), token), name


async def test_async_pages_pickle_without_the_token(server: FakeServer, token: str) -> None:
    async with server.async_client(token) as client:
        await client.performance.learning_records.create(person_id="p1", title="Async")
        page = await client.performance.learning_records.list()
        raw = await client.performance.learning_records.with_raw_response.list()
    for value in (page, raw, raw.http_response.request):
        assert not leaks(pickle.dumps(value).decode("latin-1"), token)


def test_a_pickled_page_keeps_its_records_and_says_why_it_cannot_fetch_more(
    server: FakeServer, token: str
) -> None:
    values = returned(server, token)
    page: Any = values["page"]
    loaded = pickle.loads(pickle.dumps(page))
    assert (loaded.data, loaded.next_cursor) == (page.data, page.next_cursor)
    assert loaded.http_response.json() == page.http_response.json()
    with pytest.raises(EDMError, match=r"came from a pickle.*cursor=page.next_cursor"):
        loaded.get_next_page()


def test_a_pickled_raw_response_keeps_its_parsed_result_and_headers(
    server: FakeServer, token: str
) -> None:
    raw: Any = returned(server, token)["raw create"]
    loaded = pickle.loads(pickle.dumps(raw))
    assert loaded.parse() == raw.parse()
    assert (loaded.status_code, loaded.request_id) == (raw.status_code, raw.request_id)
    assert loaded.http_response.request.headers["authorization"] == "[redacted]"


def test_a_pickled_request_keeps_every_header_but_the_token(server: FakeServer, token: str) -> None:
    raw: Any = returned(server, token)["raw create"]
    request = raw.http_response.request
    loaded = pickle.loads(pickle.dumps(request))
    assert loaded.headers["authorization"] == "[redacted]"
    assert loaded.headers["idempotency-key"] == request.headers["idempotency-key"]
    assert loaded.content == request.content
    assert request.headers["authorization"] == f"Bearer {token}"  # the original is untouched


def test_a_raw_response_whose_headers_echo_the_token_pickles_without_it(
    hostile: Callable[..., Client], token: str, server: FakeServer
) -> None:
    record = server.client(token).performance.learning_records.create(person_id="p", title="t")

    def answer(request: httpx.Request) -> httpx.Response:
        echoed = {"X-Debug-Authorization": request.headers["authorization"]}
        return httpx.Response(200, json=record.model_dump(mode="json"), headers=echoed)

    client = hostile(answer, api_key=token)
    raw = client.performance.learning_records.with_raw_response.get(record.id)
    assert not leaks(pickle.dumps(raw).decode("latin-1"), token)
    assert pickle.loads(pickle.dumps(raw)).headers["x-debug-authorization"] == "Bearer [redacted]"


def test_requests_the_sdk_sends_still_look_like_httpx_requests(
    server: FakeServer, token: str
) -> None:
    raw = server.client(token).performance.learning_records.with_raw_response.list()
    request = raw.http_response.request
    assert isinstance(request, httpx.Request)
    assert repr(request) == f"<Request('GET', '{request.url}')>"
