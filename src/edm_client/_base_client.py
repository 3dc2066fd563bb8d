"""The request pipeline: auth, headers, timeouts, retries, error mapping and parsing.

The logic is written once, as a generator (`_BaseClient._attempts`) that yields what it needs
done: an `httpx.Request` to send, a float of seconds to sleep, or `_FETCH_TOKEN`. The sync and
async clients each drive it with their own I/O, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import ipaddress
import logging
import os
import platform
import ssl
import sys
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeAlias, TypeVar

import httpx
from typing_extensions import Self

from edm_client._exceptions import (
    APIConnectionError,
    APITimeoutError,
    EDMError,
    InvalidRequestError,
)
from edm_client._logging import logger
from edm_client._params import check_timeout
from edm_client._response import APIResponse, request_id_of, status_error
from edm_client._retry import RetryEvent, RetryPolicy
from edm_client._version import __version__

R = TypeVar("R")

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2
API_KEY_ENV: Final = "EDM_API_KEY"
BASE_URL_ENV: Final = "EDM_BASE_URL"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"

TokenProvider: TypeAlias = Callable[[], str | Awaitable[str]]
"""A zero-argument callable returning the current token (or, for AsyncClient, an awaitable)."""
ApiKey: TypeAlias = str | TokenProvider
Timeout: TypeAlias = float | httpx.Timeout
Parser: TypeAlias = Callable[[httpx.Response], R]

USER_AGENT: Final = (
    f"edm-client-python/{__version__} "
    f"(python {platform.python_version_tuple()[0]}.{platform.python_version_tuple()[1]}; "
    f"{platform.system().lower() or 'unknown'})"
)


class _FetchToken:
    """The step that asks the driver for the current token from the provider."""


_FETCH_TOKEN: Final = _FetchToken()
_Step: TypeAlias = httpx.Request | float | _FetchToken

# Set by `.with_raw_response` wrappers: the call returns an APIResponse instead of parsing.
raw_response_mode: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "edm_client_raw_response", default=False
)


@dataclass(frozen=True)
class RequestOptions:
    """One API call as a resource describes it, before auth and retries."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    content: bytes | None = None
    timeout: Timeout | None = None
    extra_headers: Mapping[str, str] | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        problem = _headers_problem(self.extra_headers)
        if problem:
            raise InvalidRequestError(f"extra_headers: {problem}", param="extra_headers")


class _BaseClient:
    _http: httpx.Client | httpx.AsyncClient
    _pool_owner: _BaseClient | None = None
    """For a `with_options` copy: the client whose pool it shares, kept alive with the copy."""

    def __init__(
        self,
        *,
        api_key: ApiKey | None,
        base_url: str | httpx.URL | None,
        timeout: Timeout,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV) or None
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or None
        missing = [
            f"pass {param}=... or set the {env} environment variable"
            for param, env, value in (
                ("api_key", API_KEY_ENV, api_key),
                ("base_url", BASE_URL_ENV, base_url),
            )
            if value is None
        ]
        if missing:
            raise EDMError("The EDM client is not configured: " + "; ".join(missing) + ".")
        assert api_key is not None
        assert base_url is not None
        if isinstance(api_key, str):
            api_key = api_key.strip()
            problem = _token_problem(api_key)
            if problem:
                raise EDMError(f"api_key {problem}; pass the token itself (or set {API_KEY_ENV}).")
        elif not callable(api_key):
            raise EDMError("api_key must be a token string or a callable that returns one.")

        self.base_url = _checked_base_url(base_url)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        policy = retry_policy or RetryPolicy()
        if max_retries is not None and max_retries != policy.max_retries:
            policy = RetryPolicy(**{**_policy_fields(policy), "max_retries": max_retries})
        self.retry_policy = policy
        self._api_key = api_key
        problem = _headers_problem(default_headers)
        if problem:
            raise EDMError(f"default_headers: {problem}")
        self._default_headers = dict(default_headers or {})
        self._headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self._default_headers,
        }
        self._url_prefix = str(self.base_url).rstrip("/")

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    def _copy_kwargs(
        self,
        timeout: Timeout | None,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None,
    ) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            "base_url": self.base_url,
            "timeout": self.timeout if timeout is None else timeout,
            "max_retries": max_retries,
            "default_headers": {**self._default_headers, **(default_headers or {})},
            "retry_policy": retry_policy or self.retry_policy,
        }

    def _build_request(self, options: RequestOptions, token: str) -> httpx.Request:
        headers = {**self._headers, "Authorization": f"Bearer {token}"}
        if options.content is not None:
            headers["Content-Type"] = "application/json"
        if options.idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = options.idempotency_key
        if options.extra_headers:
            headers.update(options.extra_headers)
        return self._http.build_request(
            options.method,
            self._url_prefix + options.path,
            params=options.params,
            content=options.content,
            headers=headers,
            timeout=self.timeout if options.timeout is None else options.timeout,
        )

    def _attempts(self, options: RequestOptions, parser: Parser[R]) -> Generator[_Step, Any, Any]:
        """Run one call to completion: yields steps for the driver, returns the result."""
        if self._http.is_closed:
            raise EDMError(
                f"This {type(self).__name__} is closed (by close() or the end of its `with` "
                "block), and so are its with_options() copies, which share its connections; "
                "create a new client."
            )
        raw = raw_response_mode.get()
        policy = self.retry_policy
        provider = None if isinstance(self._api_key, str) else self._api_key
        refreshed = False
        retries = 0
        while True:
            token = self._api_key if provider is None else (yield _FETCH_TOKEN)
            request = self._build_request(options, token)  # type: ignore[arg-type]
            started = time.perf_counter()
            outcome = yield request
            error: APIConnectionError | None = None
            response: httpx.Response | None = None
            if isinstance(outcome, httpx.Response):
                response = outcome
                _log_response(response, retries + 1, started)
                if response.is_success:
                    return APIResponse(response, parser) if raw else parser(response)
                if response.status_code == 401 and provider is not None and not refreshed:
                    # An expired token is the likely cause; the provider is asked again.
                    refreshed = True
                    continue
                if retries >= policy.max_retries or not policy.should_retry(response):
                    raise status_error(response)
            else:
                error = _connection_error(outcome, request)
                _log_error(request, error, retries + 1)
                if retries >= policy.max_retries or not isinstance(outcome, httpx.TransportError):
                    raise error
            delay = policy.delay(retries, response)
            retries += 1
            if policy.on_retry is not None:
                policy.on_retry(RetryEvent(retries, delay, error, response))
            logger.info(
                "Retrying %s %s in %.2f s (retry %d of %d)",
                request.method,
                request.url,
                delay,
                retries,
                policy.max_retries,
            )
            yield delay


class SyncAPIClient(_BaseClient):
    """Drives the pipeline with blocking I/O over an `httpx.Client`."""

    _http: httpx.Client

    def __init__(self, *, http_client: httpx.Client | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise EDMError("http_client must be an httpx.Client (use AsyncClient for async).")
        self._http = http_client or httpx.Client(
            timeout=self.timeout, verify=_default_ssl_context()
        )
        self._owns_http = True
        if http_client is None:
            # The finalizer holds the pool, not the client, so the pool outlives the client.
            weakref.finalize(self, _close_dropped_pool, self._http).atexit = False

    def request(self, options: RequestOptions, parser: Parser[R]) -> R:
        steps = self._attempts(options, parser)
        send = steps.send
        result: Any = None
        try:
            while True:
                step = send(result)
                if isinstance(step, httpx.Request):
                    try:
                        result = self._http.send(step)
                    except httpx.RequestError as exc:
                        result = exc
                elif isinstance(step, _FetchToken):
                    result = self._fetch_token()
                else:
                    time.sleep(step)
                    result = None
        except StopIteration as done:
            value: R = done.value
            return value

    def _fetch_token(self) -> str:
        token = self._api_key()  # type: ignore[operator]
        if inspect.isawaitable(token):
            if inspect.iscoroutine(token):
                token.close()  # never awaited here; closing avoids a "never awaited" warning
            raise EDMError("api_key returned an awaitable; async token providers need AsyncClient.")
        return _checked_token(token)

    def close(self) -> None:
        """Close the connection pool (copies from `with_options` share it and do not close it)."""
        if self._owns_http:
            self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAPIClient(_BaseClient):
    """Drives the pipeline with asyncio I/O over an `httpx.AsyncClient`."""

    _http: httpx.AsyncClient

    def __init__(self, *, http_client: httpx.AsyncClient | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise EDMError("http_client must be an httpx.AsyncClient (use Client for sync).")
        self._http = http_client or httpx.AsyncClient(
            timeout=self.timeout, verify=_default_ssl_context()
        )
        self._owns_http = True
        if http_client is None:
            weakref.finalize(self, _close_dropped_async_pool, self._http).atexit = False

    async def request(self, options: RequestOptions, parser: Parser[R]) -> R:
        steps = self._attempts(options, parser)
        send = steps.send
        result: Any = None
        try:
            while True:
                step = send(result)
                if isinstance(step, httpx.Request):
                    try:
                        result = await self._http.send(step)
                    except httpx.RequestError as exc:
                        result = exc
                elif isinstance(step, _FetchToken):
                    result = await self._fetch_token()
                else:
                    await asyncio.sleep(step)
                    result = None
        except StopIteration as done:
            value: R = done.value
            return value

    async def _fetch_token(self) -> str:
        token = self._api_key()  # type: ignore[operator]
        if inspect.isawaitable(token):
            token = await token
        return _checked_token(token)

    async def close(self) -> None:
        """Close the connection pool (copies from `with_options` share it and do not close it)."""
        if self._owns_http:
            await self._http.aclose()

    async def aclose(self) -> None:
        """Same as `close()`, named as httpx names it."""
        await self.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every client makes for itself, built once: loading the CA
    bundle takes ~20 ms, which each new client would otherwise pay."""
    return httpx.create_ssl_context()


def _close_dropped_pool(http: httpx.Client) -> None:
    """A `Client` was garbage-collected unclosed: close its pool instead of leaving sockets."""
    if not http.is_closed:
        with contextlib.suppress(Exception):
            http.close()


def _close_dropped_async_pool(http: httpx.AsyncClient) -> None:
    """An `AsyncClient` was garbage-collected unclosed. While an event loop runs (a notebook
    cell, a request handler), its pool is closed on that loop, so no socket is left for the
    collector to warn about and nothing touches a loop that is gone."""
    if http.is_closed:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop to close it on: the sockets go with the garbage, as in httpx
    task = loop.create_task(_close_quietly(http))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()


async def _close_quietly(http: httpx.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await http.aclose()


def _checked_base_url(base_url: str | httpx.URL) -> httpx.URL:
    try:
        url = httpx.URL(str(base_url).strip())
    except httpx.InvalidURL as exc:
        raise EDMError(f"base_url {str(base_url)!r} is not a valid URL: {exc}") from None
    if url.userinfo:
        # Credentials in the URL would show up in every repr, log line and error message.
        raise EDMError(
            "base_url must not contain a user name or password; pass the token as api_key."
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise EDMError(
            f"base_url {str(base_url)!r} must be an http:// or https:// URL with a host, "
            "e.g. https://edm.example.com"
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        warnings.warn(
            f"base_url {str(url)!r} uses plain http:// to a host other than this machine: "
            "the API token would travel unencrypted. Use https://.",
            InsecureTransportWarning,
            stacklevel=_caller_stacklevel(),
        )
    return url


def _caller_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the first frame outside edm_client."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _is_ours(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    return level


def _is_ours(module: str) -> bool:
    return module == "edm_client" or module.startswith("edm_client.")


class InsecureTransportWarning(UserWarning):
    """The base URL would send the token over plain http:// to another machine."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_token(token: object) -> str:
    if not isinstance(token, str) or not token.strip():
        raise EDMError(f"api_key callable returned {type(token).__name__}, not a token string.")
    token = token.strip()
    problem = _token_problem(token)
    if problem:
        raise EDMError(f"The token the api_key callable returned {problem}.")
    return token


def _headers_problem(headers: object) -> str | None:
    """Why `headers` cannot be sent, without showing any value (it may be a secret)."""
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        return f"must be a mapping of header names to values, not {type(headers).__name__}"
    for name, value in headers.items():
        if (
            not isinstance(name, str)
            or not name
            or any(not 33 <= ord(c) < 127 or c == ":" for c in name)
        ):
            return f"{name!r} is not a valid HTTP header name"
        if not isinstance(value, str):
            return f"the value of {name} must be a str, not {type(value).__name__}"
        odd = _odd_character(value)
        if odd:
            return f"the value of {name} contains {odd}; header values are printable ASCII"
    return None


def _odd_character(text: str) -> str | None:
    """The first character of `text` that is not printable ASCII, as `U+XXXX`."""
    odd = next((c for c in text if not 32 <= ord(c) < 127), None)
    return None if odd is None else f"U+{ord(odd):04X}"


def _token_problem(token: str) -> str | None:
    """Why `token` cannot go in an Authorization header, without showing the token."""
    if not token:
        return "is empty"
    if any(c in token for c in "\r\n\x00"):
        return "contains line breaks"
    odd = _odd_character(token)
    if odd:
        return (
            f"contains the character {odd}, which a token never has; "
            "was a quote or an ellipsis copied along with it?"
        )
    return None


def _policy_fields(policy: RetryPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}


def _connection_error(exc: BaseException, request: httpx.Request) -> APIConnectionError:
    where = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"The request timed out ({type(exc).__name__}) on {where}; "
            "raise `timeout=` or try again later.",
            request=request,
        )
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(f"Could not reach the EDM API on {where}: {detail}", request=request)


def _log_response(response: httpx.Response, attempt: int, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        request = response.request
        logger.debug(
            "%s %s -> %d (attempt %d, request id %s, %.1f ms)",
            request.method,
            request.url,
            response.status_code,
            attempt,
            request_id_of(response),
            (time.perf_counter() - started) * 1000,
        )


def _log_error(request: httpx.Request, error: APIConnectionError, attempt: int) -> None:
    logger.debug("%s %s -> %s (attempt %d)", request.method, request.url, error.message, attempt)
