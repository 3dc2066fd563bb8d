"""`Client` and `AsyncClient`: the entry points, configured once, shared freely."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import httpx

from edm_client._base_client import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    AsyncAPIClient,
    SyncAPIClient,
    Timeout,
)
from edm_client._body import DEFAULT_MAX_RESPONSE_BYTES
from edm_client._config import ApiKey
from edm_client._held import handed_out
from edm_client._hooks import Hooks
from edm_client._pagination import DEFAULT_MAX_EMPTY_PAGES
from edm_client._retry import RetryPolicy

if TYPE_CHECKING:
    # Imported on first use instead: the resources bring in the models and pydantic's model
    # machinery, which `import edm_client` should not pay for (see docs/performance.md).
    from edm_client.resources.performance import AsyncPerformance, Performance

__all__ = ["AsyncClient", "Client"]


class Client(SyncAPIClient):
    """The EDM API client.

    `api_key` and `base_url` default to the `EDM_API_KEY` and `EDM_BASE_URL` environment
    variables. `api_key` may be a zero-argument callable returning the current token: it is
    asked before every attempt, and once more after a 401. `timeout` is seconds or an
    `httpx.Timeout` (default 30 s, 5 s to connect) for each wait of an attempt;
    `total_timeout` (default 120 s, None for no limit) bounds a whole call, every attempt,
    retry wait and body read included, with `APITimeoutError`. `max_retries` (default 2) and
    `retry_policy` control retries. `hooks` (a `Hooks`, or a list of them) are called before
    each attempt, after each response and at the end of each call. With `opentelemetry-api`
    installed, each call is traced as one span and measured (`tracing=False` turns that off;
    see docs/observability.md). A body larger than `max_response_bytes` once decoded
    (default 16 MiB) raises `ResponseTooLargeError` as soon as that much has arrived. A
    listing follows at most `max_empty_pages` (default 100) empty pages in a row before
    raising `APIResponseValidationError`. `trust_env` (default True) lets the connection pool
    the client makes take proxies and certificates from the environment, as httpx does
    (`HTTP_PROXY`, `NO_PROXY`, `SSL_CERT_FILE`, ...); with your own `http_client`, that
    client's settings apply. One client is safe to share between threads; close it (or use
    `with`) to release its connections.
    """

    def __init__(
        self,
        *,
        api_key: ApiKey | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        retry_policy: RetryPolicy | None = None,
        hooks: Hooks | Iterable[Hooks] | None = None,
        tracing: bool = True,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
        trust_env: bool = True,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            total_timeout=total_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            retry_policy=retry_policy,
            hooks=hooks,
            tracing=tracing,
            max_empty_pages=max_empty_pages,
            max_response_bytes=max_response_bytes,
            http_client=http_client,
            trust_env=trust_env,
        )

    @property
    def performance(self) -> Performance:
        """Performance resources: `client.performance.learning_records`."""
        return handed_out(self, "performance", _namespaces()[0])


class AsyncClient(AsyncAPIClient):
    """The EDM API client for asyncio; the same options and methods as `Client`, awaited.

    `api_key` may also be a callable returning an awaitable of the token.
    """

    def __init__(
        self,
        *,
        api_key: ApiKey | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        hooks: Hooks | Iterable[Hooks] | None = None,
        tracing: bool = True,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
        trust_env: bool = True,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            total_timeout=total_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            retry_policy=retry_policy,
            hooks=hooks,
            tracing=tracing,
            max_empty_pages=max_empty_pages,
            max_response_bytes=max_response_bytes,
            http_client=http_client,
            trust_env=trust_env,
        )

    @property
    def performance(self) -> AsyncPerformance:
        """Performance resources: `client.performance.learning_records`."""
        return handed_out(self, "performance", _namespaces()[1])


@functools.cache
def _namespaces() -> tuple[type[Performance], type[AsyncPerformance]]:
    """The namespaces' classes, imported on first use rather than on every access."""
    from edm_client.resources.performance import AsyncPerformance, Performance

    return Performance, AsyncPerformance
