"""A server that answers whatever a test tells it to, for what the fake will not act out: a
token echoed back, control characters in headers, a request id that forges a log line.

One `Answer` function serves both ways a test reaches it: in-process through
`httpx.MockTransport`, and over a real loopback socket (`hostile_server`), where the bytes
pass through the HTTP parser as a real server's would.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Answer = Callable[[httpx.Request], httpx.Response]
"""What the server answers to a request; `extensions={"reason_phrase": b"..."}` sets the
status line's reason."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = httpx.Request(
            self.command,
            f"http://{self.headers['Host']}{self.path}",
            headers=list(self.headers.items()),
            content=body,
        )
        response = self.server.answer(request)
        reason = response.extensions.get("reason_phrase")
        self.send_response_only(
            response.status_code,
            reason.decode("latin-1") if reason else HTTPStatus(response.status_code).phrase,
        )
        for name, value in response.headers.multi_items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    answer: Answer


@contextlib.contextmanager
def hostile_server(answer: Answer) -> Iterator[str]:
    """Serve `answer` on a loopback port; yield the base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.answer = answer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
