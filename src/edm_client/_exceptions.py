"""Every error the SDK raises. Catch `EDMError` to catch them all.

    EDMError
    ├── InvalidRequestError (also a ValueError)   bad arguments, raised before any request
    ├── HookError                                 a hook passed as `hooks=` raised
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
            ├── RateLimitError                    429 (`.retry_after`, `.rate_limit`)
            └── InternalServerError               500 and above

Errors pickle and copy without the request's `Authorization` header, and the token is
scrubbed from messages and bodies even when a server echoes it back (whole or in part).
Messages show control characters a server sent as escapes (`\\x1b`), so printing or logging
an error cannot drive a terminal or forge a log line. `.body` keeps the server's text as it
came (without the token) and `.response` is the response as received.
"""

# No `from __future__ import annotations` here: the public errors say they live in
# `edm_client` (see __init__), where their annotations' names would not resolve as strings.
from typing import Any

import httpx

from edm_client._ratelimit import RateLimit, parse_rate_limit, parse_retry_after
from edm_client._sanitize import (
    redacted_request,
    redacted_response,
    safe_line,
    scrub,
    secrets_of,
)

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
    "HookError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnprocessableEntityError",
]


class EDMError(Exception):
    """Root of every error raised by edm-sdk."""

    message: str
    """The message, as `str(error)` shows it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        secrets = secrets_of(getattr(self, "request", None))
        state = {key: _redact(value, secrets) for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args, state))


class InvalidRequestError(EDMError, ValueError):
    """An argument the contract rejects; raised before anything is sent.

    `param` names the argument, e.g. `"score"`.
    """

    param: str | None
    """The argument that was refused, e.g. `"score"`; None when it is not one argument."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class HookError(EDMError):
    """One of your hooks (`Client(hooks=...)`) raised, and the call stopped there.

    `.hook` says which (`"before_attempt"`, `"after_response"` or `"after_outcome"`),
    `.operation` names the call (e.g. `"learning_records.create"`) and `__cause__` is the
    exception the hook raised. The message says whether the request had been sent: nothing is
    sent for an attempt whose `before_attempt` hook raised.
    """

    hook: str
    """Which hook raised: `"before_attempt"`, `"after_response"` or `"after_outcome"`."""
    operation: str
    """The call it stopped, e.g. `"learning_records.create"`."""

    def __init__(
        self, message: str, *, hook: str, operation: str, request: httpx.Request | None = None
    ) -> None:
        # Your exception's text may quote the request's headers: keep the token out.
        super().__init__(safe_line(message, secrets_of(request)))
        self.hook = hook
        self.operation = operation


class APIError(EDMError):
    """A request was sent and did not give a usable result.

    `request` is the last `httpx.Request` sent (its `Authorization` header is redacted when
    pickled); `body` is the decoded response body (JSON when it parses, else text), or None.
    """

    request: httpx.Request | None
    """The last request sent; its `Authorization` header is redacted when pickled."""
    body: object
    """The decoded response body (JSON when it parses, else text), or None."""

    def __init__(self, message: str, *, request: httpx.Request | None, body: object = None) -> None:
        # A proxy or debug page may echo the request's headers back: keep the token out. The
        # message builders scrub each part before clipping it; this catches the rest.
        secrets = secrets_of(request)
        super().__init__(safe_line(message, secrets))
        self.request = request
        self.body = scrub(body, secrets)


class APIConnectionError(APIError):
    """No response arrived: the connection failed, was refused or was reset."""


class APITimeoutError(APIConnectionError):
    """No response arrived within the timeout."""


class _ResponseError(APIError):
    response: httpx.Response
    """The `httpx.Response` received (its body already read, except on a
    `ResponseTooLargeError`)."""
    status_code: int
    """The HTTP status of the response, e.g. 404."""
    request_id: str | None
    """The server's id for the request (`X-Request-ID`, else from the body); quote it when
    you report a problem."""

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
    `.response` has the status and headers; its body was never read whole, so `.response.text`
    raises `httpx.ResponseNotRead`.
    """

    limit: int | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        request_id: str | None = None,
        limit: int | None = None,
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
    """One `{"field", "code", "message"}` dict per broken rule, from the problem body."""

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
    """429: too many requests. Retried automatically; raised once retries run out.

    `.retry_after` is the wait the server asked for, in seconds (from `Retry-After`, sent as
    seconds or as an HTTP date), and `.rate_limit` the limit its headers announced; each is
    None when the server sent none or sent one that does not parse.
    """

    retry_after: float | None
    """Seconds the server asked to wait (`Retry-After`, seconds or an HTTP date), or None."""
    rate_limit: RateLimit | None
    """The rate limit the response's headers announced, or None."""

    def __init__(self, message: str, **kwargs: Any) -> None:  # the arguments of APIStatusError
        super().__init__(message, **kwargs)
        # Read now: a date is turned into seconds from when the response arrived.
        self.retry_after = parse_retry_after(self.response.headers.get("retry-after"))
        self.rate_limit = parse_rate_limit(self.response.headers)


class InternalServerError(APIStatusError):
    """500 or above: the server or a gateway failed. Retried automatically for 500-504."""


def _rebuild(cls: type[EDMError], args: tuple[Any, ...], state: dict[str, Any]) -> EDMError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def _redact(value: object, secrets: tuple[str, ...]) -> object:
    if isinstance(value, httpx.Response):
        return redacted_response(value)
    if isinstance(value, httpx.Request):
        return redacted_request(value)
    return scrub(value, secrets)
