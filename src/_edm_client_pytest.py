"""The edm-sdk pytest plugin: fixtures `edm_fake`, `edm`, `edm_async`, `edm_network_guard`.

pytest loads it in every run of every project that has edm-sdk installed (the `pytest11`
entry point `edm_client`; `-p no:edm_client` turns it off). So it lives outside the
`edm_client` package and imports only pytest at load time: a session that never asks for its
fixtures pays for one marker and one ini option, and nothing of the SDK is imported.

While a test uses any of the fixtures, httpx requests to real hosts fail the test (see
`edm_client.testing._network_guard`); `@pytest.mark.edm_allow_hosts(...)`, the
`edm_allow_hosts` ini option and `edm_network_guard.allow(...)` let chosen hosts through.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from pluggy import Result

    from edm_client import AsyncClient, Client
    from edm_client.testing import FakeServer
    from edm_client.testing._network_guard import NetworkGuard

ALLOW_HOSTS = "edm_allow_hosts"
_GUARD_KEY = pytest.StashKey["NetworkGuard"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        ALLOW_HOSTS,
        type="args",
        default=[],
        help="edm-sdk: hosts (host, host:port, *.domain or URL) that tests using the "
        "edm_fake fixtures may still reach over the real network.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_HOSTS}(*hosts): let this test reach these hosts over the real network while "
        "it uses the edm-sdk fixtures (host, host:port, *.domain or URL).",
    )


@pytest.fixture
def edm_network_guard(request: pytest.FixtureRequest) -> Iterator[NetworkGuard]:
    """Fails the test on any httpx request to a real host; `.allow(host)` lets one through.

    Active for every test that uses `edm_fake`, `edm` or `edm_async`; ask for it directly to
    seal a test off from the network without a fake.
    """
    from edm_client.testing._network_guard import NetworkGuard

    allowed = [str(host) for host in request.config.getini(ALLOW_HOSTS)]
    for marker in request.node.iter_markers(ALLOW_HOSTS):
        allowed.extend(str(host) for host in marker.args)
    guard = NetworkGuard(allowed, on_block=_fail)
    request.node.stash[_GUARD_KEY] = guard
    with guard:
        yield guard


@pytest.fixture
def edm_fake(edm_network_guard: NetworkGuard) -> FakeServer:
    """A fresh in-memory EDM API (`edm_client.testing.FakeServer`) for this test."""
    from edm_client.testing import FakeServer

    server = FakeServer()
    edm_network_guard.fake_base_url = server.base_url
    return server


@pytest.fixture
def edm(edm_fake: FakeServer) -> Iterator[Client]:
    """A `Client` wired to `edm_fake`, authenticated as a person of the demo tenant."""
    with edm_fake.client() as client:
        yield client


@pytest.fixture
def edm_async(edm_fake: FakeServer) -> AsyncClient:
    """An `AsyncClient` wired to `edm_fake`; works with any async test runner (no await to
    set it up, nothing to close: the fake holds no connections)."""
    return edm_fake.async_client()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    # A blocked request fails the test even when the code under test caught the failure.
    outcome = yield
    if call.when != "call":
        return
    guard = item.stash.get(_GUARD_KEY, None)
    report = outcome.get_result()
    if guard is not None and guard.blocked and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            "edm-sdk's network guard blocked real HTTP requests that the code under test "
            "then caught: " + ", ".join(guard.blocked) + ". Route them into the fake or allow "
            f"the host with @pytest.mark.{ALLOW_HOSTS}(...)."
        )


def _fail(message: str) -> NoReturn:
    __tracebackhide__ = True
    pytest.fail(message)
