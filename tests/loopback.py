"""The fake on a real loopback socket (optionally TLS), counting connections from its side.

A thin view over `FakeServer.serve()`, for the leak, TLS and concurrency tests that watch
real sockets.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

from edm_client.testing import FakeServer
from edm_client.testing._http_server import RunningServer


class Loopback:
    """The running server: its base URL and a count of the connections clients hold open."""

    def __init__(self, server: RunningServer) -> None:
        self._server = server
        self.base_url = server.url

    @property
    def total_connections(self) -> int:
        return self._server.total_connections

    def open_connections_after_settling(self, timeout: float = 10.0) -> int:
        """Open connections once the server has seen every closed one close (or `timeout`)."""
        return self._server.open_connections_after(timeout)


@contextlib.contextmanager
def serve(fake: FakeServer, tls: ssl.SSLContext | None = None) -> Iterator[Loopback]:
    with fake.serve(ssl_context=tls):
        yield Loopback(fake._served[-1])
