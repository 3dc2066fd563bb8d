"""`python -m edm_client.testing serve`, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx
import pytest

from edm_client import Client
from edm_client.testing import FakeServer


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "edm_client.testing", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _stop(process: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def _lines(process: subprocess.Popen[str], count: int) -> Sequence[str]:
    assert process.stdout is not None
    return [process.stdout.readline() for _ in range(count)]


def test_serve_prints_a_ready_base_url_and_token_as_json_and_stops_on_ctrl_c() -> None:
    with running("--seed-demo-data", "--json") as process:
        (line,) = _lines(process, 1)
        ready = json.loads(line)
        with Client(api_key=ready["token"], base_url=ready["base_url"]) as client:
            titles = [r.title for r in client.performance.learning_records.list()]

        returncode, stderr = _stop(process, signal.SIGINT)

    assert ready["seeded_records"] == len(titles) > 0
    assert ready["openapi_url"] == ready["base_url"] + "/api/v1/openapi.json"
    assert titles == [r.title for r in FakeServer().seed_demo_data()]
    assert returncode == 0
    assert "stopped" in stderr
    assert "Traceback" not in stderr


def test_serve_prints_environment_lines_and_stops_on_sigterm() -> None:
    with running() as process:
        base_url_line, api_key_line = _lines(process, 2)
        base_url = base_url_line.strip().removeprefix("EDM_BASE_URL=")
        token = api_key_line.strip().removeprefix("EDM_API_KEY=")
        response = httpx.get(
            base_url + "/api/v1/performance/learning-records",
            headers={"Authorization": f"Bearer {token}"},
        )

        returncode, stderr = _stop(process, signal.SIGTERM)

    assert base_url_line.startswith("EDM_BASE_URL=http://127.0.0.1:")
    assert api_key_line.startswith("EDM_API_KEY=")
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}
    assert returncode == 0
    assert "Traceback" not in stderr


def test_serve_listens_on_the_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with running("--port", str(port), "--json") as process:
        (line,) = _lines(process, 1)
        returncode, _ = _stop(process, signal.SIGINT)

    assert json.loads(line)["base_url"] == f"http://127.0.0.1:{port}"
    assert returncode == 0


def test_serve_on_a_port_in_use_exits_with_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with running("--port", str(port)) as process:
            _, stderr = process.communicate(timeout=30)

    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr


def test_serve_closes_a_stalled_connection_after_the_idle_timeout_given() -> None:
    with running("--idle-timeout", "0.5", "--json") as process:
        url = httpx.URL(json.loads(_lines(process, 1)[0])["base_url"])
        with socket.create_connection((url.host, url.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            answer = sock.recv(65536)
        returncode, _ = _stop(process, signal.SIGINT)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert returncode == 0


def test_the_announced_control_url_answers_and_allow_host_adds_a_name() -> None:
    with running("--allow-host", "edm-fake", "--json") as process:
        ready = json.loads(_lines(process, 1)[0])
        port = httpx.URL(ready["base_url"]).port
        index = httpx.get(ready["control_url"], trust_env=False)
        reset = ready["base_url"] + "/_fake/reset"
        by_name = httpx.post(reset, headers={"Host": f"edm-fake:{port}"}, trust_env=False)
        by_other = httpx.post(reset, headers={"Host": f"rebind.example:{port}"}, trust_env=False)
        _stop(process, signal.SIGINT)

    assert index.status_code == by_name.status_code == 200
    assert by_other.status_code == 403


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve", "--port", "many"],
        ["serve", "--idle-timeout", "0"],
        ["serve", "--idle-timeout", "soon"],
        ["serve", "--idle-timeout", "1e10"],
        ["serve", "--allow-host", "edm-fake:8080"],
    ],
)
def test_bad_arguments_exit_with_usage(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edm_client.testing", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert "usage:" in result.stderr
