"""Shared fixtures. Every test that uses `server` (directly or through `client` /
`async_client`) runs twice: on the in-process transport ("inprocess") and over a real
loopback socket through `FakeServer.serve()` ("socket").

`client` / `async_client` come from `server.client()` / `server.async_client()`, which talk to
the socket while the server is served, so one test body covers both transports. A test that
only makes sense in-process (it reads client-side request extensions, injects a non-network
exception, or injects a timeout *exception* with a long client timeout) is marked
`@pytest.mark.inprocess_only`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer

TRANSPORTS = ("inprocess", "socket")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "inprocess_only: run this test's `server` on the in-process transport only, not "
        "also over a socket",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" not in metafunc.fixturenames or _parametrizes_server(metafunc):
        return
    inprocess_only = metafunc.definition.get_closest_marker("inprocess_only") is not None
    transports = TRANSPORTS[:1] if inprocess_only else TRANSPORTS
    metafunc.parametrize("server", transports, indirect=True)


def _parametrizes_server(metafunc: pytest.Metafunc) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        if "server" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return True
    return False


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fresh FakeServer; on the "socket" parameter it is served for the whole test."""
    fake = FakeServer()
    if getattr(request, "param", "inprocess") == "socket":
        with fake.serve():
            yield fake
    else:
        yield fake


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    with server.client() as client:
        yield client


@pytest.fixture
async def async_client(server: FakeServer) -> AsyncIterator[AsyncClient]:
    async with server.async_client() as client:
        yield client
