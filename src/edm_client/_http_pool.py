"""The httpx connection pool's life: building it, sharing it with `with_options` copies,
replacing it in a forked child or (async) for a new event loop, its TLS context and URLs, and
closing it when dropped."""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import sys
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from edm_client._body import ACCEPT_ENCODING
from edm_client._deadline import AsyncDeadlineBackend, SyncDeadlineBackend
from edm_client._exceptions import EDMError

if TYPE_CHECKING:
    import asyncio

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)

_forks = 0
"""How many times this process is a fork's child (counted by the at-fork hook below)."""


def _forked() -> None:
    global _forks  # noqa: PLW0603
    _forks += 1


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forked)


class Pool(Generic[HttpT]):
    """The httpx client a `Client` (or `AsyncClient`) and its `with_options` copies share.

    `owned` when the SDK built it (from the client's timeout and `trust_env`); a caller's
    `http_client` is never replaced. After `os.fork()`, parent and child would share the
    pooled keep-alive sockets and read each other's responses, so the child's first call
    (`check_fork`) gives it connections of its own; the parent's are left as they are.

    An async pool's connections belong to the event loop they were opened on, and each
    `asyncio.run()` makes a new loop: `enter_loop` moves an owned pool to the loop a call
    runs on (`loop`)."""

    __slots__ = (
        "__weakref__",
        "_forks",
        "_guard",
        "_kind",
        "_timeout",
        "_trust_env",
        "closed",
        "http",
        "loop",
        "owned",
    )

    _kind: type[HttpT]
    http: HttpT

    def __init__(
        self,
        kind: type[HttpT],
        http: HttpT | None,
        timeout: httpx.Timeout,
        trust_env: bool,
    ) -> None:
        self._kind = kind
        self._timeout = timeout
        self._trust_env = trust_env
        self._forks = _forks
        self.owned = http is None
        self.http = self._new() if http is None else http
        self.closed = False
        """Closed by its client's close(): nothing may renew it."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncIterator[None] | None = None

    def check_fork(self) -> None:
        if self._forks != _forks:
            self._after_fork()

    def closing(self) -> HttpT | None:
        """Mark the pool closed; return the httpx client its client's close() closes, or None
        for one that must be left open.

        In a forked child that has not used the pool since the fork, the inherited
        connections are let go of first, as `check_fork` does: closing them through httpcore
        would take its pool lock, which a parent thread may have held at the fork (the child
        would wait for it forever), and closing an async one can shut the socket down for the
        parent too (seen with anyio 4.14). An owned pool's close is then of the child's own,
        unused one; a caller's `httpx.AsyncClient` holding the parent's connections, and a
        caller's `httpx.Client` (whose close takes that lock), are left for the parent to close.
        """
        self.closed = True
        if self._forks != _forks:
            try:
                self._after_fork()
            except EDMError:
                return None
            if not self.owned and isinstance(self.http, httpx.Client):
                return None
        return self.http

    def _after_fork(self) -> None:
        inherited = self.http
        if isinstance(inherited, httpx.Client):
            # Closing this process's copies of the sockets sends nothing, so the parent's
            # connections live on; and no lock is taken (a parent thread may have held one
            # at the fork, and it would never be released here).
            for pool in _connection_pools(inherited):
                for connection in pool.connections:
                    with contextlib.suppress(Exception):
                        connection.close()
        elif not self.owned and any(p.connections for p in _connection_pools(inherited)):
            raise EDMError(
                "This AsyncClient was made before os.fork() with your own http_client, whose "
                "pooled connections belong to the parent process and its event loop. Create "
                "the httpx.AsyncClient (and the AsyncClient) in the child process, or leave "
                "out http_client: the AsyncClient then opens a pool of its own in the child."
            )
        # An async pool's sockets belong to the parent's event loop, which does not run here:
        # it is dropped untouched, and the collector closes this process's copies.
        if self.owned:
            self.http = self._new()
        if self._guard is not None:
            # Kept, not dropped: dropping it would make the parent's loop (a copy here) be
            # asked to finalize it.
            _inherited_guards.append(self._guard)
        self.loop = self._guard = None
        self._forks = _forks

    async def enter_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve calls on `loop`: called when a call runs on another loop than the last one,
        or the pool was closed along with its loop."""
        self.check_fork()
        previous = self.loop
        if self.closed or (previous is not None and previous is not loop and previous.is_running()):
            return  # closed (the call says so), or shared with a loop still running: as httpx
        if previous is not None or self.http.is_closed:
            if not self.owned:
                if self.http.is_closed:
                    return  # closed by its owner: the call says so
                if not any(p.connections for p in _connection_pools(self.http)):
                    self.loop = loop  # nothing tied to the old loop (an in-memory transport)
                    return
                raise EDMError(
                    "This AsyncClient's http_client was used in an event loop that has since "
                    "ended (each asyncio.run() call makes a new one), and it holds connections "
                    "that belong to that loop. Create the httpx.AsyncClient and the "
                    "AsyncClient inside the loop that uses them, or leave out http_client: "
                    "the AsyncClient then opens a fresh pool for each new loop."
                )
            # The old pool is dropped without touching its loop, which may be closed.
            self.http = self._new()
        self.loop = loop
        if self.owned:
            # Registered with the loop as an async generator, so that when asyncio.run()
            # ends the loop it closes this pool first, on that loop, leaving no socket to warn.
            guard = _closed_with(weakref.ref(self), loop)
            await guard.__anext__()
            self._guard = guard

    def _new(self) -> HttpT:
        http = self._kind(
            timeout=self._timeout,
            verify=default_ssl_context(self._trust_env),
            trust_env=self._trust_env,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        bounded = (
            AsyncDeadlineBackend if isinstance(http, httpx.AsyncClient) else SyncDeadlineBackend
        )
        for pool in _connection_pools(http):
            pool._network_backend = bounded(pool._network_backend)
        return http


_inherited_guards: list[AsyncIterator[None]] = []


async def _closed_with(
    pool_ref: weakref.ReferenceType[Pool[Any]], loop: asyncio.AbstractEventLoop
) -> AsyncIterator[None]:
    """Suspended until its loop shuts down its async generators, then closes the pool if the
    pool still serves that loop."""
    try:
        yield
    finally:
        pool = pool_ref()
        if pool is not None and pool.loop is loop:
            pool.loop = None  # a call on this loop after all would get a fresh pool
            with contextlib.suppress(Exception):
                await pool.http.aclose()


def _connection_pools(http: httpx.Client | httpx.AsyncClient) -> Iterator[Any]:
    """The httpcore connection pools behind `http`: its transport's and its proxies'.

    These are httpx internals (there is no public way to reach them); on an httpx where they
    are not found this yields nothing and the SDK falls back to what it can do from outside."""
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if hasattr(pool, "_network_backend"):
            yield pool


def uses_proxy(http: httpx.Client | httpx.AsyncClient, url: httpx.URL) -> bool:
    """Whether `http` would send a request for `url` through a proxy: one from the
    environment (`HTTP_PROXY`, `ALL_PROXY`, unless `NO_PROXY` excludes the host) or its own."""
    try:  # httpx's own choice, mounts and NO_PROXY included; private, hence the fallback
        pool = getattr(http._transport_for_url(url), "_pool", None)
    except AttributeError:
        import urllib.request

        proxies = urllib.request.getproxies() if http.trust_env else {}
        return bool(proxies.get(url.scheme) or proxies.get("all")) and not (
            urllib.request.proxy_bypass(url.host)
        )
    return type(pool).__name__ in {"HTTPProxy", "AsyncHTTPProxy", "SOCKSProxy", "AsyncSOCKSProxy"}


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
def default_ssl_context(trust_env: bool = True) -> ssl.SSLContext:
    """The verifying TLS context every client makes for itself, built once: loading the CA
    bundle takes ~20 ms, which each new client would otherwise pay. With `trust_env`,
    `SSL_CERT_FILE` / `SSL_CERT_DIR` choose the bundle, as in httpx."""
    return httpx.create_ssl_context(trust_env=trust_env)


def close_dropped_pool(pool: Pool[httpx.Client]) -> None:
    """A `Client` was garbage-collected unclosed: close its pool instead of leaving sockets."""
    http = pool.closing()
    if http is not None and not http.is_closed:
        with contextlib.suppress(Exception):
            http.close()


def close_dropped_async_pool(pool: Pool[httpx.AsyncClient]) -> None:
    """An `AsyncClient` was garbage-collected unclosed. While an event loop runs (a notebook
    cell, a request handler), its pool is closed on that loop, so no socket is left for the
    collector to warn about and nothing touches a loop that is gone."""
    http = pool.http
    # Not imported here: without asyncio loaded there is no running loop (and `import
    # edm_client` does not load asyncio; see docs/performance.md).
    asyncio = sys.modules.get("asyncio")
    if http.is_closed or asyncio is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop to close it on: the sockets go with the garbage, as in httpx
    if pool.loop is not None and pool.loop is not loop:
        return  # its connections belong to another loop, which alone can close them
    task = loop.create_task(_close_quietly(http))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()


async def _close_quietly(http: httpx.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await http.aclose()
