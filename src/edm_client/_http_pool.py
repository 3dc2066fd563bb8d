"""The httpx connection pool's life: its TLS context, its URLs, and closing it when dropped."""

from __future__ import annotations

import contextlib
import functools
import ssl
import sys
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import asyncio


_URLS: dict[str, httpx.URL | None] = {}
_MAX_URLS = 256


def request_url(url: str) -> httpx.URL | str:
    """`url` parsed once it is asked for a second time, and kept: a collection's URL is the same
    for every list and create, so httpx need not parse it on every request. A URL seen once
    (a record's, usually) is handed over as text, costing no more than before."""
    parsed = _URLS.get(url)
    if parsed is not None:
        return parsed
    if url in _URLS:
        parsed = _URLS[url] = httpx.URL(url)
        return parsed
    if len(_URLS) >= _MAX_URLS:
        _URLS.clear()
    _URLS[url] = None
    return url


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every client makes for itself, built once: loading the CA
    bundle takes ~20 ms, which each new client would otherwise pay."""
    return httpx.create_ssl_context()


def close_dropped_pool(http: httpx.Client) -> None:
    """A `Client` was garbage-collected unclosed: close its pool instead of leaving sockets."""
    if not http.is_closed:
        with contextlib.suppress(Exception):
            http.close()


def close_dropped_async_pool(http: httpx.AsyncClient) -> None:
    """An `AsyncClient` was garbage-collected unclosed. While an event loop runs (a notebook
    cell, a request handler), its pool is closed on that loop, so no socket is left for the
    collector to warn about and nothing touches a loop that is gone."""
    # Not imported here: without asyncio loaded there is no running loop (and `import
    # edm_client` does not load asyncio; see docs/performance.md).
    asyncio = sys.modules.get("asyncio")
    if http.is_closed or asyncio is None:
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
