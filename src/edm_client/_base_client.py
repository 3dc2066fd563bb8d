"""The request pipeline: auth, headers, timeouts, retries, error mapping and parsing.

The logic is written once, as a generator (`_BaseClient._attempts`) that yields what it needs
done: an `httpx.Request` to send and read the body of (its extensions carry the per-wait
timeouts and the call's deadline), a float of seconds to sleep, or `_FETCH_TOKEN`. The sync
and async clients each drive it with their own I/O, so they cannot drift apart.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import math
import os
import sys
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import httpx
from typing_extensions import Self

from edm_client._body import (
    ACCEPT_ENCODING,
    BodyReader,
    check_read_body,
    store_body,
)
from edm_client._config import (
    NOT_GIVEN,
    ApiKey,
    NotGiven,
    checked_token,
    checked_total_timeout,
    headers_problem,
    positive_int,
    resolve_credentials,
    warn_if_proxied,
)
from edm_client._deadline import DEADLINE, call_deadline
from edm_client._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    EDMError,
    InvalidRequestError,
)
from edm_client._hooks import Hooks, checked_hooks, observe, observers
from edm_client._http_pool import (
    Pool,
    close_dropped_async_pool,
    close_dropped_pool,
    request_url,
    uses_proxy,
)
from edm_client._logging import logger
from edm_client._params import check_timeout
from edm_client._response import APIResponse, request_id_of, status_error
from edm_client._retry import RetryEvent, RetryPolicy
from edm_client._sanitize import PickleSafeRequest
from edm_client._version import __version__

if TYPE_CHECKING:
    pass

R = TypeVar("R")
E = TypeVar("E", bound=EDMError)

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_TOTAL_TIMEOUT: Final = 120.0
"""Above the worst case of the default attempts: 3 x (5 s + 30 s) and two backoff waits."""
DEFAULT_MAX_RETRIES: Final = 2
_SHORTEST_ATTEMPT: Final = 0.001
"""An attempt, or a retry, is not started with less time than this left."""
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"

Timeout: TypeAlias = float | httpx.Timeout
Parser: TypeAlias = Callable[[httpx.Response], R]


def _system_name() -> str:
    if hasattr(os, "uname"):  # what platform.system() reports, without importing platform
        return os.uname().sysname.lower()
    import platform

    return platform.system().lower()


USER_AGENT: Final = (
    f"edm-client-python/{__version__} "
    f"(python {sys.version_info[0]}.{sys.version_info[1]}; {_system_name() or 'unknown'})"
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
    total_timeout: float | NotGiven | None = NOT_GIVEN
    operation: str | None = None
    """What hooks and traces call this, e.g. `learning_records.create`."""
    path_template: str | None = None
    """`path` with ids as placeholders, e.g. `/api/v1/performance/learning-records/{record_id}`."""

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        if not isinstance(self.total_timeout, NotGiven):
            checked_total_timeout(self.total_timeout)
        problem = headers_problem(self.extra_headers)
        if problem:
            raise InvalidRequestError(f"extra_headers: {problem}", param="extra_headers")

    @property
    def operation_name(self) -> str:
        """`operation`, else the method and path template (never the path: it holds ids)."""
        if self.operation:
            return self.operation
        return f"{self.method} {self.path_template}" if self.path_template else self.method


class _BaseClient:
    _pool: Pool[httpx.Client] | Pool[httpx.AsyncClient]
    _owns_http: bool = True
    """False for a `with_options` copy: closing it leaves the shared pool open."""
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
        max_empty_pages: int,
        max_response_bytes: int,
        total_timeout: float | None,
        hooks: Hooks | Iterable[Hooks] | None = None,
        tracing: bool = True,
    ) -> None:
        api_key, self.base_url = resolve_credentials(api_key, base_url)
        self.total_timeout = checked_total_timeout(total_timeout)
        """Seconds a whole call may take, every attempt and wait included; None: no limit."""
        self.max_empty_pages = positive_int("max_empty_pages", max_empty_pages)
        """Empty pages in a row (each with a next_cursor) a listing follows before it raises."""
        self.max_response_bytes = positive_int("max_response_bytes", max_response_bytes)
        """The largest body, once decoded, the client reads; a larger one raises."""
        check_timeout(timeout)
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise InvalidRequestError(
                "retry_policy must be an edm_client.RetryPolicy, "
                f"not {type(retry_policy).__name__}",
                param="retry_policy",
            )
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._timeouts = self.timeout.as_dict()
        self._longest_wait = _longest(self._timeouts)
        policy = retry_policy or RetryPolicy()
        if max_retries is not None and max_retries != policy.max_retries:
            policy = RetryPolicy(**{**_policy_fields(policy), "max_retries": max_retries})
        self.retry_policy = policy
        self._api_key = api_key
        problem = headers_problem(default_headers)
        if problem:
            raise EDMError(f"default_headers: {problem}")
        self._default_headers = dict(default_headers or {})
        self._headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self._default_headers,
        }
        self._url_prefix = str(self.base_url).rstrip("/")
        self._signed: tuple[str, dict[str, str]] = ("", {})
        self.hooks = checked_hooks(hooks)
        """The `Hooks` called around each call, in order."""
        self.tracing = bool(tracing)
        """Whether calls are traced with OpenTelemetry when it is installed."""
        self._observers = observers(self.hooks, self.tracing)

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    def with_options(
        self,
        *,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        hooks: Hooks | Iterable[Hooks] | None = None,
        tracing: bool | None = None,
        max_empty_pages: int | None = None,
        max_response_bytes: int | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> Self:
        """A copy with other settings that shares this client's connection pool.

        A setting left out keeps this client's (`total_timeout=None` removes the limit);
        `default_headers` are added to this client's; `hooks` replace its hooks (to add one,
        pass `[*client.hooks, more]`). Closing the copy leaves the pool open.
        """
        cls: Any = type(self)  # Client or AsyncClient, whose constructors take http_client
        pool = self._pool
        copy: Self = cls(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=max_retries,
            default_headers={**self._default_headers, **(default_headers or {})},
            retry_policy=retry_policy or self.retry_policy,
            hooks=self.hooks if hooks is None else hooks,
            tracing=self.tracing if tracing is None else tracing,
            max_empty_pages=self.max_empty_pages if max_empty_pages is None else max_empty_pages,
            max_response_bytes=(
                self.max_response_bytes if max_response_bytes is None else max_response_bytes
            ),
            total_timeout=(
                self.total_timeout if isinstance(total_timeout, NotGiven) else total_timeout
            ),
            http_client=pool.http,
        )
        copy._pool = pool
        copy._owns_http = False
        copy._pool_owner = self  # the pool is closed when its owner is dropped, not before
        return copy

    def __reduce_ex__(self, protocol: Any) -> Any:
        name = type(self).__name__
        raise TypeError(
            f"A {name} cannot be pickled or copied: it holds open connections and the API "
            f"token. In a worker process (multiprocessing, concurrent.futures, Celery, Dask, "
            f"Spark), build a {name}() there, from EDM_BASE_URL and EDM_API_KEY in its "
            f"environment or from settings you pass it; use with_options() for a copy."
        )

    def __repr__(self) -> str:
        settings: dict[str, Any] = {
            "base_url": str(self.base_url),
            "timeout": self.timeout,
            "total_timeout": self.total_timeout,
            "max_retries": self.max_retries,
        }
        if self._default_headers:
            settings["default_headers"] = sorted(self._default_headers)
        inner = ", ".join(f"{name}={value!r}" for name, value in settings.items())
        return f"{type(self).__name__}({inner})"

    def _adopt_pool(self) -> None:
        if self._pool.http.headers.get("accept-encoding") != ACCEPT_ENCODING:
            # Only what _body can inflate with a bound: an httpx client offers br and zstd
            # too when their packages happen to be installed. (Pools the SDK makes ask for
            # exactly this already, which costs nothing per request.)
            self._headers["Accept-Encoding"] = ACCEPT_ENCODING
            self._signed = ("", {})
        if self.base_url.scheme == "http" and uses_proxy(self._pool.http, self.base_url):
            warn_if_proxied(self.base_url)

    def _signed_headers(self, token: str) -> dict[str, str]:
        """The client's headers with `Authorization`, built once per token (never mutate it)."""
        signed = self._signed
        if signed[0] != token:
            signed = (token, {**self._headers, "Authorization": f"Bearer {token}"})
            self._signed = signed
        return signed[1]

    def _build_request(
        self, options: RequestOptions, token: str, deadline: float | None, left: float | None
    ) -> httpx.Request:
        headers = self._signed_headers(token)
        if (
            options.content is not None
            or options.idempotency_key is not None
            or options.extra_headers
        ):
            headers = dict(headers)
            if options.content is not None:
                headers["Content-Type"] = "application/json"
            if options.idempotency_key is not None:
                headers[IDEMPOTENCY_HEADER] = options.idempotency_key
            if options.extra_headers:
                headers.update(options.extra_headers)
        if options.timeout is None:
            timeouts, longest = self._timeouts, self._longest_wait
        else:
            timeouts = httpx.Timeout(options.timeout).as_dict()
            longest = _longest(timeouts)
        if left is not None and left < longest:
            # No single wait may outlast the call (the dict is shared: never change it).
            timeouts = {p: left if t is None or t > left else t for p, t in timeouts.items()}
        extensions: dict[str, Any] = {"timeout": timeouts}
        if deadline is not None:
            extensions[DEADLINE] = deadline
        url = self._url_prefix + options.path
        if options.params:
            # Encoded into the URL, as httpx would: a listing asked for again then reuses the
            # parsed URL (`request_url`), where params given apart are merged in on every request.
            url += "?" + str(httpx.QueryParams(options.params))
        request = self._pool.http.build_request(
            options.method,
            request_url(url),
            content=options.content,
            headers=headers,
            extensions=extensions,
        )
        # Users keep requests (`e.request`, `.http_response.request`): their pickles and
        # deep copies must not carry the token.
        request.__class__ = PickleSafeRequest
        return request

    @property
    def is_closed(self) -> bool:
        pool = self._pool
        return pool.closed or (pool.http.is_closed and not pool.owned)

    def _check_open(self) -> None:
        if self.is_closed:
            raise self._closed_error()

    def _closed_error(self) -> EDMError:
        return EDMError(
            f"This {type(self).__name__} is closed (by close() or the end of its `with` "
            "block), and so are its with_options() copies, which share its connections; "
            "create a new client."
        )

    def _steps(self, options: RequestOptions, parser: Parser[R]) -> Generator[_Step, Any, Any]:
        """`_attempts`, watched by the client's hooks when it has any."""
        steps = self._attempts(options, parser)
        observers = self._observers
        hooks = None if observers is None else observers.for_call()
        if hooks is None:
            return steps
        return observe(steps, hooks, options.operation_name, options.path_template)

    def _attempts(self, options: RequestOptions, parser: Parser[R]) -> Generator[_Step, Any, Any]:
        """Run one call to completion: yields steps for the driver, returns the result."""
        self._check_open()
        self._pool.check_fork()
        raw = raw_response_mode.get()
        policy = self.retry_policy
        provider = None if isinstance(self._api_key, str) else self._api_key
        total = (
            self.total_timeout
            if isinstance(options.total_timeout, NotGiven)
            else options.total_timeout
        )
        deadline = None if total is None else time.monotonic() + total
        refreshed = False
        retries = 0
        attempts = 0
        while True:
            if attempts:
                self._check_open()  # closed while the call waited to retry (another thread)
            token = self._api_key if provider is None else (yield _FETCH_TOKEN)
            left = None if deadline is None else deadline - time.monotonic()
            request = self._build_request(options, token, deadline, left)  # type: ignore[arg-type]
            if left is not None and left < _SHORTEST_ATTEMPT:
                raise _out_of_time(request, total, attempts)
            attempts += 1
            started = time.perf_counter()
            # The driver sends the request and reads the body, by the deadline it carries;
            # the outcome is the response, or the exception that ended the attempt.
            outcome = yield request
            error: APIConnectionError | None = None
            response: httpx.Response | None = None
            if isinstance(outcome, EDMError):
                raise outcome  # the body broke a bound or its encoding: not retried
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
                    raise _after_attempts(status_error(response), attempts)
            else:
                if deadline is not None and deadline - time.monotonic() < _SHORTEST_ATTEMPT:
                    raise _out_of_time(request, total, attempts)
                error = _connection_error(outcome, request)
                _log_error(request, error, retries + 1)
                if retries >= policy.max_retries or not isinstance(outcome, httpx.TransportError):
                    raise _after_attempts(error, attempts)
            delay = policy.delay(retries, response)
            if deadline is not None and time.monotonic() + delay + _SHORTEST_ATTEMPT > deadline:
                last = error or status_error(response)  # type: ignore[arg-type]  # one is set
                raise _no_time_to_retry(request, total, attempts, delay, last) from last
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

    _pool: Pool[httpx.Client]

    def __init__(self, *, http_client: httpx.Client | None, trust_env: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise EDMError("http_client must be an httpx.Client (use AsyncClient for async).")
        self._pool = Pool(httpx.Client, http_client, self.timeout, _checked_flag(trust_env))
        if self._pool.owned:
            # The finalizer holds the pool, not the client, so the pool outlives the client.
            weakref.finalize(self, close_dropped_pool, self._pool).atexit = False
        self._adopt_pool()

    def request(self, options: RequestOptions, parser: Parser[R]) -> R:
        steps = self._steps(options, parser)
        send = steps.send
        result: Any = None
        try:
            while True:
                step = send(result)
                if isinstance(step, httpx.Request):
                    result = self._exchange(step)
                elif isinstance(step, _FetchToken):
                    result = self._fetch_token()
                else:
                    time.sleep(step)
                    result = None
        except StopIteration as done:
            value: R = done.value
            return value
        except BaseException as exc:
            # Cut short while a step ran (cancelled, interrupted): hooks still see the call end.
            if inspect.getgeneratorstate(steps) == inspect.GEN_SUSPENDED:
                steps.throw(exc)
            raise

    def _exchange(self, request: httpx.Request) -> httpx.Response | Exception:
        """One attempt: the response with its body read, or what went wrong."""
        deadline = request.extensions.get(DEADLINE)
        token = call_deadline.set(deadline)
        try:
            response = self._pool.http.send(request, stream=True)
            try:
                if response.is_stream_consumed:  # an in-memory transport read it already
                    check_read_body(response, self.max_response_bytes)
                else:
                    reader = BodyReader(response, self.max_response_bytes, deadline)
                    for chunk in response.iter_raw() if reader.raw else response.iter_bytes():
                        reader.feed(chunk)
                    store_body(response, reader.body())
            finally:
                response.close()
        except (httpx.RequestError, EDMError) as exc:
            return exc
        except RuntimeError:
            if self.is_closed:  # closed by another thread or task just as this attempt began
                return self._closed_error()
            raise
        finally:
            call_deadline.reset(token)
        return response

    def _fetch_token(self) -> str:
        token = self._api_key()  # type: ignore[operator]
        if inspect.isawaitable(token):
            if inspect.iscoroutine(token):
                token.close()  # never awaited here; closing avoids a "never awaited" warning
            raise EDMError("api_key returned an awaitable; async token providers need AsyncClient.")
        return checked_token(token)

    def close(self) -> None:
        """Close the connection pool (copies from `with_options` share it and do not close it)."""
        if self._owns_http and (http := self._pool.closing()) is not None:
            http.close()

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

    _pool: Pool[httpx.AsyncClient]

    def __init__(
        self, *, http_client: httpx.AsyncClient | None, trust_env: bool, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise EDMError("http_client must be an httpx.AsyncClient (use Client for sync).")
        self._pool = Pool(httpx.AsyncClient, http_client, self.timeout, _checked_flag(trust_env))
        if self._pool.owned:
            weakref.finalize(self, close_dropped_async_pool, self._pool).atexit = False
        self._adopt_pool()
        import asyncio  # here, so that `import edm_client` does not load asyncio

        self._asyncio = asyncio

    async def request(self, options: RequestOptions, parser: Parser[R]) -> R:
        pool = self._pool
        loop = self._asyncio.get_running_loop()
        if pool.loop is not loop:
            await pool.enter_loop(loop)
        steps = self._steps(options, parser)
        send = steps.send
        result: Any = None
        try:
            while True:
                step = send(result)
                if isinstance(step, httpx.Request):
                    result = await self._exchange(step)
                elif isinstance(step, _FetchToken):
                    result = await self._fetch_token()
                else:
                    await self._asyncio.sleep(step)
                    result = None
        except StopIteration as done:
            value: R = done.value
            return value
        except BaseException as exc:
            # Cut short while a step ran (cancelled, interrupted): hooks still see the call end.
            if inspect.getgeneratorstate(steps) == inspect.GEN_SUSPENDED:
                steps.throw(exc)
            raise

    async def _exchange(self, request: httpx.Request) -> httpx.Response | Exception:
        """One attempt: the response with its body read, or what went wrong."""
        deadline = request.extensions.get(DEADLINE)
        token = call_deadline.set(deadline)
        try:
            response = await self._pool.http.send(request, stream=True)
            try:
                if response.is_stream_consumed:  # an in-memory transport read it already
                    check_read_body(response, self.max_response_bytes)
                else:
                    reader = BodyReader(response, self.max_response_bytes, deadline)
                    chunks = response.aiter_raw() if reader.raw else response.aiter_bytes()
                    async for chunk in chunks:
                        reader.feed(chunk)
                    store_body(response, reader.body())
            finally:
                await response.aclose()
        except (httpx.RequestError, EDMError) as exc:
            return exc
        except RuntimeError:
            if self.is_closed:  # closed by another thread or task just as this attempt began
                return self._closed_error()
            raise
        finally:
            call_deadline.reset(token)
        return response

    async def _fetch_token(self) -> str:
        token = self._api_key()  # type: ignore[operator]
        if inspect.isawaitable(token):
            token = await token
        return checked_token(token)

    async def close(self) -> None:
        """Close the connection pool (copies from `with_options` share it and do not close it)."""
        if self._owns_http and (http := self._pool.closing()) is not None:
            await http.aclose()

    async def aclose(self) -> None:
        """Same as `close()`, named as httpx names it."""
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _longest(timeouts: dict[str, float | None]) -> float:
    return max((math.inf if t is None else t for t in timeouts.values()), default=math.inf)


def _checked_flag(trust_env: object) -> bool:
    if not isinstance(trust_env, bool):
        raise InvalidRequestError(
            f"trust_env must be True or False, not {trust_env!r}", param="trust_env"
        )
    return trust_env


def _policy_fields(policy: RetryPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}


def _after_attempts(error: E, attempts: int) -> E:
    """`error`, its message saying how many attempts the call made if it made more than one."""
    if attempts > 1:
        error.message = f"{error.message.rstrip('.')}. Failed after {attempts} attempts."
        error.args = (error.message,)
    return error


def _out_of_time(request: httpx.Request, total: float | None, attempts: int) -> APITimeoutError:
    return APITimeoutError(
        f"{request.method} {request.url} did not finish within total_timeout={total:g} s "
        f"({_attempts_made(attempts)}); {_RAISE_TOTAL_TIMEOUT}",
        request=request,
    )


def _no_time_to_retry(
    request: httpx.Request, total: float | None, attempts: int, delay: float, last: APIError
) -> APITimeoutError:
    return APITimeoutError(
        f"{request.method} {request.url} stopped after {_attempts_made(attempts)}: waiting "
        f"{delay:.2f} s for the next retry would pass total_timeout={total:g} s. The last "
        f"attempt failed with: {last.message.rstrip('.')}. To wait, {_RAISE_TOTAL_TIMEOUT}",
        request=request,
    )


_RAISE_TOTAL_TIMEOUT: Final = (
    "raise total_timeout= (on the call, the client or with_options), or pass "
    "total_timeout=None for no limit."
)


def _attempts_made(attempts: int) -> str:
    return f"{attempts} attempt{'' if attempts == 1 else 's'}"


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
