"""A FakeServer behind a real loopback socket (optionally TLS), counting open connections.

Just enough HTTP/1.1 (keep-alive, length-delimited bodies) for the leak, TLS and dropped-client
tests to watch real sockets.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from edm_client.testing import FakeServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once in the concurrency tests

    def __init__(self, fake: FakeServer, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.tls = tls
        self.open_connections = 0
        self.total_connections = 0
        self.changed = threading.Condition()

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or refused our certificate) is not a server error."""

    def connection_opened(self) -> None:
        with self.changed:
            self.open_connections += 1
            self.total_connections += 1

    def connection_closed(self) -> None:
        with self.changed:
            self.open_connections -= 1
            self.changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def setup(self) -> None:
        self.server.connection_opened()
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_closed()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = httpx.Request(
            self.command,
            self.server.fake.base_url + self.path,
            headers=list(self.headers.items()),
            content=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake.transport.handle_request(request)
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Loopback:
    """The running server: its base URL and a count of the connections clients hold open."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        scheme = "https" if server.tls is not None else "http"
        self.base_url = f"{scheme}://{host}:{port}"

    @property
    def total_connections(self) -> int:
        return self._server.total_connections

    def open_connections_after_settling(self, timeout: float = 10.0) -> int:
        """Open connections once the server has seen every closed one close (or `timeout`)."""
        with self._server.changed:
            self._server.changed.wait_for(lambda: self._server.open_connections == 0, timeout)
            return self._server.open_connections


@contextlib.contextmanager
def serve(fake: FakeServer, tls: ssl.SSLContext | None = None) -> Iterator[Loopback]:
    server = _Server(fake, tls)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="loopback-fake", daemon=True
    )
    thread.start()
    try:
        yield Loopback(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
