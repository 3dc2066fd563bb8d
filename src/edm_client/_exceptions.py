"""Every error the SDK raises. Catch `EDMError` to catch them all.

    EDMError
    ├── InvalidRequestError (also a ValueError)   bad arguments, raised before any request
    └── APIError                                  something went wrong talking to the API
        ├── APIConnectionError                    no response: DNS, refused, reset, TLS
        │   └── APITimeoutError                   no response in time
        ├── APIResponseValidationError            a 2xx whose body is not what the contract says
        │   └── ResponseTooLargeError             a body larger than max_response_bytes
        └── APIStatusError                        a 4xx or 5xx response
            ├── BadRequestError                   400
            ├── AuthenticationError               401
            ├── PermissionDeniedError             403
            ├── NotFoundError                     404
            ├── ConflictError                     409
            ├── UnprocessableEntityError          422 (`.errors` lists the fields)
            ├── RateLimitError                    429
            └── InternalServerError               500 and above

Errors pickle and copy without the request's `Authorization` header, and the token is
scrubbed from messages and bodies even when a server echoes it back.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EDMError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnprocessableEntityError",
]

_REDACTED = "[redacted]"
_MIN_SECRET_LENGTH = 8
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_ENCODING_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class EDMError(Exception):
    """Root of every error raised by edm-client."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        secrets = _secrets_of(getattr(self, "request", None))
        state = {key: _redact(value, secrets) for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args, state))


class InvalidRequestError(EDMError, ValueError):
    """An argument the contract rejects; raised before anything is sent.

    `param` names the argument, e.g. `"score"`.
    """

    param: str | None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class APIError(EDMError):
    """A request was sent and did not give a usable result.

    `request` is the last `httpx.Request` sent (its `Authorization` header is redacted when
    pickled); `body` is the decoded response body (JSON when it parses, else text), or None.
    """

    request: httpx.Request | None
    body: object

    def __init__(self, message: str, *, request: httpx.Request | None, body: object = None) -> None:
        # A proxy or debug page may echo the request's headers back: keep the token out.
        secrets = _secrets_of(request)
        super().__init__(_scrub(message, secrets))
        self.request = request
        self.body = _scrub(body, secrets)


class APIConnectionError(APIError):
    """No response arrived: the connection failed, was refused or was reset."""


class APITimeoutError(APIConnectionError):
    """No response arrived within the timeout."""


class _ResponseError(APIError):
    response: httpx.Response
    status_code: int
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request=response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id = request_id


class APIResponseValidationError(_ResponseError):
    """A successful response whose body does not match the contract (not JSON, fields missing).

    `.response`, `.status_code`, `.request_id` and `.body` (the text received) show what came.
    """


class ResponseTooLargeError(APIResponseValidationError):
    """The body passed the client's `max_response_bytes` once decoded; reading stopped there.

    `.limit` is that setting, in bytes. Not retried: the same request would get the same body.
    """

    limit: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        request_id: str | None = None,
        limit: int,
    ) -> None:
        super().__init__(message, response=response, body=body, request_id=request_id)
        self.limit = limit


class APIStatusError(_ResponseError):
    """The API answered with an error status. Subclasses narrow it by status code.

    `.status_code`, `.request_id`, `.body` (parsed JSON, else text) and `.response` say what
    the server answered.
    """


class BadRequestError(APIStatusError):
    """400: the request was malformed, for example a cursor the server could not decode."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, malformed or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such record, or not visible to this tenant or application."""


class ConflictError(APIStatusError):
    """409: the idempotency key was already used with a different body."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed. `.errors` lists `{"field", "code", "message"}` per broken rule."""

    errors: list[dict[str, Any]]

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, request_id=request_id)
        raw = body.get("errors") if isinstance(body, dict) else None
        self.errors = [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


class RateLimitError(APIStatusError):
    """429: too many requests. Retried automatically; raised once retries run out."""


class InternalServerError(APIStatusError):
    """500 or above: the server or a gateway failed. Retried automatically for 500-504."""


def _rebuild(cls: type[EDMError], args: tuple[Any, ...], state: dict[str, Any]) -> EDMError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def _secrets_of(request: httpx.Request | None) -> list[str]:
    """The credentials `request` carries (whole header values and the part after the scheme),
    longest first. Fragments too short to be a credential are left alone, so that scrubbing
    cannot mangle a message."""
    if request is None:
        return []
    found: set[str] = set()
    for name, value in request.headers.items():
        if name.lower() in _SECRET_HEADERS:
            found.add(value.strip())
            found.add(value.partition(" ")[2].strip())
    return sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def _scrub(value: Any, secrets: list[str]) -> Any:
    """`value` (text, or decoded JSON) with every secret replaced by `[redacted]`."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, _REDACTED)
        return value
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    return value


def _redact(value: object, secrets: list[str]) -> object:
    if isinstance(value, httpx.Response):
        return _redacted_response(value, secrets)
    if isinstance(value, httpx.Request):
        return _redacted_request(value)
    return _scrub(value, secrets)


def _redacted_request(request: httpx.Request) -> httpx.Request:
    headers = [
        (name, _REDACTED if name.lower() in _SECRET_HEADERS else value)
        for name, value in request.headers.multi_items()
    ]
    try:
        content = request.content
    except httpx.RequestNotRead:
        content = b""
    return httpx.Request(request.method, request.url, headers=headers, content=content)


def _redacted_response(response: httpx.Response, secrets: list[str]) -> httpx.Response:
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    for secret in secrets:
        content = content.replace(secret.encode(), _REDACTED.encode())
    try:
        request: httpx.Request | None = _redacted_request(response.request)
    except RuntimeError:  # a Response built without a request
        request = None
    # The content is already decoded, so the encoding headers no longer describe it.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in _ENCODING_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
    )
