from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    with server.client() as client:
        yield client


@pytest.fixture
async def async_client(server: FakeServer) -> AsyncIterator[AsyncClient]:
    async with server.async_client() as client:
        yield client
