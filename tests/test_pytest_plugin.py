"""The pytest plugin as our users meet it: a sample user project run by pytest in a subprocess.

One run (module-scoped, ~2 s) of the sample tests below; each test here checks the outcome of
one sample test. The subprocess imports edm-sdk as installed, so the fixtures can only come
from the `pytest11` entry point (the sample project has no conftest).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import _edm_client_pytest
from edm_client.testing._network_guard import NetworkGuard

# A tiny "user application", tested by the sample test file below.
USER_APP = """
from edm_client import AsyncClient, Client


def record_completion(client: Client, person_id: str, course: str):
    return client.performance.learning_records.create(
        person_id=person_id, title=course, passed=True
    )


async def course_titles(client: AsyncClient, person_id: str) -> list[str]:
    records = client.performance.learning_records.list(person_id=person_id)
    return [record.title async for record in records]


def sync_job() -> None:
    with Client() as client:  # EDM_BASE_URL and EDM_API_KEY from the environment
        record_completion(client, "p1", "Kubernetes")
"""

USER_TESTS = """
import httpx
import pytest

import userapp

PORT = {port}  # nobody listens here: a request that gets out is refused on this machine


def test_record_completion(edm, edm_fake):
    record = userapp.record_completion(edm, "p1", "Kubernetes")
    assert edm_fake.records() == [record]


async def test_course_titles(edm_async, edm_fake):
    with edm_fake.client() as client:
        userapp.record_completion(client, "p1", "AWS")
    assert await userapp.course_titles(edm_async, "p1") == ["AWS"]


def test_each_test_gets_a_fresh_fake(edm_fake):
    assert edm_fake.records() == []


def test_job_through_mock(edm_fake, monkeypatch):
    with edm_fake.mock(base_url="https://edm.example.com") as api:
        for name, value in api.environ.items():
            monkeypatch.setenv(name, value)
        userapp.sync_job()
    assert [record.title for record in edm_fake.records()] == ["Kubernetes"]


def test_calls_out(edm_fake):
    httpx.get(f"http://127.0.0.1:{{PORT}}/v1/things?page=2")


async def test_calls_out_async(edm_async):
    async with httpx.AsyncClient() as client:
        await client.post(f"http://localhost:{{PORT}}/hook", json={{}})


def test_calls_out_and_swallows_the_failure(edm):
    try:
        httpx.get(f"http://127.0.0.1:{{PORT}}/swallowed")
    except BaseException:
        pass


def test_calls_out_through_a_tunnelling_proxy(edm_fake):
    with httpx.Client(proxy=f"http://127.0.0.1:{{PORT}}") as client:
        client.get("https://api.example.com/v1/things")


def test_calls_out_through_a_forwarding_proxy(edm_fake):
    with httpx.Client(proxy=f"http://127.0.0.1:{{PORT}}") as client:
        client.get("http://api.example.com/v1/things")


def test_job_without_mock(edm_fake, monkeypatch):
    monkeypatch.setenv("EDM_BASE_URL", edm_fake.base_url)
    monkeypatch.setenv("EDM_API_KEY", edm_fake.issue_token())
    userapp.sync_job()


@pytest.mark.edm_allow_hosts("127.0.0.1")
def test_allowed_by_marker(edm_fake):
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{{PORT}}/")


def test_allowed_by_ini(edm_fake):
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.2:{{PORT}}/")


def test_allowed_at_run_time(edm_fake, edm_network_guard):
    edm_network_guard.allow(f"http://127.0.0.3:{{PORT}}")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.3:{{PORT}}/")


def test_own_mock_transport(edm):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={{"ok": True}}))
    with httpx.Client(transport=transport) as client:
        assert client.get("https://api.example.com/v1/things").json() == {{"ok": True}}


async def test_own_mock_transport_async(edm_async):
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("https://api.example.com/v1/things")).status_code == 204


def test_own_respx_mock(edm):
    import respx

    with respx.mock:
        respx.get("https://api.example.com/v1/things").respond(200, json={{"ok": 1}})
        assert httpx.get("https://api.example.com/v1/things").json() == {{"ok": 1}}


def test_without_fixtures_after_guarded_tests():
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{{PORT}}/")
"""

USER_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
edm_allow_hosts = example.org 127.0.0.2
"""


@dataclass
class Outcome:
    passed: bool
    text: str


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest as a user runs it: plugins autoloaded, no settings of ours or the caller's."""
    unset = ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS")
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("EDM_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def port(unused_tcp_port_factory: Callable[[], int]) -> int:
    """A loopback port nobody listens on."""
    return unused_tcp_port_factory()


@pytest.fixture(scope="module")
def user_project(tmp_path_factory: pytest.TempPathFactory, port: int) -> Path:
    project = tmp_path_factory.mktemp("user_project")
    (project / "pytest.ini").write_text(USER_INI)
    (project / "userapp.py").write_text(USER_APP)
    (project / "test_userapp.py").write_text(USER_TESTS.format(port=port))
    return project


@pytest.fixture(scope="module")
def outcomes(user_project: Path) -> dict[str, Outcome]:
    run = run_pytest(user_project, "--junitxml=report.xml")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    results = {}
    for case in ET.parse(user_project / "report.xml").iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        text = "\n".join(f"{p.get('message', '')}\n{p.text or ''}" for p in problems)
        results[case.get("name", "")] = Outcome(not problems, text)
    return results


def test_fixtures_load_through_the_entry_point_of_the_installed_package(
    outcomes: dict[str, Outcome],
) -> None:
    for name in ("test_record_completion", "test_course_titles"):
        assert outcomes[name].passed, outcomes[name].text


def test_each_test_gets_a_fresh_fake(outcomes: dict[str, Outcome]) -> None:
    assert outcomes["test_each_test_gets_a_fresh_fake"].passed


def test_mock_serves_an_app_client_built_from_the_environment(
    outcomes: dict[str, Outcome],
) -> None:
    assert outcomes["test_job_through_mock"].passed, outcomes["test_job_through_mock"].text


def test_request_to_another_host_fails_the_test_naming_the_url_and_the_way_out(
    outcomes: dict[str, Outcome], port: int
) -> None:
    outcome = outcomes["test_calls_out"]

    assert not outcome.passed
    assert (
        f"network guard blocked a real HTTP request: GET http://127.0.0.1:{port}/v1/things?page=2"
        in outcome.text
    )
    assert f'@pytest.mark.edm_allow_hosts("127.0.0.1:{port}")' in outcome.text
    assert "ConnectError" not in outcome.text


def test_async_request_to_another_host_fails_the_test(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["test_calls_out_async"]

    assert not outcome.passed
    assert "network guard blocked a real HTTP request: POST http://localhost:" in outcome.text


def test_blocked_request_fails_the_test_even_when_the_code_catches_it(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes["test_calls_out_and_swallows_the_failure"]

    assert not outcome.passed
    assert "blocked real HTTP requests that the code under test then caught" in outcome.text
    assert "/swallowed" in outcome.text


@pytest.mark.parametrize(
    ("name", "blocked"),
    [
        ("test_calls_out_through_a_tunnelling_proxy", "CONNECT https://api.example.com\n"),
        ("test_calls_out_through_a_forwarding_proxy", "GET http://api.example.com/v1/things\n"),
    ],
)
def test_request_through_a_proxy_is_blocked_naming_the_real_destination(
    outcomes: dict[str, Outcome], name: str, blocked: str
) -> None:
    outcome = outcomes[name]

    assert not outcome.passed
    assert f"blocked a real HTTP request: {blocked}" in outcome.text
    assert 'edm_allow_hosts("api.example.com")' in outcome.text


def test_sdk_client_not_wired_to_the_fake_is_pointed_to_mock(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes["test_job_without_mock"]

    assert not outcome.passed
    assert "POST https://edm.fake.test/api/v1/performance/learning-records" in outcome.text
    assert 'with edm_fake.mock(base_url="https://edm.fake.test")' in outcome.text


@pytest.mark.parametrize(
    "name", ["test_allowed_by_marker", "test_allowed_by_ini", "test_allowed_at_run_time"]
)
def test_allowed_host_goes_out_to_the_network(outcomes: dict[str, Outcome], name: str) -> None:
    assert outcomes[name].passed, outcomes[name].text


@pytest.mark.parametrize(
    "name", ["test_own_mock_transport", "test_own_mock_transport_async", "test_own_respx_mock"]
)
def test_the_users_own_httpx_mocks_are_not_blocked(outcomes: dict[str, Outcome], name: str) -> None:
    assert outcomes[name].passed, outcomes[name].text


def test_tests_without_the_fixtures_are_not_guarded(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["test_without_fixtures_after_guarded_tests"]

    assert outcome.passed, outcome.text


def test_plugin_is_registered_as_edm_client(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.get_plugin("edm_client") is _edm_client_pytest


def test_disabling_the_plugin_removes_its_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_uses_edm.py").write_text("def test_uses_edm(edm):\n    pass\n")

    run = run_pytest(tmp_path, "-p", "no:edm_client")

    assert "fixture 'edm' not found" in run.stdout


def test_loading_the_plugin_imports_nothing_of_the_sdk() -> None:
    code = (
        "import sys, _edm_client_pytest\n"
        "heavy = ('edm_client', 'httpx', 'httpcore', 'pydantic', 'respx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("entry", "host", "port"),
    [
        ("api.example.com", "API.example.com", 8443),
        ("localhost:8080", "localhost", 8080),
        ("*.internal.example", "db.eu.internal.example", 443),
        ("*.internal.example", "internal.example", 443),
        ("https://edm.example.com", "edm.example.com", 443),
        ("[::1]:8000", "::1", 8000),
    ],
)
def test_allow_accepts_a_host_host_port_wildcard_or_url(
    edm_network_guard: NetworkGuard, entry: str, host: str, port: int
) -> None:
    edm_network_guard.allow(entry)

    assert edm_network_guard.is_allowed(host, port)


@pytest.mark.parametrize(
    ("entry", "host", "port"),
    [
        ("localhost:8080", "localhost", 8081),
        ("*.internal.example", "evilinternal.example", 443),
        ("https://edm.example.com", "edm.example.com", 80),
    ],
)
def test_allow_lets_nothing_else_through(
    edm_network_guard: NetworkGuard, entry: str, host: str, port: int
) -> None:
    edm_network_guard.allow(entry)

    assert not edm_network_guard.is_allowed(host, port)


@pytest.mark.parametrize("entry", ["", "http://", "host:port"])
def test_allow_rejects_what_is_not_a_host(edm_network_guard: NetworkGuard, entry: str) -> None:
    with pytest.raises(ValueError, match="host"):
        edm_network_guard.allow(entry)
