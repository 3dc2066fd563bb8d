"""Shared fixtures. Every test that uses `server` (directly or through `client` /
`async_client`) runs twice: on the in-process transport ("inprocess") and over a real
loopback socket through `FakeServer.serve()` ("socket").

`client` / `async_client` come from `server.client()` / `server.async_client()`, which talk to
the socket while the server is served, so one test body covers both transports. A test that
only makes sense in-process (it reads client-side request extensions, or injects an exception
that a socket can only act out as a reset or silence) narrows the parameter with
`@inprocess_only` from `_helpers`, i.e.
`@pytest.mark.parametrize("server", ["inprocess"], indirect=True)`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.metadata
import os
import pkgutil
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings
from packaging.requirements import Requirement

from _helpers import MODES, Api
from edm_client import AsyncClient, Client, RetryPolicy
from edm_client._cli import main
from edm_client._definition import ResourceDefinition, definitions
from edm_client.testing import FakeServer
from hostile import Answer, hostile_server
from loopback import Loopback, serve

TRANSPORTS = ("inprocess", "socket")

# Test-only resources (one module each in tests/extra_resources/) register themselves when
# imported, so every test parametrized over `definitions()` covers them too.
for _module in pkgutil.iter_modules([str(Path(__file__).parent / "extra_resources")]):
    importlib.import_module(f"extra_resources.{_module.name}")

# In CI, hypothesis (and schemathesis, built on it) draw the same examples every run, so a
# submission cannot fail on a case no earlier run drew; locally every run explores new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_report_header() -> str:
    """The runtime dependencies' versions: `make test-lowest` runs the suite at their floors."""
    runtime = [
        Requirement(line).name
        for line in importlib.metadata.requires("edm-sdk") or []
        if "extra ==" not in line
    ]
    return "edm-sdk runtime: " + ", ".join(f"{n} {importlib.metadata.version(n)}" for n in runtime)


@pytest.fixture(params=TRANSPORTS)
def server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fresh FakeServer; on the "socket" parameter it is served for the whole test."""
    fake = FakeServer()
    if request.param == "socket":
        with fake.serve():
            yield fake
    else:
        yield fake


@pytest.fixture
def fake() -> FakeServer:
    """A fresh FakeServer, not served (see `loopback`)."""
    return FakeServer()


@pytest.fixture
def loopback(fake: FakeServer) -> Iterator[Loopback]:
    """`fake` served on a loopback socket, counting connections from its side."""
    with serve(fake) as running:
        yield running


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    with server.client() as client:
        yield client


@pytest.fixture
async def async_client(server: FakeServer) -> AsyncIterator[AsyncClient]:
    async with server.async_client() as client:
        yield client


@pytest.fixture
def complaints(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[str]]]:
    """Call it for every warning, and every error a finalizer swallowed, so far."""
    swallowed: list[str] = []

    def unraisable(hook_args: Any) -> None:
        swallowed.append(f"{hook_args.exc_type.__name__}: {hook_args.exc_value}")

    monkeypatch.setattr(sys, "unraisablehook", unraisable)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        def so_far() -> list[str]:
            gc.collect()
            return swallowed + [f"{w.category.__name__}: {w.message}" for w in caught]

        yield so_far


@pytest.fixture(params=TRANSPORTS)
def hostile(request: pytest.FixtureRequest) -> Iterator[Callable[..., Client]]:
    """`hostile(answer, api_key=...)`: a `Client` (no retries) of a server that answers
    every request with `answer(request)`, in-process or over a loopback socket."""
    with contextlib.ExitStack() as stack:

        def make(answer: Answer, **client_kwargs: Any) -> Client:
            if request.param == "socket":
                base_url = stack.enter_context(hostile_server(answer))
                http = httpx.Client(trust_env=False)
            else:
                base_url = "https://edm.test"
                http = httpx.Client(transport=httpx.MockTransport(answer))
            options = {
                "api_key": "test-token-0123456789",
                "retry_policy": RetryPolicy(max_retries=0),
                **client_kwargs,
            }
            return stack.enter_context(Client(base_url=base_url, http_client=http, **options))

        yield make


@dataclass
class Ran:
    """How `edm` ended: its exit code, and what it wrote to stdout and stderr."""

    code: int
    out: str
    err: str


@pytest.fixture
def edm_cli(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., Ran]]:
    """`edm ARGS` run in this process (fast: no interpreter to start), reaching `server` over
    its socket when it is served, else through `server.mock()`."""
    with contextlib.ExitStack() as stack:
        if server.base_url.startswith("http://127.0.0.1"):
            environ = {"EDM_BASE_URL": server.base_url, "EDM_API_KEY": server.issue_token()}
        else:
            environ = stack.enter_context(server.mock()).environ
        for name, value in environ.items():
            monkeypatch.setenv(name, value)

        def run(*args: str | Path) -> Ran:
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit_:  # argparse's way out of a usage error, or --help
                code = int(exit_.code or 0)
            captured = capsys.readouterr()
            return Ran(code, captured.out, captured.err)

        yield run


@pytest.fixture(params=definitions(), ids=lambda d: d.key)
def definition(request: pytest.FixtureRequest) -> ResourceDefinition[Any]:
    """Each registered resource in turn: the SDK's own and the test-only ones."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=MODES)
def resource_api(
    request: pytest.FixtureRequest, server: FakeServer, definition: ResourceDefinition[Any]
) -> Api:
    """`definition`'s resource on `Client` ("sync") and on `AsyncClient` ("async")."""
    client = request.getfixturevalue("client" if request.param == "sync" else "async_client")
    return Api(client, server, definition)
