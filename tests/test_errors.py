"""The error tree, the class chosen for each status, and a readable message for every body."""

from __future__ import annotations

import copy
import pickle
from typing import Any, NamedTuple

import httpx
import pytest

from _helpers import (
    Api,
    api_fixture,
    fake_api,
    inprocess_only,
    json_response,
    make_client,
    sleeps_fixture,
)
from edm_client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EDMError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from edm_client.testing import FakeServer

api = api_fixture()
sleeps = sleeps_fixture()

PROBLEM = {
    "type": "https://errors.edm/validation",
    "title": "Validation failed",
    "status": 422,
    "detail": "score: must be between 0 and 100",
    "request_id": "req_body",
    "errors": [{"field": "score", "code": "out_of_range", "message": "must be between 0 and 100"}],
}


def test_the_error_tree_is_as_documented() -> None:
    assert issubclass(InvalidRequestError, EDMError)
    assert issubclass(InvalidRequestError, ValueError)
    assert issubclass(APIError, EDMError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(APIStatusError, APIError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert not issubclass(APIResponseValidationError, APIStatusError)


STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (405, APIStatusError),
    (409, ConflictError),
    (410, APIStatusError),
    (418, APIStatusError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (501, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (599, InternalServerError),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_each_status_raises_its_error_class(
    mode: str, status: int, cls: type[APIStatusError]
) -> None:
    body = {"detail": "it went wrong", "request_id": "req_body"}
    api = Api(
        make_client(
            mode,
            handler=lambda request: json_response(status, body, headers={"X-Request-ID": "req_1"}),
            max_retries=0,
        )
    )

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.request_id == "req_1"
    assert error.body == body
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == status
    assert error.request is not None
    assert error.request.url.path.endswith("/per_1")
    assert str(error).startswith(f"{status} ")
    assert "it went wrong" in str(error)
    assert str(error).endswith("(request id req_1)")


def _error_for(
    mode: str, status: int, content: bytes, headers: dict[str, str] | None = None
) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers or {})

    return Api(make_client(mode, handler=handler, max_retries=0))


class Shape(NamedTuple):
    status: int
    content: bytes
    headers: dict[str, str]
    message: str
    body_type: type


BODY_SHAPES = [
    pytest.param(
        Shape(
            422,
            b'{"type": "https://errors.edm/validation", "title": "Validation failed",'
            b' "status": 422, "detail": "score: must be between 0 and 100",'
            b' "request_id": "req_body"}',
            {"Content-Type": "application/problem+json", "X-Request-ID": "req_h"},
            "422 Unprocessable Entity: score: must be between 0 and 100 (request id req_h)",
            dict,
        ),
        id="problem+json",
    ),
    pytest.param(
        Shape(
            400,
            b'{"detail": "cursor expired"}',
            {"Content-Type": "application/json", "X-Request-ID": "req_h"},
            "400 Bad Request: cursor expired (request id req_h)",
            dict,
        ),
        id="detail",
    ),
    pytest.param(
        Shape(
            403,
            b'{"error": {"message": "scope learning:write missing", "code": "forbidden"}}',
            {"Content-Type": "application/json", "X-Request-ID": "req_h"},
            "403 Forbidden: scope learning:write missing (request id req_h)",
            dict,
        ),
        id="error.message",
    ),
    pytest.param(
        Shape(
            403,
            b'{"error": "forbidden for this app"}',
            {"Content-Type": "application/json"},
            "403 Forbidden: forbidden for this app",
            dict,
        ),
        id="error string",
    ),
    pytest.param(
        Shape(
            409,
            b'{"message": "already exists"}',
            {"Content-Type": "application/json"},
            "409 Conflict: already exists",
            dict,
        ),
        id="message",
    ),
    pytest.param(
        Shape(
            404,
            b'{"title": "Not found", "status": 404}',
            {"Content-Type": "application/problem+json"},
            "404 Not Found: Not found",
            dict,
        ),
        id="title only",
    ),
    pytest.param(
        Shape(
            418,
            b'{"code": 7}',
            {"Content-Type": "application/json"},
            '418 I\'m a teapot: the server sent {"code": 7}',
            dict,
        ),
        id="other json object",
    ),
    pytest.param(
        Shape(
            400,
            b'["bad", "request"]',
            {"Content-Type": "application/json"},
            '400 Bad Request: the server sent ["bad", "request"]',
            list,
        ),
        id="json array",
    ),
    pytest.param(
        Shape(
            502,
            b"upstream connect error or disconnect/reset before headers",
            {"Content-Type": "text/plain", "X-Request-ID": "req_h"},
            "502 Bad Gateway: upstream connect error or disconnect/reset before headers"
            " (request id req_h)",
            str,
        ),
        id="plain text",
    ),
    pytest.param(
        Shape(
            503,
            b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
            b"<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
            b"<hr><center>nginx</center></body></html>",
            {"Content-Type": "text/html"},
            "503 Service Unavailable: the server sent an HTML page:"
            " 503 Service Temporarily Unavailable",
            str,
        ),
        id="html with title",
    ),
    pytest.param(
        Shape(
            500,
            b"<html><body><h1>Internal   Server Error</h1><p>Sorry</p></body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
            "500 Internal Server Error: the server sent an HTML page: Internal Server Error Sorry",
            str,
        ),
        id="html without title",
    ),
    pytest.param(
        Shape(
            504,
            b"",
            {"X-Request-ID": "req_h"},
            "504 Gateway Timeout: the server sent an empty body (request id req_h)",
            str,
        ),
        id="empty",
    ),
    pytest.param(
        Shape(
            500,
            b"  \r\n ",
            {},
            "500 Internal Server Error: the server sent an empty body",
            str,
        ),
        id="whitespace",
    ),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("shape", BODY_SHAPES)
async def test_every_error_body_gives_one_readable_sentence(mode: str, shape: Shape) -> None:
    api = _error_for(mode, shape.status, shape.content, shape.headers)

    with pytest.raises(APIStatusError) as caught:
        await api.get("per_1")

    assert str(caught.value) == shape.message
    assert caught.value.message == shape.message
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value.body, shape.body_type)
    assert caught.value.status_code == shape.status


async def test_the_request_id_comes_from_the_body_when_the_header_is_missing() -> None:
    api = _error_for("sync", 404, b'{"detail": "gone", "request_id": "req_from_body"}')

    with pytest.raises(NotFoundError) as caught:
        await api.get("per_1")

    assert caught.value.request_id == "req_from_body"
    assert str(caught.value).endswith("(request id req_from_body)")


async def test_a_long_text_body_is_clipped_in_the_message_but_kept_whole_in_body() -> None:
    text = "the proxy says no. " * 100
    api = _error_for("sync", 502, text.encode(), {"Content-Type": "text/plain"})

    with pytest.raises(InternalServerError) as caught:
        await api.get("per_1")

    assert len(str(caught.value)) < 260
    assert str(caught.value).endswith("…")
    assert caught.value.body == text


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_unprocessable_entity_lists_its_field_errors(mode: str) -> None:
    api = Api(
        make_client(
            mode,
            handler=lambda request: json_response(422, PROBLEM),
            max_retries=0,
        )
    )

    with pytest.raises(UnprocessableEntityError) as caught:
        await api.get("per_1")

    assert caught.value.errors == PROBLEM["errors"]
    assert "score: must be between 0 and 100" in str(caught.value)


@pytest.mark.parametrize(
    "errors", [None, "not a list", [1, "x", {"field": "score"}]], ids=["none", "str", "mixed"]
)
async def test_unprocessable_entity_tolerates_odd_errors_members(errors: object) -> None:
    body = {"detail": "invalid", "errors": errors}
    api = Api(make_client("sync", handler=lambda request: json_response(422, body)))

    with pytest.raises(UnprocessableEntityError) as caught:
        await api.get("per_1")

    assert caught.value.errors == ([{"field": "score"}] if isinstance(errors, list) else [])


async def test_an_invalid_token_is_an_authentication_error(server: FakeServer) -> None:
    with server.client(token="not.a.jwt") as client, pytest.raises(AuthenticationError) as caught:
        client.performance.learning_records.get("per_1")

    assert caught.value.status_code == 401
    assert "expired bearer token" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_expired_token_is_an_authentication_error(server: FakeServer, mode: str) -> None:
    api = fake_api(server, mode, server.issue_token(expires_in=-1))

    with pytest.raises(AuthenticationError):
        await api.list()

    await api.close()


@inprocess_only
async def test_a_connection_failure_is_an_api_connection_error(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(exception=httpx.ConnectError, times=None)

    with pytest.raises(APIConnectionError) as caught:
        await api.get("per_1")

    error = caught.value
    assert type(error) is APIConnectionError
    assert "Could not reach the EDM API" in str(error)
    assert "GET https://" in str(error)
    assert error.request is not None


@inprocess_only
async def test_a_timeout_is_an_api_timeout_error(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(exception=httpx.ReadTimeout, times=None)

    with pytest.raises(APITimeoutError) as caught:
        await api.get("per_1")

    assert "timed out" in str(caught.value)
    assert "timeout=" in str(caught.value)


@inprocess_only
async def test_a_non_network_exception_from_the_transport_is_not_swallowed(api: Api) -> None:
    api.server.inject_fault(exception=RuntimeError("bug in a transport"))

    with pytest.raises(RuntimeError, match="bug in a transport"):
        await api.get("per_1")


# -- pickling and copying -----------------------------------------------------------------


async def _status_error(api: Api) -> APIStatusError:
    with pytest.raises(APIStatusError) as caught:
        await api.get("per_missing")
    return caught.value


@pytest.mark.parametrize("clone", [pickle.dumps, copy.copy, copy.deepcopy])
async def test_a_status_error_survives_pickling_and_copying_without_the_token(
    api: Api, clone: Any
) -> None:
    error = await _status_error(api)
    token = error.request.headers["Authorization"] if error.request else ""
    assert token.startswith("Bearer ")

    cloned = clone(error)
    if isinstance(cloned, bytes):
        assert token.encode() not in cloned
        assert token.split(" ")[1].encode() not in cloned
        cloned = pickle.loads(cloned)

    assert type(cloned) is NotFoundError
    assert str(cloned) == str(error)
    assert cloned.status_code == 404
    assert cloned.request_id == error.request_id
    assert cloned.body == error.body
    assert cloned.response.status_code == 404
    assert cloned.response.json() == error.response.json()
    assert cloned.request is not None
    assert cloned.request.headers["Authorization"] == "[redacted]"
    assert cloned.response.request.headers["Authorization"] == "[redacted]"


@pytest.mark.parametrize(
    "error",
    [
        EDMError("not configured"),
        InvalidRequestError("score: must be between 0 and 100", param="score"),
        APIConnectionError("refused", request=httpx.Request("GET", "https://edm.test/x")),
        APITimeoutError("timed out", request=None),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_other_error_pickles(error: EDMError) -> None:
    restored = pickle.loads(pickle.dumps(error))

    assert type(restored) is type(error)
    assert str(restored) == str(error)
    assert restored.__dict__.keys() == error.__dict__.keys()


async def test_a_422_from_the_fake_pickles_with_its_field_errors() -> None:
    api = Api(make_client("sync", handler=lambda request: json_response(422, PROBLEM)))
    with pytest.raises(UnprocessableEntityError) as caught:
        await api.get("per_1")

    restored = pickle.loads(pickle.dumps(caught.value))

    assert restored.errors == PROBLEM["errors"]


async def test_a_response_validation_error_pickles() -> None:
    api = Api(make_client("sync", handler=lambda request: httpx.Response(200, content=b"nope")))
    with pytest.raises(APIResponseValidationError) as caught:
        await api.get("per_1")

    restored = pickle.loads(pickle.dumps(caught.value))

    assert str(restored) == str(caught.value)
    assert restored.body == "nope"
    assert restored.status_code == 200


@inprocess_only
@pytest.mark.parametrize("exception", [httpx.ConnectError, httpx.ReadTimeout])
async def test_a_connection_error_pickles_without_the_token(
    api: Api, sleeps: list[float], exception: type[Exception]
) -> None:
    api.server.inject_fault(exception=exception, times=None)
    with pytest.raises(APIConnectionError) as caught:
        await api.get("per_1")
    token = api.server.requests[0].headers["Authorization"].removeprefix("Bearer ")

    data = pickle.dumps(caught.value)
    restored = pickle.loads(data)

    assert token.encode() not in data
    assert type(restored) is type(caught.value)
    assert str(restored) == str(caught.value)
    assert restored.request.headers["Authorization"] == "[redacted]"
    assert restored.request.url == caught.value.request.url
