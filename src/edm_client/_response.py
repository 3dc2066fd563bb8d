"""Turning an `httpx.Response` into a result or a typed error, and the raw-response wrapper."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpx
import pydantic

from edm_client._exceptions import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EDMError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from edm_client._ratelimit import RateLimit, parse_rate_limit
from edm_client._sanitize import (
    MAX_TEXT_SCANNED,
    identifier,
    prose,
    redacted_response,
    scrub,
    secrets_of,
)

__all__ = ["APIResponse", "parse_json", "request_id_of", "secrets_of_response", "status_error"]

T = TypeVar("T")

REQUEST_ID_HEADER = "x-request-id"
_MAX_TEXT_IN_MESSAGE = 200
_MAX_REASON_IN_MESSAGE = 64
_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]+>")


def request_id_of(response: httpx.Response, body: object = None) -> str | None:
    """The request id from the `X-Request-ID` header, else from a JSON error body, safe to
    write: the token scrubbed, control characters escaped, at most 128 characters."""
    request_id: str | None = response.headers.get(REQUEST_ID_HEADER)
    if request_id is None and isinstance(body, dict):
        found = body.get("request_id")
        request_id = found if isinstance(found, str) else None
    return None if request_id is None else identifier(request_id, secrets_of_response(response))


def secrets_of_response(response: httpx.Response) -> tuple[str, ...]:
    try:
        return secrets_of(response.request)
    except RuntimeError:  # a Response built without a request
        return ()


def decode_body(response: httpx.Response) -> object:
    """The body as JSON when it parses, else as text (empty string when there is none)."""
    content = response.content
    if not content:
        return ""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python goes
        return response.text


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a 4xx/5xx response, with one readable sentence as its message."""
    secrets = secrets_of_response(response)
    # Scrubbed before any part of it is clipped into the message (see `_sanitize`).
    body = scrub(decode_body(response), secrets)
    request_id = request_id_of(response, body)
    status = response.status_code
    cls = _STATUS_ERRORS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    reason = prose(response.reason_phrase or "Error", secrets, _MAX_REASON_IN_MESSAGE)
    said = _server_message(body, response, secrets)
    if 300 <= status < 400:
        said = _redirect(response, said, secrets)
    message = f"{status} {reason}: {said}"
    if request_id:
        message += f" (request id {request_id})"
    return cls(message, response=response, body=body, request_id=request_id)


def _server_message(body: object, response: httpx.Response, secrets: tuple[str, ...]) -> str:
    if isinstance(body, dict):
        for candidate in (
            body.get("detail"),
            _nested_message(body.get("error")),
            body.get("message"),
            body.get("title"),
        ):
            if isinstance(candidate, str) and candidate.strip():
                return _clip(candidate, secrets)
        return _clip(f"the server sent {json.dumps(body)}", secrets)
    if isinstance(body, str):
        body = body[:MAX_TEXT_SCANNED]
        if not body.strip():
            return "the server sent an empty body"
        if "html" in response.headers.get("content-type", "") or body.lstrip().startswith("<"):
            title = _HTML_TITLE.search(body)
            text = title.group(1) if title else _HTML_TAG.sub(" ", body)
            return _clip(f"the server sent an HTML page: {text}", secrets)
        return _clip(body, secrets)
    return _clip(f"the server sent {json.dumps(body)}", secrets)


def _redirect(response: httpx.Response, said: str, secrets: tuple[str, ...]) -> str:
    """What a user with a wrong base URL needs: that redirects are not followed, and where to."""
    location = response.headers.get("location")
    if location is None:
        where = "a redirect without a Location"
    else:
        where = f"a redirect to '{identifier(location, secrets, _MAX_TEXT_IN_MESSAGE)}'"
    return (
        f"the server answered with {where}, which the client does not follow (the token is "
        f"never sent on to another address); check base_url ({said})"
    )


def _nested_message(error: object) -> object:
    if isinstance(error, dict):
        return error.get("message")
    return error


def _clip(text: str, secrets: tuple[str, ...]) -> str:
    return prose(text, secrets, _MAX_TEXT_IN_MESSAGE)


def parse_json(response: httpx.Response, adapter: pydantic.TypeAdapter[T], what: str) -> T:
    """Validate the body straight from bytes into `what`, or raise APIResponseValidationError."""
    try:
        return adapter.validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise _validation_error(response, exc, what) from None


def _validation_error(
    response: httpx.Response, exc: pydantic.ValidationError, what: str
) -> APIResponseValidationError:
    secrets = secrets_of_response(response)
    body = scrub(decode_body(response), secrets)
    request_id = request_id_of(response, body)
    problems = exc.errors(include_url=False, include_input=False)
    if problems and problems[0]["type"] == "json_invalid":
        shown = _clip(response.text, secrets) if response.content else "an empty body"
        detail = f"the body is not valid JSON ('{shown}')" if response.content else shown
    else:
        detail = "; ".join(f"{_location(e['loc'], secrets)}: {e['msg']}" for e in problems[:5])
        if len(problems) > 5:
            detail += f"; and {len(problems) - 5} more"
    message = (
        f"The server answered {response.status_code} but its body is not a valid {what}: {detail}"
    )
    if request_id:
        message += f" (request id {request_id})"
    return APIResponseValidationError(message, response=response, body=body, request_id=request_id)


def _location(loc: tuple[int | str, ...], secrets: tuple[str, ...]) -> str:
    # A location may hold keys the server chose.
    return identifier(".".join(str(part) for part in loc), secrets) if loc else "body"


class APIResponse(Generic[T]):
    """The HTTP response behind a call, from `.with_raw_response`; `.parse()` gives the result."""

    def __init__(self, http_response: httpx.Response, parser: Callable[[httpx.Response], T]):
        self.http_response = http_response
        self._parser = parser
        self._parsed: Any = _UNSET
        # Read now: a reset sent as a Unix time is turned into seconds from the response.
        self._rate_limit = parse_rate_limit(http_response.headers)

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.http_response)

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit the response's headers announce (`RateLimit`, `RateLimit-Policy`,
        `RateLimit-Limit`/`-Remaining`/`-Reset` or `X-RateLimit-*`); None when they announce
        none, or only values that do not parse."""
        return self._rate_limit

    def parse(self) -> T:
        """The typed result the plain method would have returned (parsed once, then cached)."""
        if self._parsed is _UNSET:
            self._parsed = self._parser(self.http_response)
        result: T = self._parsed
        return result

    def __repr__(self) -> str:
        request = self.http_response.request
        return (
            f"<APIResponse [{self.status_code}] {request.method} {request.url}"
            f" request_id={self.request_id!r}>"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled parsed, since the parser may hold the client; the response is a copy
        # without the token, and a result that failed to parse fails again when loaded.
        try:
            outcome: tuple[bool, object] = (True, self.parse())
        except EDMError as error:
            outcome = (False, error)
        parser = functools.partial(_replay, outcome)
        return (APIResponse, (redacted_response(self.http_response), parser))


def _replay(outcome: tuple[bool, Any], response: httpx.Response) -> Any:
    parsed, value = outcome
    if not parsed:
        raise value
    return value


_UNSET: Any = object()
