"""Logging under the `edm_client` logger; `EDM_LOG=debug` prints request lines, never the token."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap

import httpx
import pytest

from _helpers import Api, api_fixture, inprocess_only, sleeps_fixture

api = api_fixture()
sleeps = sleeps_fixture()

RESPONSE_LINE = re.compile(
    r"(GET|POST) https?://\S+ -> (\d{3}) \(attempt (\d+), request id (req_\w+), [\d.]+ ms\)"
)


def _token_of(api: Api) -> str:
    return api.server.requests[0].headers["Authorization"].removeprefix("Bearer ")


async def test_debug_lines_carry_method_url_status_attempt_request_id_and_time(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")

    record = await api.create()
    await api.get(record.id)

    lines = [r.getMessage() for r in caplog.records if r.name == "edm_client"]
    matches = [RESPONSE_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [(m[1], m[2], m[3]) for m in matches if m] == [("POST", "201", "1"), ("GET", "200", "1")]
    assert all(m[4].startswith("req_") for m in matches if m)
    assert record.id in lines[1]


@inprocess_only
async def test_retries_are_logged_with_their_attempt_number(
    api: Api, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")
    api.server.inject_fault(status=503)
    api.server.inject_fault(exception=httpx.ConnectError)

    await api.list()

    messages = [r.getMessage() for r in caplog.records]
    assert any("-> 503 (attempt 1" in m for m in messages)
    assert any("(attempt 2)" in m and "Could not reach" in m for m in messages)
    assert any("-> 200 (attempt 3" in m for m in messages)
    retries = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    assert "retry 1 of 2" in retries[0].getMessage()


async def test_no_log_record_contains_the_token(
    api: Api, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)
    api.server.inject_fault(status=429, retry_after=0)

    record = await api.create()
    await api.get(record.id)
    await api.list()

    token = _token_of(api)
    assert caplog.records
    for log_record in caplog.records:
        assert token not in log_record.getMessage()
        assert token not in str(log_record.args)
    assert token not in caplog.text


async def test_nothing_is_logged_at_debug_unless_enabled(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edm_client")

    await api.list()

    assert [r for r in caplog.records if r.name == "edm_client"] == []


_SCRIPT = textwrap.dedent(
    """
    from edm_client.testing import FakeServer

    server = FakeServer()
    token = server.issue_token()
    with server.client(token) as client:
        record = client.performance.learning_records.create(person_id="p1", title="CKA")
        client.performance.learning_records.get(record.id)
    print("TOKEN", token)
    """
)


def _run(env_value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EDM_LOG"}
    if env_value is not None:
        env["EDM_LOG"] = env_value
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_edm_log_debug_prints_request_lines_to_stderr_without_the_token() -> None:
    result = _run("debug")

    token = result.stdout.split("TOKEN ", 1)[1].strip()
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert all(" edm_client DEBUG " in line for line in lines)
    assert "POST https://edm.fake.test/api/v1/performance/learning-records -> 201" in lines[0]
    assert "(attempt 1, request id req_" in lines[0]
    assert "GET https://edm.fake.test/api/v1/performance/learning-records/per_" in lines[1]
    assert token not in result.stderr
    assert "Bearer" not in result.stderr
    assert "Authorization" not in result.stderr


def test_without_edm_log_nothing_is_printed() -> None:
    assert _run(None).stderr == ""
