"""The `edm` command line, run as a subprocess: against `--fake`, or a fake served on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edm_client import __version__
from edm_client.testing import FakeServer, TokenBucket
from edm_client.types import LearningRecord
from hostile import hostile_server
from loopback import serve

EDM = str(Path(sys.executable).with_name("edm"))


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """`edm ARGS` with no EDM_* variables but those given; output captured as text."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDM_")}
    return subprocess.run(
        [EDM, *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`edm ARGS` with stdout and stderr on a pseudo-terminal, as a person would run it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDM_")}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [EDM, *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**clean, **(env or {})},
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode().replace("\r\n", "\n")


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def demo() -> list[dict]:
    """The records `--fake` is seeded with, as `list` prints them."""
    return jsonl(run("--fake", "learning-records", "list").stdout)


@pytest.fixture
def fake() -> FakeServer:
    """A fresh fake for one test; the CLI reaches it through `served`, over a socket.

    Named `fake`, not `server`: the CLI always talks over a socket, so these tests need no
    in-process/socket parametrization.
    """
    return FakeServer()


@pytest.fixture
def served(fake: FakeServer) -> Iterator[dict[str, str]]:
    """`fake` on a loopback port: the EDM_* environment that reaches it."""
    with serve(fake) as loopback:
        yield {"EDM_BASE_URL": loopback.base_url, "EDM_API_KEY": fake.issue_token()}


@pytest.fixture
def records(fake: FakeServer, served: dict[str, str]) -> Iterator[Any]:
    """`learning_records` of a client of `fake` (closed after the test), to set the stage."""
    with fake.client() as client:
        yield client.performance.learning_records


CSV_ROWS = """\
person_id,title,provider,score,passed,completed_at,expires_at
p1,AWS Solutions Architect,AWS,87.5,true,2026-03-01T09:30:00Z,2029-03-01
p2,Kubernetes Fundamentals,CNCF,90,false,2026-03-02,
p3,"Title with, a comma",Coursera,,,,
"""


@pytest.fixture
def lms_csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(CSV_ROWS)
    return path


# -- the program -----------------------------------------------------------------------------


def test_help_documents_the_exit_codes_and_environment():
    result = run("--help")

    assert result.returncode == 0
    for text in ("exit codes:", "0    success", "1    an API or data error", "2    a usage"):
        assert text in result.stdout
    assert "EDM_BASE_URL" in result.stdout
    assert "EDM_API_KEY" in result.stdout


def test_version_prints_the_package_version():
    result = run("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"edm {__version__}"


def test_python_dash_m_edm_client_is_the_same_command_line(demo):
    result = subprocess.run(
        [sys.executable, "-m", "edm_client", "--fake", "learning-records", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    assert len(jsonl(result.stdout)) == len(demo)


def test_importing_edm_client_does_not_import_the_command_line():
    code = "import sys, edm_client; print('edm_client._cli' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "False"


def test_an_unknown_command_is_a_usage_error():
    result = run("learning-records", "delete", "per_1")

    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_a_command_group_without_a_command_prints_help_and_exits_2():
    result = run("learning-records")

    assert result.returncode == 2
    assert "list" in result.stderr


def test_missing_configuration_says_which_flag_or_variable_to_set():
    result = run("learning-records", "list")

    assert result.returncode == 2
    assert "--base-url or set EDM_BASE_URL" in result.stderr
    assert "--api-key or set EDM_API_KEY" in result.stderr
    assert "--fake" in result.stderr


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_malformed_base_url_is_a_usage_error(how):
    if how == "flag":
        result = run("learning-records", "list", "--base-url", "edm.example.com", "--api-key", "k")
    else:
        env = {"EDM_BASE_URL": "edm.example.com", "EDM_API_KEY": "k"}
        result = run("learning-records", "list", env=env)

    assert result.returncode == 2
    assert "base_url 'edm.example.com' must be an http:// or https:// URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_plain_http_base_url_is_warned_about_in_one_line():
    # The proxy (a closed loopback port) keeps the request on this machine.
    env = {"EDM_BASE_URL": "http://edm.example.com", "EDM_API_KEY": "k"}
    result = run(
        "learning-records", "list", "--max-retries", "0",
        env={**env, "HTTP_PROXY": "http://127.0.0.1:1", "NO_PROXY": ""},
    )  # fmt: skip

    assert result.returncode == 1
    warning = "edm: warning: base_url 'http://edm.example.com' uses plain http://"
    assert result.stderr.startswith(warning)
    assert ".py:" not in result.stderr


def test_global_options_work_after_the_command_too(demo):
    result = run("learning-records", "list", "--fake", "--timeout", "5", "--max-retries", "0")

    assert result.returncode == 0
    assert len(jsonl(result.stdout)) == len(demo)


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--timeout", "soon"], ["--max-retries", "-1"], ["--page-size", "500"]],
)
def test_a_bad_option_value_is_a_usage_error(args):
    result = run("--fake", "learning-records", "list", *args)

    assert result.returncode == 2
    assert "must be" in result.stderr


def test_verbose_logs_every_request_without_the_token(served):
    result = run("-v", "learning-records", "list", env=served)

    assert result.returncode == 0
    assert "GET http://127.0.0.1" in result.stderr
    assert "-> 200" in result.stderr
    assert served["EDM_API_KEY"] not in result.stderr + result.stdout


def test_flags_override_the_environment(served):
    env = {"EDM_BASE_URL": "http://127.0.0.1:9", "EDM_API_KEY": "not-this-one"}
    result = run(
        "--base-url", served["EDM_BASE_URL"], "--api-key", served["EDM_API_KEY"],
        "learning-records", "list", env=env,
    )  # fmt: skip

    assert result.returncode == 0


def test_an_api_error_prints_message_and_request_id_without_a_traceback(served):
    result = run("learning-records", "get", "per_missing", env=served)

    assert result.returncode == 1
    assert result.stderr.startswith("edm: error: 404 Not Found")
    assert "request id req_" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_unreachable_server_is_an_api_error_without_a_traceback():
    result = run(
        "--base-url", "http://127.0.0.1:9", "--api-key", "k", "--max-retries", "0",
        "learning-records", "list",
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.startswith("edm: error: Could not reach the EDM API")
    assert "Traceback" not in result.stderr


def test_a_rejected_token_is_an_api_error(served):
    result = run("learning-records", "list", env={**served, "EDM_API_KEY": "garbage"})

    assert result.returncode == 1
    assert "401" in result.stderr
    assert "Traceback" not in result.stderr


# -- list and get ----------------------------------------------------------------------------


def test_list_prints_jsonl_when_piped(demo):
    assert len(demo) >= 5  # --fake is seeded with a few demo records
    assert {"id", "title", "person_id", "created_at"} <= demo[0].keys()
    assert all(record["id"] for record in demo)


def test_list_prints_a_table_on_a_terminal(demo):
    code, output = run_on_terminal("--fake", "learning-records", "list")

    assert code == 0
    assert output.splitlines()[0].split()[:2] == ["id", "title"]
    assert demo[0]["title"][:20] in output


def test_get_prints_fields_on_a_terminal(served, fake, records):
    record = records.create(person_id="p", title="T")

    code, output = run_on_terminal("learning-records", "get", record.id, env=served)

    assert code == 0
    assert f"id                {record.id}".split() == output.splitlines()[0].split()


def test_list_as_json_is_one_array(demo):
    result = run("--fake", "learning-records", "list", "--format", "json")

    assert [r["title"] for r in json.loads(result.stdout)] == [r["title"] for r in demo]


def test_list_as_csv_has_a_header_of_every_field(demo):
    result = run("--fake", "learning-records", "list", "--format", "csv")

    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)
    assert reader.fieldnames == list(LearningRecord.model_fields)
    assert [r["title"] for r in rows] == [r["title"] for r in demo]
    passed = {"True": "true", "False": "false", "None": ""}
    assert [r["passed"] for r in rows] == [passed[str(r["passed"])] for r in demo]


def test_list_as_a_table_aligns_the_main_columns(demo):
    result = run("--fake", "learning-records", "list", "--format", "table", env={"COLUMNS": "200"})

    header, rule, first, *_ = result.stdout.splitlines()
    assert header.split() == [
        "id", "person_id", "title", "provider", "score", "passed", "completed_at", "expires_at"
    ]  # fmt: skip
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.index(demo[0]["title"][:20]) == header.index("title")


def test_list_applies_every_filter(served, fake, records):
    records.create(person_id="p1", title="A", provider="AWS", passed=True, linked_cohort_id="c1")
    wanted = records.create(
        person_id="p1", title="B", provider="AWS", passed=False,
        linked_cohort_id="c1", linked_assessment_id="a1",
    )  # fmt: skip
    records.create(person_id="p2", title="C", provider="AWS", passed=False)

    result = run(
        "learning-records", "list", "--person-id", "p1", "--provider", "AWS",
        "--passed", "false", "--linked-cohort-id", "c1", "--linked-assessment-id", "a1",
        env=served,
    )  # fmt: skip

    assert [r["id"] for r in jsonl(result.stdout)] == [wanted.id]


def test_list_includes_deleted_records_only_when_asked(served, fake, records):
    record = records.create(person_id="p", title="Gone")
    fake.soft_delete(record.id, by="admin")

    without = run("learning-records", "list", env=served)
    with_deleted = run("learning-records", "list", "--include-deleted", env=served)

    assert jsonl(without.stdout) == []
    assert [r["is_deleted"] for r in jsonl(with_deleted.stdout)] == [True]


def test_list_limit_stops_after_that_many_records():
    result = run("--fake", "learning-records", "list", "--limit", "3")

    assert len(jsonl(result.stdout)) == 3


def test_get_prints_the_record_as_json_when_piped(served, fake, records):
    record = records.create(person_id="p", title="T")

    result = run("learning-records", "get", record.id, env=served)

    assert result.returncode == 0
    assert json.loads(result.stdout)["id"] == record.id


def test_get_as_a_table_lists_the_fields_that_are_set(served, fake, records):
    record = records.create(person_id="p", title="T")

    result = run("learning-records", "get", record.id, "--format", "table", env=served)

    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["id"] == record.id
    assert lines["title"] == "T"
    assert "score" not in lines


# -- create ----------------------------------------------------------------------------------


def test_create_sends_every_writable_field(served, fake):
    result = run(
        "learning-records", "create", "--person-id", "p1", "--title", "AWS SA",
        "--provider", "AWS", "--completed-at", "2026-03-01T09:30:00Z",
        "--expires-at", "2029-03-01", "--score", "87.5", "--passed", "true",
        "--certification-ref", "https://cert/1", "--linked-cohort-id", "c1",
        "--linked-assessment-id", "a1", "--source", "lms", "--source-type", "backend",
        env=served,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    (stored,) = fake.records()
    assert json.loads(result.stdout)["id"] == stored.id
    assert stored.model_dump(include={"score", "passed", "source", "linked_assessment_id"}) == {
        "score": 87.5, "passed": True, "source": "lms", "linked_assessment_id": "a1"
    }  # fmt: skip
    assert stored.expires_at is not None
    assert stored.expires_at.isoformat() == "2029-03-01T00:00:00+00:00"


def test_create_with_an_idempotency_key_twice_stores_once(served, fake):
    args = ("learning-records", "create", "--person-id", "p", "--title", "T")
    first = run(*args, "--idempotency-key", "k-1", env=served)
    second = run(*args, "--idempotency-key", "k-1", env=served)

    assert json.loads(first.stdout)["id"] == json.loads(second.stdout)["id"]
    assert len(fake.records()) == 1


def test_create_with_a_value_the_api_rejects_exits_1_without_a_request(served, fake):
    result = run(
        "learning-records", "create", "--person-id", "p", "--title", "T", "--score", "140",
        env=served,
    )  # fmt: skip

    assert result.returncode == 1
    assert "score: must be between 0 and 100" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize("args", [["--score", "high"], ["--passed", "maybe"], []])
def test_create_with_a_malformed_or_missing_option_is_a_usage_error(args):
    required = ["--person-id", "p"] if not args else ["--person-id", "p", "--title", "T"]
    result = run("--fake", "learning-records", "create", *required, *args)

    assert result.returncode == 2
    assert "usage:" in result.stderr


# -- import ----------------------------------------------------------------------------------


def test_import_creates_every_row_and_prints_a_summary(served, fake, lms_csv):
    result = run("learning-records", "import", str(lms_csv), env=served)

    assert result.returncode == 0, result.stderr
    assert "3 created, 0 already imported, 0 failed, 0 invalid" in result.stdout
    by_title = {r.title: r for r in fake.records()}
    assert by_title["AWS Solutions Architect"].score == 87.5
    assert by_title["Kubernetes Fundamentals"].passed is False
    assert "Title with, a comma" in by_title


def test_running_the_same_import_again_creates_nothing_twice(served, fake, lms_csv):
    first = run("learning-records", "import", str(lms_csv), env=served)
    again = run("learning-records", "import", str(lms_csv), env=served)

    assert (first.returncode, again.returncode) == (0, 0)
    assert len(fake.records()) == 3
    assert "0 created, 3 already imported" in again.stdout


def test_an_import_interrupted_half_way_resumes_without_duplicates(served, fake, tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [{"person_id": f"p{i}", "title": f"Course {i}"} for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    run("learning-records", "import", str(path), env=served)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = run("learning-records", "import", str(path), env=served)

    assert "3 created, 3 already imported" in result.stdout
    assert sorted(r.title for r in fake.records()) == [f"Course {i}" for i in range(6)]


def test_an_import_stopped_with_ctrl_c_finishes_when_run_again(served, fake, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"person_id": "p", "title": f"T{i}"}) + "\n"
                            for i in range(60)))  # fmt: skip
    fake.inject_fault(delay=0.05, probability=1.0, seed=1)  # a slow server
    args = [EDM, "learning-records", "import", str(path), "--concurrency", "2"]
    # A suite started in the background of a shell runs with SIGINT ignored, which a child
    # inherits (and keeps): with a handler here instead, the child starts with the default.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            args, env={**os.environ, **served}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    while len(fake.records()) < 4 and process.poll() is None:
        threading.Event().wait(0.01)  # until a few rows are in
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    fake.clear_faults()
    stored_before = len(fake.records())

    again = run("learning-records", "import", str(path), env=served)

    assert process.returncode == 130, (out, err)
    assert "interrupted; run the same import again to finish it" in err
    assert "Traceback" not in err
    assert again.returncode == 0, again.stderr
    assert f"{60 - stored_before} created, {stored_before} already imported" in again.stdout
    assert sorted(r.title for r in fake.records()) == sorted(f"T{i}" for i in range(60))


BAD_CSV = """\
person_id,title,score,passed,completed_at
p1,Good,50,true,2026-03-01T09:30:00Z
p2,,140,maybe,yesterday
p3,Also good,,,
,Missing person,,,
"""


def test_dry_run_reports_every_bad_row_with_line_field_and_message(served, fake, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)

    result = run("learning-records", "import", str(path), "--dry-run", env=served)

    assert result.returncode == 1
    problems = [
        line.split(": ", 2)[1:] for line in result.stderr.splitlines() if "bad.csv:" in line
    ]
    lines = [line.split(":")[1] for line in result.stderr.splitlines() if "bad.csv:" in line]
    assert lines == ["3", "3", "3", "3", "5"]
    assert sorted(field for field, _ in problems) == [
        "completed_at", "passed", "person_id", "score", "title"
    ]  # fmt: skip
    assert ["score", "must be between 0 and 100, not '140'"] in problems
    assert "dry run: 2 valid, 2 invalid" in result.stdout
    assert fake.requests == []


def test_a_valid_file_dry_run_sends_nothing_and_exits_0(served, fake, lms_csv):
    result = run("learning-records", "import", str(lms_csv), "--dry-run", env=served)

    assert result.returncode == 0
    assert "3 valid, 0 invalid" in result.stdout
    assert fake.requests == []


def test_invalid_rows_stop_the_import_before_anything_is_sent(served, fake, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)

    result = run("learning-records", "import", str(path), env=served)

    assert result.returncode == 1
    assert "nothing was imported" in result.stderr
    assert fake.requests == []


def test_skip_invalid_imports_the_rest_and_reports_the_bad_rows(served, fake, tmp_path):
    path, report = tmp_path / "bad.csv", tmp_path / "report.csv"
    path.write_text(BAD_CSV)

    result = run(
        "learning-records", "import", str(path), "--skip-invalid", "--report", str(report),
        env=served,
    )  # fmt: skip

    assert result.returncode == 1
    assert sorted(r.title for r in fake.records()) == ["Also good", "Good"]
    reported = list(csv.DictReader(io.StringIO(report.read_text())))
    assert [(r["_line"], r["person_id"]) for r in reported] == [("3", "p2"), ("5", "")]
    assert "score: must be between 0 and 100" in reported[0]["_error"]


def test_rows_the_api_refuses_go_to_the_report_which_imports_once_fixed(served, fake, tmp_path):
    path, report = tmp_path / "rows.jsonl", tmp_path / "failed.jsonl"
    path.write_text(
        "".join(json.dumps({"person_id": "p", "title": f"T{i}"}) + "\n" for i in range(3))
    )
    fake.inject_fault(status=400, method="POST", times=1)

    failed = run(
        "learning-records", "import", str(path), "--report", str(report), "--concurrency", "1",
        env=served,
    )  # fmt: skip

    assert failed.returncode == 1
    assert "rows.jsonl:1: 400" in failed.stderr
    (row,) = jsonl(report.read_text())
    assert (row["title"], row["_line"]) == ("T0", 1)
    assert "request id req_" in row["_error"]

    retried = run("learning-records", "import", str(report), env=served)

    assert retried.returncode == 0, retried.stderr
    assert sorted(r.title for r in fake.records()) == ["T0", "T1", "T2"]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_files_report_bad_rows_by_line(served, tmp_path, suffix):
    rows = [{"person_id": "p", "title": "ok"}, {"person_id": "p", "title": "x", "passed": "yes"}]
    text = "\n".join(map(json.dumps, rows)) + "\n"
    if suffix == ".json":
        text = "[\n" + text.replace("}\n{", "},\n{") + "]\n"
    path = tmp_path / f"rows{suffix}"
    path.write_text(text)

    result = run("learning-records", "import", str(path), "--dry-run", env=served)

    assert result.returncode == 1
    assert f"rows{suffix}:{2 if suffix == '.jsonl' else 3}: passed:" in result.stderr


def test_an_unknown_column_is_reported_and_server_owned_ones_are_ignored(served, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,person_id,title,colour\nper_1,p,T,blue\n")

    result = run("learning-records", "import", str(path), "--dry-run", env=served)

    assert result.returncode == 1
    assert "rows.csv: column 'colour' is not a field of a learning record" in result.stderr
    assert "ignoring server-owned columns: id" in result.stderr


def test_a_column_named_twice_in_the_header_is_a_data_error_before_anything_is_sent(
    served, fake, tmp_path
):
    path = tmp_path / "rows.csv"
    path.write_text("person_id,title,provider,title\np,Course,AWS,Other course\n")

    result = run("learning-records", "import", str(path), env=served)

    assert result.returncode == 1
    assert "column 'title' appears more than once in the header" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake.records() == []


def test_a_file_that_is_not_utf8_text_is_a_data_error_without_a_traceback(served, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes("person_id,title\np,Caf\u00e9\n".encode("latin-1"))

    result = run("learning-records", "import", str(path), env=served)

    assert result.returncode == 1
    assert "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_idempotency_key_column_is_reported_with_the_rows_problems(served, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(f"person_id,title,idempotency_key\np,T,{'k' * 300}\n")

    result = run("learning-records", "import", str(path), "--dry-run", env=served)

    assert result.returncode == 1
    rule = "must be 1 to 255 printable ASCII characters (no space first or last)"
    assert f"rows.csv:2: idempotency_key: {rule}, not 'kkk" in result.stderr
    assert "…' (300 characters)" in result.stderr


def test_a_missing_import_file_is_a_usage_error(served, tmp_path):
    result = run("learning-records", "import", str(tmp_path / "nope.csv"), env=served)

    assert result.returncode == 2
    assert "nope.csv" in result.stderr


def test_a_file_of_unknown_type_needs_format(served, tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text(CSV_ROWS)

    refused = run("learning-records", "import", str(path), env=served)
    accepted = run("learning-records", "import", str(path), "--format", "csv", env=served)

    assert refused.returncode == 2
    assert "--format" in refused.stderr
    assert accepted.returncode == 0


def test_import_draws_a_progress_bar_only_when_asked_or_on_a_terminal(served, lms_csv):
    piped = run("learning-records", "import", str(lms_csv), env=served)
    forced = run("learning-records", "import", str(lms_csv), "--progress", env=served)
    _, on_terminal = run_on_terminal("learning-records", "import", str(lms_csv), env=served)

    assert "importing [" not in piped.stderr
    assert "importing [##############################] 3/3 100%" in forced.stderr
    assert "importing [##############################] 3/3 100%" in on_terminal


def test_import_under_a_rate_limit_waits_it_out_and_creates_every_row_once(tmp_path):
    fake = FakeServer(rate_limit=TokenBucket(rate=10, burst=10))
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "".join(json.dumps({"person_id": "p", "title": f"T{i}"}) + "\n" for i in range(25))
    )

    with serve(fake) as loopback:
        env = {"EDM_BASE_URL": loopback.base_url, "EDM_API_KEY": fake.issue_token()}
        result = run("learning-records", "import", str(path), "--progress", env=env)

    assert result.returncode == 0, result.stderr
    assert "25 created, 0 already imported, 0 failed, 0 invalid" in result.stdout
    assert sorted(r.title for r in fake.records()) == sorted(f"T{i}" for i in range(25))
    assert "rate limited: waiting 1 s" in result.stderr
    assert "25/25 100%" in result.stderr


# -- export ----------------------------------------------------------------------------------


def test_export_writes_jsonl_to_stdout_by_default(demo):
    result = run("--fake", "learning-records", "export")

    assert [r["title"] for r in jsonl(result.stdout)] == [r["title"] for r in demo]


def test_export_takes_the_format_from_the_output_file(demo, tmp_path):
    out = tmp_path / "records.csv"
    provider = demo[0]["provider"]

    result = run("--fake", "learning-records", "export", "-o", str(out), "--provider", provider)

    expected = [r["title"] for r in demo if r["provider"] == provider]
    assert result.returncode == 0
    assert f"exported {len(expected)} records" in result.stderr
    assert [r["title"] for r in csv.DictReader(io.StringIO(out.read_text()))] == expected
    assert not out.with_name("records.csv.partial").exists()


def test_export_walks_every_page(served, fake, records):
    records.create_many([{"person_id": "p", "title": f"T{i}"} for i in range(7)])

    result = run("learning-records", "export", "--page-size", "2", env=served)

    assert len(jsonl(result.stdout)) == 7
    assert len([r for r in fake.requests if r.method == "GET"]) == 4


def test_export_then_import_elsewhere_copies_every_record(served, fake, tmp_path):
    out = tmp_path / "demo.csv"
    run("--fake", "learning-records", "export", "-o", str(out))

    result = run("learning-records", "import", str(out), env=served)

    assert result.returncode == 0, result.stderr
    assert "ignoring server-owned columns" in result.stderr
    exported = list(csv.DictReader(io.StringIO(out.read_text())))
    copied = {(r.person_id, r.title): r.model_dump(mode="json") for r in fake.records()}
    assert len(copied) == len(exported) == len(fake.records())
    for row in exported:
        copy = copied[row["person_id"], row["title"]]
        for field in ("provider", "completed_at", "expires_at", "certification_ref"):
            assert (copy[field] or "") == row[field]
        assert copy["score"] == (float(row["score"]) if row["score"] else None)


def test_export_progress_counts_records_when_asked(demo):
    result = run("--fake", "learning-records", "export", "--progress")

    assert f"exported {len(demo)}" in result.stderr


# -- fake serve ------------------------------------------------------------------------------


def test_fake_serve_help_and_errors_name_the_command_as_typed():
    helped = run("fake", "serve", "--help")
    refused = run("fake", "serve", "--bogus")

    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: edm fake serve ")
    assert refused.returncode == 2
    assert "edm fake: error: unrecognized arguments: --bogus" in refused.stderr
    assert "python -m" not in helped.stdout + refused.stderr


def test_fake_serve_is_python_dash_m_edm_client_testing_serve():
    direct = subprocess.run(
        [sys.executable, "-m", "edm_client.testing", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    through_edm = run("fake", "serve", "--help")

    assert (through_edm.returncode != 0) == (direct.returncode != 0)
    if direct.returncode == 0:
        assert "--port" in through_edm.stdout
    else:
        assert "edm_client.testing" in through_edm.stderr
        assert "Traceback" not in through_edm.stderr


def test_a_large_import_goes_in_chunks_and_reports_failures_by_line(served, fake, tmp_path):
    rows = [{"person_id": "p", "title": f"T{i}"} for i in range(1001)]
    rows[0]["idempotency_key"] = rows[1000]["idempotency_key"] = "same-key"  # a 409 for line 1001
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = run("learning-records", "import", str(path), "--concurrency", "16", env=served)

    assert result.returncode == 1
    assert "1000 created, 0 already imported, 1 failed" in result.stdout
    assert "rows.jsonl:1001: 409 Conflict" in result.stderr
    assert len(fake.records()) == 1000


def test_fake_with_a_base_url_is_a_usage_error():
    result = run("--fake", "--base-url", "https://edm.example.com", "learning-records", "list")

    assert result.returncode == 2
    assert "--fake" in result.stderr


def test_a_report_naming_the_imported_file_is_a_usage_error_and_leaves_it_alone(
    served, fake, lms_csv
):
    alias = lms_csv.parent / "." / lms_csv.name

    result = run("learning-records", "import", str(lms_csv), "--report", str(alias), env=served)

    assert result.returncode == 2
    assert "is the file being imported" in result.stderr
    assert lms_csv.read_text() == CSV_ROWS
    assert fake.records() == []


def test_a_report_is_written_even_when_every_row_was_imported(served, lms_csv, tmp_path):
    report = tmp_path / "report.csv"
    report.write_text("stale,from,an,earlier,run\n")

    result = run("learning-records", "import", str(lms_csv), "--report", str(report), env=served)

    assert result.returncode == 0
    assert list(csv.DictReader(io.StringIO(report.read_text()))) == []


def test_export_memory_stays_flat_however_many_records(served, fake, tmp_path, records):
    ref = "https://credentials.example/" + "x" * 1000  # big records, so keeping them would show
    few = [{"person_id": "p", "title": f"F{i}", "provider": "few"} for i in range(100)]
    many = [{"person_id": "p", "title": f"M{i}", "provider": "many", "certification_ref": ref}
            for i in range(4000)]  # fmt: skip
    assert records.create_many(few + many).ok

    def peak_kib(provider: str) -> int:
        out = tmp_path / f"{provider}.jsonl"
        args = ["learning-records", "export", "--provider", provider, "-o", str(out)]
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_MEMORY, *args],
            capture_output=True, text=True, env={**os.environ, **served}, timeout=120, check=True,
        )  # fmt: skip
        return int(result.stderr.rsplit("peak_kib=", 1)[1])

    small, large = peak_kib("few"), peak_kib("many")

    assert len((tmp_path / "many.jsonl").read_text().splitlines()) == 4000
    # Holding 4,000 such records would take over 16 MiB more; streaming takes a few pages'
    # worth (and what the garbage collector has not yet freed).
    assert large - small < 10 * 1024


_PEAK_MEMORY = """\
import runpy, sys
sys.argv = ["edm", *sys.argv[1:]]
try:
    runpy.run_module("edm_client", run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"peak_kib={peak}", file=sys.stderr)
"""


# -- a hostile server ------------------------------------------------------------------------


def test_an_error_echoing_the_token_and_terminal_escapes_prints_neither():
    token = FakeServer().issue_token()

    def answer(request: httpx.Request) -> httpx.Response:
        detail = "The gateway rejected these credentials: " * 3 + request.headers["authorization"]
        escape = {"X-Request-ID": "req_\x1b]0;owned\x07\x1b[31m"}
        return httpx.Response(401, json={"detail": detail}, headers=escape)

    with hostile_server(answer) as base_url:
        env = {"EDM_BASE_URL": base_url, "EDM_API_KEY": token}
        result = run("-v", "learning-records", "get", "per_1", env=env)

    assert result.returncode == 1
    assert "edm: error: 401 Unauthorized: The gateway rejected these credentials" in result.stderr
    assert r"(request id req_\x1b]0;owned\x07\x1b[31m)" in result.stderr
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", result.stderr)
    shown = result.stderr + result.stdout
    assert not any(token[i : i + 16] in shown for i in range(len(token) - 15))
