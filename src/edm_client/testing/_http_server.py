"""`FakeServer.serve()`: the same fake over a real HTTP/1.1 socket, standard library only.

Requests are read by `http.server` (keep-alive; `Content-Length` or chunked bodies), turned
into `httpx.Request`s and handed to the fake's `Dispatcher`, as the in-process transport
hands them. Only how a fault reaches the client differs, because here it happens on the wire:

- `delay`: the answer really waits (a request whose client hangs up meanwhile is dropped
  unhandled, as in-process);
- a timeout error (`httpx.ReadTimeout`, ...): the server stays silent until the client gives
  up, so the client's own read timeout fires;
- `httpx.RemoteProtocolError`: the connection is closed without a response;
- any other error (`httpx.ReadError`, `httpx.ConnectError`, ...): the connection is reset (RST);
- `status`: a real error response.

One thread accepts connections and one thread serves each connection. Stopping wakes the
accept loop at once, shuts every open connection down and joins every thread. A connection
may wait at most `idle_timeout` seconds for its next request, and must send that request
whole within `idle_timeout` of its first byte, so a client that stalls or drips its bytes
(slow loris) cannot hold a thread for long.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import re
import select
import selectors
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from edm_client._version import __version__
from edm_client.testing._control import check_sender, is_control
from edm_client.testing._dispatch import Dispatcher
from edm_client.testing._problem import Problem, new_request_id, problem_response

__all__ = ["RunningServer", "running_server"]

logger = logging.getLogger("edm_client.testing")

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Request bodies above this are refused with 413."""
TIMEOUT_FAULT_SILENCE = 300.0
"""How long a timeout fault stays silent at most before the connection is reset."""
_MAX_LINE = 65536
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding"})


class _BadRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@contextmanager
def running_server(
    dispatcher: Dispatcher,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    *,
    idle_timeout: float,
    allowed_hosts: frozenset[str] = frozenset(),
) -> Iterator[RunningServer]:
    """Serve a fake's `dispatcher` on `host:port` in background threads; yield the server."""
    server = RunningServer(
        dispatcher,
        host,
        port,
        ssl_context,
        idle_timeout=idle_timeout,
        allowed_hosts=allowed_hosts,
    )
    try:
        loop = threading.Thread(
            target=server.accept_loop, name=f"edm-fake-server:{server.port}", daemon=True
        )
        loop.start()
        try:
            yield server
        finally:
            server.stop(loop)
    finally:
        server.server_close()


class RunningServer(ThreadingHTTPServer):
    """The HTTP server behind `FakeServer.serve()`; it also counts client connections."""

    daemon_threads = False  # every connection thread is joined on close
    block_on_close = True
    request_queue_size = 128  # many clients may connect at once

    def __init__(
        self,
        dispatcher: Dispatcher,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        *,
        idle_timeout: float,
        allowed_hosts: frozenset[str] = frozenset(),
    ) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.dispatcher = dispatcher
        self.ssl_context = ssl_context
        self.idle_timeout = idle_timeout
        self.host_names = frozenset({"localhost", *allowed_hosts, *_names(host)})
        """The names, besides IP addresses, that control requests may address it by."""
        self.closing = threading.Event()
        self.total_connections = 0
        """Connections accepted so far."""
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            super().__init__((host, port), _Handler)
        except BaseException:
            self._close_waker()
            raise
        self.port: int = self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"{'http' if ssl_context is None else 'https'}://{shown}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Client connections open right now."""
        with self._connections_changed:
            return len(self._connections)

    def open_connections_after(self, timeout: float) -> int:
        """Open connections once none is left, or when `timeout` seconds have passed."""
        with self._connections_changed:
            self._connections_changed.wait_for(lambda: not self._connections, timeout)
            return len(self._connections)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up in DNS; nothing here needs it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self.closing.is_set():
                        self._accept()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens in the connection's own thread, on its first read.
            connection = self.ssl_context.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

    def _accept(self) -> None:
        try:
            connection, address = self.get_request()
        except OSError:
            return
        with self._connections_changed:
            self._connections.add(connection)
            self.total_connections += 1
        try:
            self.process_request(connection, address)
        except Exception:
            self.handle_error(connection, address)
            self.shutdown_request(connection)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._connections_changed:
            self._connections.discard(request)
            self._connections_changed.notify_all()

    def stop(self, loop: threading.Thread) -> None:
        self.closing.set()
        self._wake_writer.send(b"\0")
        loop.join()
        with self._connections_changed:
            connections = list(self._connections)
        for connection in connections:
            # Wakes a thread blocked reading the next request of a kept-alive connection.
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()  # closes the listening socket and joins connection threads
        self._close_waker()

    def _close_waker(self) -> None:
        self._wake_reader.close()
        self._wake_writer.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("Error serving %s", client_address, exc_info=True)


class _Reads(io.RawIOBase):
    """A connection's reads, under the idle timeout: each request (the wait for its first
    byte, then the rest of it) must arrive within `timeout` seconds, however the client
    spaces its bytes."""

    def __init__(self, connection: socket.socket, timeout: float) -> None:
        self._connection = connection
        self._timeout = timeout
        self._deadline = 0.0
        self.started = False
        """Whether a byte of the awaited request has arrived."""
        self.timed_out = False

    def await_request(self) -> None:
        self.started = self.timed_out = False
        self._deadline = time.monotonic() + self._timeout

    def begin_request(self) -> None:
        """The awaited request's first byte is here: the rest must follow within `timeout`."""
        self.started = True
        self._deadline = time.monotonic() + self._timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # A few milliseconds even past the deadline: bytes that already arrived are read.
        self._connection.settimeout(max(self._deadline - time.monotonic(), 0.01))
        try:
            return self._connection.recv_into(buffer)
        except TimeoutError:
            self.timed_out = True
            raise


class _Handler(BaseHTTPRequestHandler):
    server: RunningServer
    protocol_version = "HTTP/1.1"
    server_version = f"edm-fake/{__version__}"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # http.server's own reader, replaced by one under the timeout
        self._reads = _Reads(self.connection, self.server.idle_timeout)
        self.rfile = self._buffered = io.BufferedReader(self._reads)

    def handle_one_request(self) -> None:
        self._reads.await_request()
        try:
            # Its first byte may be buffered already, read with a request pipelined before it.
            first = self._buffered.peek(1)
        except TimeoutError:
            self.close_connection = True  # idle: closed without an answer
            return
        if first:
            self._reads.begin_request()
        # What an answer needs if the request line never arrived whole.
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.1"
        super().handle_one_request()  # a TimeoutError ends the connection there
        if self._reads.timed_out and self._reads.started:
            self.send_error(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the request did not arrive whole within {self.server.idle_timeout:g} s",
            )

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server dispatches to `do_<METHOD>`: every method goes to the fake, which answers
        # 405 with `Allow` for the ones a route lacks (http.server alone would say 501).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            request = self._read_request()
        except _BadRequest as bad:
            self.close_connection = True
            self._answer(_problem(bad.status, bad.detail))
            return
        refused = self._refused(request)
        if refused is not None:
            self._answer(refused)
            return
        dispatcher = self.server.dispatcher
        fault = _guarded(dispatcher.arrive, request)
        if isinstance(fault, httpx.Response):  # the fake failed before handling it
            self._answer(fault)
            return
        if fault is None:
            self._answer(_guarded(dispatcher.answer, request))
            return
        if fault.delay and not self._client_stays(fault.delay):
            self.close_connection = True  # the client gave up: nothing is handled
            return
        outcome = _guarded(dispatcher.outcome, fault, request)
        if isinstance(outcome, httpx.Response):
            self._answer(outcome)
        elif isinstance(outcome, httpx.TimeoutException):
            self._client_stays(TIMEOUT_FAULT_SILENCE)
            self._reset()
        elif isinstance(outcome, httpx.RemoteProtocolError):
            self.close_connection = True  # closed cleanly, without a response
        else:
            self._reset()

    def _refused(self, request: httpx.Request) -> httpx.Response | None:
        """A 403 for a control request a web page could have sent (see `check_sender`)."""
        if not is_control(request.url.path):
            return None
        # As sent (httpx fills in a missing Host); a repeated header fails as one value.
        host = ", ".join(self.headers.get_all("Host", []))
        origins = self.headers.get_all("Origin")
        try:
            check_sender(
                request.url.scheme,
                host,
                None if origins is None else ", ".join(origins),
                self.server.host_names,
            )
        except Problem as problem:
            return problem_response(problem, new_request_id())
        return None

    # -- reading ---------------------------------------------------------------------------

    def _read_request(self) -> httpx.Request:
        if not self.path.startswith("/"):
            raise _BadRequest(400, "the request target must be a path starting with /")
        body = self._read_body()
        try:
            url = httpx.URL(self.server.url + self.path)
        except httpx.InvalidURL as exc:
            raise _BadRequest(400, f"the request target is not a valid URL: {exc}") from None
        headers = [
            (name.encode("latin-1"), value.encode("latin-1", "replace"))
            for name, value in self.headers.items()
            if name.lower() not in _HOP_BY_HOP
        ]
        return httpx.Request(self.command, url, headers=headers, content=body)

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding")
        length = self.headers.get("Content-Length")
        if encoding is not None:
            if encoding.strip().lower() != "chunked" or length is not None:
                raise _BadRequest(400, f"unsupported Transfer-Encoding {encoding!r}")
            return self._read_chunked()
        if length is None:
            return b""
        if not length.strip().isdigit() or not length.isascii():
            raise _BadRequest(400, f"invalid Content-Length {length!r}")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise _BadRequest(413, f"the body is over {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(size)
        if len(body) != size:
            raise _BadRequest(400, "the body ended before Content-Length bytes")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_line):
                raise _BadRequest(400, "malformed chunked body: bad chunk size")
            size = int(size_line, 16)
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(413, f"the body is over {MAX_BODY_BYTES} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(_MAX_LINE).strip():
                raise _BadRequest(400, "malformed chunked body: truncated chunk")
            chunks.append(chunk)
        while self.rfile.readline(_MAX_LINE).strip():
            pass  # trailer fields are not used
        return b"".join(chunks)

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, response: httpx.Response) -> None:
        body = response.content
        try:
            # A client that stops reading cannot hold the thread either.
            self.connection.settimeout(self.server.idle_timeout)
            self.send_response(response.status_code)
            for raw_name, raw_value in response.headers.raw:
                name = raw_name.decode("latin-1")
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, raw_value.decode("latin-1"))
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client is gone

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/0.9 is not supported")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own errors (bad request line, header too long, ...), as problem+json,
        # with a status line even when the request line looked like HTTP/0.9.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self._answer(_problem(code, message or explain or "the request could not be read"))

    def _client_stays(self, seconds: float) -> bool:
        """Wait `seconds`; False as soon as the client hangs up or the server stops."""
        try:
            ready, _, _ = select.select([self.connection], [], [], seconds)
            if not ready:
                return not self.server.closing.is_set()
            # Peek at the TCP stream itself (under TLS too): no bytes means the client hung up.
            still_there = bool(socket.socket.recv(self.connection, 1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False
        if still_there:  # the client sent more (pipelining); it is still waiting
            return not self.server.closing.wait(seconds)
        return False

    def _reset(self) -> None:
        """Abort the connection with a TCP reset, as a crashed server or a proxy would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


def _names(host: str) -> set[str]:
    """The host served on, if it is a name rather than an address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return {host.lower()}
    return set()


def _guarded(handler: Any, *args: Any) -> Any:
    """Run a handler; a bug in the fake becomes a 500 problem, not a dropped connection."""
    try:
        return handler(*args)
    except Exception:
        logger.exception("The fake server failed on a request")
        return _problem(500, "the fake server failed on this request; see its log")


def _problem(status: int, detail: str) -> httpx.Response:
    return problem_response(Problem(status, detail), new_request_id())
