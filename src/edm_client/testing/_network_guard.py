"""`NetworkGuard`: while active, any httpx request that would leave for a real host is refused.

httpx sends every real request through httpcore. The guard wraps the two places where httpcore
touches the network: opening a connection (`HTTPConnection._connect`, before any DNS lookup or
TCP connect) and sending a request on a connection (`HTTP11Connection` / `HTTP2Connection`, which
also covers keep-alive connections opened before the guard started and requests through proxies).
Requests answered without a network — `FakeTransport`, `httpx.MockTransport`, respx routes,
`FakeServer.mock()` — never reach those places, so they are never blocked.

The pytest plugin (`_edm_client_pytest`) starts one around every test that uses its fixtures;
it works the same way in any other test runner.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

import httpcore

__all__ = ["NetworkBlockedError", "NetworkGuard"]

# (module, class, method, is_async): the httpcore methods the guard wraps. A method that is
# missing (h2 not installed, another httpcore layout) is skipped; at least one must exist.
_PATCH_POINTS = (
    ("httpcore._sync.connection", "HTTPConnection", "_connect", False),
    ("httpcore._async.connection", "AsyncHTTPConnection", "_connect", True),
    ("httpcore._sync.http11", "HTTP11Connection", "handle_request", False),
    ("httpcore._async.http11", "AsyncHTTP11Connection", "handle_async_request", True),
    ("httpcore._sync.http2", "HTTP2Connection", "handle_request", False),
    ("httpcore._async.http2", "AsyncHTTP2Connection", "handle_async_request", True),
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

_lock = threading.Lock()
_active: list[NetworkGuard] = []
_served_fakes: list[tuple[str, int | None]] = []
"""Where `FakeServer.serve()` listens right now: the fake itself, which every guard lets through."""
_originals: list[tuple[type, str, Any]] = []


class NetworkBlockedError(BaseException):
    """A request was about to reach the real network while a `NetworkGuard` was active.

    A `BaseException`, like `KeyboardInterrupt`, so that `except Exception` in the code under
    test cannot swallow it. The pytest plugin raises pytest's own failure instead.
    """


def _raise_blocked(message: str) -> NoReturn:
    raise NetworkBlockedError(message)


class NetworkGuard:
    """Refuses real network requests from httpx, except to the hosts it allows.

    `allowed` entries are a host (`api.example.com`, any port), `host:port`, `*.example.com`
    (the domain and its subdomains) or a URL (its host and port are taken). `on_block` is
    called with a message naming the request and how to allow it; it must raise. Use as a
    context manager (or `start()` / `stop()`); guards nest, the innermost one decides.
    """

    def __init__(
        self,
        allowed: Iterable[str] = (),
        *,
        fake_base_url: str | None = None,
        on_block: Callable[[str], NoReturn] = _raise_blocked,
    ) -> None:
        self.fake_base_url = fake_base_url
        self.blocked: list[str] = []
        """Every refused request, as `METHOD URL`, oldest first."""
        self._on_block = on_block
        self._allowed: set[tuple[str, int | None]] = set()
        self.allow(*allowed)

    def allow(self, *hosts: str) -> None:
        """Let requests to these hosts through (same forms as `allowed`)."""
        for entry in hosts:
            self._allowed.add(_parse_entry(entry))

    def is_allowed(self, host: str, port: int | None) -> bool:
        host = host.lower().strip("[]")
        for allowed_host, allowed_port in (*self._allowed, *_served_fakes):
            if allowed_port is not None and allowed_port != port:
                continue
            if allowed_host == host or (
                allowed_host.startswith("*.")
                and (host == allowed_host[2:] or host.endswith(allowed_host[1:]))
            ):
                return True
        return False

    def check(self, request: httpcore.Request) -> None:
        """Raise through `on_block` unless this httpcore request may go out."""
        __tracebackhide__ = True
        dest = _Destination.of(request)
        if self.is_allowed(dest.host, dest.port):
            return
        self.blocked.append(f"{dest.method} {dest.url}")
        self._on_block(self._message(dest))

    def _message(self, dest: _Destination) -> str:
        lines = [
            f"edm-sdk's network guard blocked a real HTTP request: {dest.method} {dest.url}",
            "While edm-sdk's test fixtures (edm_fake, edm, edm_async, edm_network_guard) "
            "are active, tests may only talk to the fake EDM server.",
        ]
        fake = self.fake_base_url
        if fake is not None and urlsplit(fake).hostname == dest.host:
            lines.append(
                f"{fake} is the fake's address, but this request was headed for the network: "
                "the client that sent it is not wired to the fake. Use the edm / edm_async "
                "fixtures or edm_fake.client(), or route clients your code builds itself with "
                f'`with edm_fake.mock(base_url="{fake}"):`.'
            )
        else:
            lines.append(
                "If this is your application's own EDM client, route it into the fake with "
                f'`with edm_fake.mock(base_url="{dest.scheme}://{dest.netloc}"):`.'
            )
            lines.append(
                "To let this host through, mark the test with "
                f'@pytest.mark.edm_allow_hosts("{dest.netloc}"), list it under `edm_allow_hosts` '
                f'in your pytest configuration, or call edm_network_guard.allow("{dest.netloc}").'
            )
        return "\n".join(lines)

    # -- activation ---------------------------------------------------------------------

    def start(self) -> None:
        with _lock:
            if not _active:
                _install()
            _active.append(self)

    def stop(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)
            if not _active:
                _uninstall()

    def __enter__(self) -> NetworkGuard:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        allowed = sorted(h if p is None else f"{h}:{p}" for h, p in self._allowed)
        return f"NetworkGuard(allowed={allowed!r}, blocked={len(self.blocked)})"


@contextmanager
def fake_served_at(url: str) -> Iterator[None]:
    """Let every guard through to a served fake (`FakeServer.serve()`) while it runs."""
    entry = _parse_entry(url)
    with _lock:
        _served_fakes.append(entry)
    try:
        yield
    finally:
        with _lock:
            _served_fakes.remove(entry)


def _check_active(request: httpcore.Request) -> None:
    __tracebackhide__ = True
    guard = _active[-1] if _active else None
    if guard is not None:
        guard.check(request)


def _install() -> None:
    for module_name, class_name, method_name, is_async in _PATCH_POINTS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):  # h2 missing, or another httpcore layout
            continue
        original = cls.__dict__.get(method_name)
        if original is None:
            continue
        _originals.append((cls, method_name, original))
        setattr(cls, method_name, _wrap(original, is_async))
    if not _originals:
        raise RuntimeError(
            f"edm-sdk's network guard does not know this httpcore ({httpcore.__version__}); "
            "please report it."
        )


def _uninstall() -> None:
    while _originals:
        cls, method_name, original = _originals.pop()
        setattr(cls, method_name, original)


def _wrap(original: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    if is_async:

        @functools.wraps(original)
        async def guarded_async(self: object, request: httpcore.Request, *a: Any, **kw: Any) -> Any:
            __tracebackhide__ = True
            _check_active(request)
            return await original(self, request, *a, **kw)

        return guarded_async

    @functools.wraps(original)
    def guarded(self: object, request: httpcore.Request, *a: Any, **kw: Any) -> Any:
        __tracebackhide__ = True
        _check_active(request)
        return original(self, request, *a, **kw)

    return guarded


class _Destination(NamedTuple):
    method: str
    url: str
    scheme: str
    host: str
    port: int | None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is None or self.port == _DEFAULT_PORTS.get(self.scheme):
            return host
        return f"{host}:{self.port}"

    @classmethod
    def of(cls, request: httpcore.Request) -> _Destination:
        """Where a request is headed, seen through proxies."""
        method = request.method.decode("ascii", "replace")
        target = request.url.target.decode("ascii", "replace")
        if method == "CONNECT":  # a tunnel through a proxy: the target is `host:port`
            split = urlsplit(f"//{target}")
            dest = cls(method, "", "https", split.hostname or "", split.port)
            return dest._replace(url=f"https://{dest.netloc}")
        if "://" in target:  # absolute form, sent to a forwarding proxy
            split = urlsplit(target)
            port = split.port or _DEFAULT_PORTS.get(split.scheme)
            return cls(method, target, split.scheme, split.hostname or "", port)
        scheme = request.url.scheme.decode("ascii", "replace")
        host = request.url.host.decode("ascii", "replace").lower()
        dest = cls(method, "", scheme, host, request.url.port or _DEFAULT_PORTS.get(scheme))
        return dest._replace(url=f"{scheme}://{dest.netloc}{target}")


def _parse_entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip().lower()
    if not entry:
        raise ValueError("an allowed host must not be empty")
    split = urlsplit(entry if "://" in entry else f"//{entry}")
    try:
        port = split.port
    except ValueError:
        raise ValueError(f"{entry!r} is not a host, host:port or URL") from None
    host = split.hostname
    if not host:
        raise ValueError(f"{entry!r} is not a host, host:port or URL")
    if "://" in entry and port is None:
        port = _DEFAULT_PORTS.get(split.scheme)
    return host, port
