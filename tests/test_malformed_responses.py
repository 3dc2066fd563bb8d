"""A server that misbehaves (through `httpx.MockTransport`): each answer gives the right typed
error, with the body attached and a message a person can act on."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import pytest

import raw_server
from _helpers import (
    MODES,
    Api,
    json_response,
    make_client,
    record_json,
    sleeps_fixture,
    socket_client,
)
from edm_client import (
    APIResponseValidationError,
    APIStatusError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
)

sleeps = sleeps_fixture()

Handler = Callable[[httpx.Request], httpx.Response]


def _api(mode: str, handler: Handler, **kwargs: Any) -> Api:
    return Api(make_client(mode, handler=handler, **kwargs))


def _always(status: int, content: bytes, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers)

    return handler


async def _call(api: Api, operation: str) -> Any:
    if operation == "create":
        return await api.create()
    if operation == "get":
        return await api.get("per_1")
    return await api.first_page()


OPERATIONS = ["create", "get", "list"]
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's json module can go


# -- 2xx bodies that are not what the contract says ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("content", "in_message"),
    [
        (b"<html><body>Welcome to nginx!</body></html>", "not valid JSON"),
        (b"OK", "not valid JSON"),
        (b"", "empty body"),
        (b'{"id": "per_1", "tenant_id": "ten_1", "created_', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (DEEP_JSON, "not valid JSON"),
    ],
    ids=["html", "text", "empty", "truncated-json", "binary", "deeply-nested-json"],
)
async def test_a_success_that_is_not_json_is_a_response_validation_error(
    mode: str, operation: str, content: bytes, in_message: str
) -> None:
    api = _api(mode, _always(200, content, **{"X-Request-ID": "req_bad"}))

    with pytest.raises(APIResponseValidationError) as caught:
        await _call(api, operation)

    error = caught.value
    assert in_message in str(error)
    assert "The server answered 200" in str(error)
    assert str(error).endswith("(request id req_bad)")
    assert error.status_code == 200
    assert error.request_id == "req_bad"
    assert error.response.content == content
    assert error.body == ("" if not content else error.response.text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("operation", "body", "in_message"),
    [
        ("get", [record_json()], "LearningRecord"),
        ("create", [], "LearningRecord"),
        ("get", "per_1", "LearningRecord"),
        ("get", None, "LearningRecord"),
        ("list", [record_json()], "page of LearningRecord"),
        ("list", {"records": [record_json()]}, "data"),
        ("list", {"data": {"id": "per_1"}}, "data"),
        ("list", {"data": [{"id": "per_1"}], "next_cursor": None}, "data.0.tenant_id"),
        ("list", {"data": [], "next_cursor": 17}, "next_cursor"),
    ],
    ids=[
        "get-array",
        "create-empty-array",
        "get-string",
        "get-null",
        "list-array",
        "list-no-data",
        "list-data-object",
        "list-record-missing-fields",
        "list-cursor-number",
    ],
)
async def test_json_of_the_wrong_shape_is_a_response_validation_error(
    mode: str, operation: str, body: object, in_message: str
) -> None:
    api = _api(mode, lambda request: json_response(200, body))

    with pytest.raises(APIResponseValidationError) as caught:
        await _call(api, operation)

    assert in_message in str(caught.value)
    assert caught.value.body == body


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("missing", ["id", "tenant_id", "created_at", "updated_at"])
async def test_a_record_without_a_server_owned_essential_is_a_response_validation_error(
    mode: str, missing: str
) -> None:
    body = record_json()
    del body[missing]
    api = _api(mode, lambda request: json_response(201, body))

    with pytest.raises(APIResponseValidationError) as caught:
        await api.create()

    assert f"{missing}: Field required" in str(caught.value)
    assert caught.value.status_code == 201


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", [2026, 3, 1]),
        ("created_at", "yesterday"),
        ("updated_at", "2026-03-01T09:30:00"),
        ("is_deleted", "maybe"),
        ("score", "high"),
        ("passed", "perhaps"),
        ("schema_version", "v1"),
        ("id", 7),
        ("title", ["a", "b"]),
    ],
)
async def test_a_field_of_the_wrong_type_is_a_response_validation_error_naming_it(
    mode: str, field: str, value: object
) -> None:
    api = _api(mode, lambda request: json_response(200, record_json(**{field: value})))

    with pytest.raises(APIResponseValidationError) as caught:
        await api.get("per_1")

    assert str(caught.value).split(": ", 1)[1].startswith(field)
    assert isinstance(caught.value.body, dict)


async def test_many_broken_fields_are_summarised_not_all_listed() -> None:
    broken = {name: ["x"] for name in ("id", "tenant_id", "title", "provider", "score", "passed")}
    api = _api("sync", lambda request: json_response(200, record_json(**broken)))

    with pytest.raises(APIResponseValidationError, match="and 1 more"):
        await api.get("per_1")


@pytest.mark.parametrize("mode", MODES)
async def test_a_multi_megabyte_success_body_gives_a_short_message(mode: str) -> None:
    content = b"<html>" + b"x" * (5 * 1024 * 1024) + b"</html>"
    api = _api(mode, _always(200, content))

    with pytest.raises(APIResponseValidationError) as caught:
        await api.get("per_1")

    assert len(str(caught.value)) < 400
    assert len(caught.value.response.content) == len(content)


@pytest.mark.parametrize("mode", MODES)
async def test_a_multi_megabyte_list_of_records_parses(mode: str) -> None:
    records = [record_json(id=f"per_{i:026d}", title="x" * 400) for i in range(5000)]
    api = _api(mode, lambda request: json_response(200, {"data": records, "next_cursor": None}))

    page = await api.first_page()

    assert len(page.data) == 5000
    assert len(page.http_response.content) > 2 * 1024 * 1024


# -- error statuses with odd bodies ------------------------------------------------------------


class OddError(NamedTuple):
    status: int
    content: bytes
    content_type: str
    cls: type[APIStatusError]
    message: str
    body: object


ODD_ERRORS = [
    pytest.param(
        OddError(
            502,
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>Bad Gateway</h1><p>cloudflare</p></body></html>",
            "text/html",
            InternalServerError,
            "502 Bad Gateway: the server sent an HTML page: 502 Bad Gateway",
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            "<body><h1>Bad Gateway</h1><p>cloudflare</p></body></html>",
        ),
        id="html-502",
    ),
    pytest.param(
        OddError(
            403,
            b"<html><body><h1>Access denied</h1><p>by corporate proxy</p></body></html>",
            "text/html",
            PermissionDeniedError,
            "403 Forbidden: the server sent an HTML page: Access denied by corporate proxy",
            "<html><body><h1>Access denied</h1><p>by corporate proxy</p></body></html>",
        ),
        id="html-403",
    ),
    pytest.param(
        OddError(
            500,
            b"Internal Server Error",
            "text/plain",
            InternalServerError,
            "500 Internal Server Error: Internal Server Error",
            "Internal Server Error",
        ),
        id="text",
    ),
    pytest.param(
        OddError(
            503,
            b"",
            "text/plain",
            InternalServerError,
            "503 Service Unavailable: the server sent an empty body",
            "",
        ),
        id="empty",
    ),
    pytest.param(
        OddError(
            500,
            b'{"detail": "database unavailable", "trace',
            "application/json",
            InternalServerError,
            '500 Internal Server Error: {"detail": "database unavailable", "trace',
            '{"detail": "database unavailable", "trace',
        ),
        id="truncated-json",
    ),
    pytest.param(
        OddError(
            400,
            b'[{"loc": ["body", "score"], "msg": "bad"}]',
            "application/json",
            BadRequestError,
            '400 Bad Request: the server sent [{"loc": ["body", "score"], "msg": "bad"}]',
            [{"loc": ["body", "score"], "msg": "bad"}],
        ),
        id="array",
    ),
    pytest.param(
        OddError(
            404,
            b'"no such record"',
            "application/json",
            NotFoundError,
            "404 Not Found: no such record",
            "no such record",
        ),
        id="json-string",
    ),
    pytest.param(
        OddError(
            409,
            b"null",
            "application/json",
            ConflictError,
            "409 Conflict: the server sent null",
            None,
        ),
        id="null",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("odd", ODD_ERRORS)
async def test_an_error_status_with_an_odd_body_is_typed_and_readable(
    mode: str, odd: OddError
) -> None:
    handler = _always(odd.status, odd.content, **{"Content-Type": odd.content_type})
    api = _api(mode, handler, max_retries=0)

    with pytest.raises(APIStatusError) as caught:
        await api.list()

    error = caught.value
    assert type(error) is odd.cls
    assert error.status_code == odd.status
    assert str(error) == odd.message
    assert error.body == odd.body


@pytest.mark.parametrize("mode", MODES)
async def test_a_multi_megabyte_error_page_gives_a_short_message_and_the_whole_body(
    mode: str,
) -> None:
    content = b"<html><body>" + b"<p>stack frame</p>" * 300_000 + b"</body></html>"
    api = _api(mode, _always(500, content, **{"Content-Type": "text/html"}), max_retries=0)

    with pytest.raises(InternalServerError) as caught:
        await api.get("per_1")

    assert len(str(caught.value)) < 300
    assert caught.value.body == content.decode()


@pytest.mark.parametrize("mode", MODES)
async def test_an_error_body_in_another_charset_is_decoded(mode: str) -> None:
    content = "Zugriff verweigert: Gebühr fällig".encode("latin-1")
    api = _api(
        mode,
        _always(402, content, **{"Content-Type": "text/plain; charset=latin-1"}),
        max_retries=0,
    )

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    assert "Gebühr fällig" in str(caught.value)


# -- Retry-After that is missing or garbage ------------------------------------------------------


def _flaky(status: int, retry_after: str | None, failures: int = 1) -> Handler:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= failures:
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            return httpx.Response(status, content=b"slow down", headers=headers)
        return json_response(200, {"data": [], "next_cursor": None})

    return handler


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "retry_after", [None, "", "soon", "Tomorrow at noon", "12abc", "inf", "-inf", "NaN"]
)
async def test_a_missing_or_garbage_retry_after_falls_back_to_backoff(
    mode: str, sleeps: list[float], retry_after: str | None
) -> None:
    events: list[RetryEvent] = []
    api = _api(
        mode, _flaky(429, retry_after), retry_policy=RetryPolicy(jitter=0.0, on_retry=events.append)
    )

    await api.list()

    assert len(events) == 1
    if retry_after in ("inf",):
        assert sleeps == [60.0]
    elif retry_after in ("-inf",):
        assert sleeps == [0.0]
    else:
        assert sleeps == [0.5]


@pytest.mark.parametrize("mode", MODES)
async def test_a_429_without_retry_after_raises_after_the_retries(
    mode: str, sleeps: list[float]
) -> None:
    api = _api(mode, _flaky(429, None, failures=10), retry_policy=RetryPolicy(jitter=0.0))

    with pytest.raises(RateLimitError) as caught:
        await api.list()

    assert sleeps == [0.5, 1.0]
    assert caught.value.body == "slow down"
    assert str(caught.value) == "429 Too Many Requests: slow down. Failed after 3 attempts."


# -- pagination loops ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_page_whose_next_cursor_repeats_the_previous_ends_with_a_clear_error(
    mode: str,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        next_cursor = "page-2" if cursor in (None, "page-2") else None
        return json_response(200, {"data": [record_json()], "next_cursor": next_cursor})

    api = _api(mode, handler)

    with pytest.raises(APIResponseValidationError) as caught:
        await api.list()

    message = str(caught.value)
    assert "'page-2'" in message
    assert "already used" in message
    assert "forever" in message
    assert caught.value.body == {"data": [record_json()], "next_cursor": "page-2"}
    assert caught.value.request_id == "req_mock"
    assert caught.value.response.request.url.params["cursor"] == "page-2"


@pytest.mark.parametrize("mode", MODES)
async def test_a_repeated_cursor_is_quoted_escaped_and_clipped(mode: str) -> None:
    loop = "\x1b[31m" + "c" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, {"data": [record_json()], "next_cursor": loop})

    api = _api(mode, handler)

    with pytest.raises(APIResponseValidationError) as caught:
        await api.list()

    message = str(caught.value)
    assert "\x1b" not in message
    assert "'\\x1b[31mccc" in message
    assert len(message) < 400


@pytest.mark.parametrize("mode", MODES)
async def test_a_redirect_to_a_login_page_is_a_status_error_not_followed(mode: str) -> None:
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(
            302,
            headers={"Location": "https://sso.example/login", "Content-Type": "text/html"},
            content=b"<html><head><title>Sign in - Corp SSO</title></head></html>",
        )

    api = _api(mode, handler)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    assert str(caught.value) == (
        "302 Found: the server answered with a redirect to 'https://sso.example/login', which "
        "the client does not follow (the token is never sent on to another address); check "
        "base_url (the server sent an HTML page: Sign in - Corp SSO)"
    )
    assert caught.value.response.headers["Location"] == "https://sso.example/login"
    assert len(calls) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_redirect_over_the_socket_says_where_it_pointed(mode: str) -> None:
    def answer(conn: socket.socket, request_head: bytes) -> None:
        conn.sendall(
            raw_server.head(
                "301 Moved Permanently",
                {"Location": "https://edm.example.com/api/v1/", "Content-Length": "0"},
            )
        )

    with raw_server.serve(answer) as url:
        api = Api(socket_client(mode, url))
        with pytest.raises(APIStatusError) as caught:
            await api.get("per_1")
        await api.close()

    assert caught.value.status_code == 301
    assert "redirect to 'https://edm.example.com/api/v1/'" in str(caught.value)
    assert "does not follow" in str(caught.value)
    assert "base_url" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
async def test_a_redirect_location_is_clipped_and_its_control_characters_escaped(
    mode: str,
) -> None:
    # C1 controls: 0x9b is a one-byte CSI to some terminals. (A Location with C0 controls such
    # as ESC is refused by httpx itself as an invalid URL, with the character escaped.)
    location = b"https://evil.example/\x9b31mred\x85" + b"a" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(308, headers=[(b"Location", location)])

    api = _api(mode, handler)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    message = str(caught.value)
    assert "\x9b" not in message
    assert "\x85" not in message
    assert "https://evil.example/\\x9b31mred\\x85aaa" in message
    assert "aaaa…'" in message
    assert len(message) < 500


@pytest.mark.parametrize("mode", MODES)
async def test_a_redirect_without_a_location_says_so(mode: str) -> None:
    api = _api(mode, _always(302, b""))

    with pytest.raises(APIStatusError, match="a redirect without a Location"):
        await api.get("per_1")


@pytest.mark.parametrize("mode", MODES)
async def test_an_error_body_nested_too_deep_to_decode_is_kept_as_text(mode: str) -> None:
    api = _api(mode, _always(500, DEEP_JSON, **{"Content-Type": "application/json"}), max_retries=0)

    with pytest.raises(InternalServerError) as caught:
        await api.get("per_1")

    assert str(caught.value).startswith("500 Internal Server Error: [[[")
    assert len(str(caught.value)) < 300
    assert caught.value.body == DEEP_JSON.decode()
