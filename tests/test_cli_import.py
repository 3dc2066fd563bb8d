"""`edm learning-records import` on files as LMSs export them: extra columns, other delimiters,
a byte-order mark, bad rows. Run in this process (`main`), against the fake in-process and
over a loopback socket; one test runs the installed `edm` as a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _helpers import inprocess_only
from edm_client.testing import FakeServer

Edm = Callable[..., Any]


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_text(text, encoding="utf-8-sig" if bom else "utf-8")
    return path


def titles(server: FakeServer) -> list[str]:
    return sorted(record.title for record in server.records())


def import_(edm_cli: Edm, path: Path, *args: str) -> Any:
    return edm_cli("learning-records", "import", path, *args)


# -- columns that are no field ---------------------------------------------------------------


EXTRA_COLUMN = """\
person_id,title,Manager Name
p1,Course 1,Ada
p2,Course 2,Grace
p3,Course 3,Edsger
"""


def test_an_unknown_column_is_reported_once_with_the_flags_that_go_on(edm_cli, server, tmp_path):
    result = import_(edm_cli, write(tmp_path / "rows.csv", EXTRA_COLUMN))

    assert result.code == 1
    assert result.err.count("Manager Name") == 2  # the column, and the --map example
    assert "column 'Manager Name' is not a field of a learning record" in result.err
    assert "--ignore-unknown-columns" in result.err
    assert "--map 'Manager Name=FIELD'" in result.err
    assert "an unknown column, so nothing was imported" in result.err
    assert server.requests == []


def test_ignore_unknown_columns_imports_the_rows_without_them(edm_cli, server, tmp_path):
    result = import_(
        edm_cli, write(tmp_path / "rows.csv", EXTRA_COLUMN), "--ignore-unknown-columns"
    )

    assert result.code == 0, result.err
    assert result.err == (
        "edm: note: ignoring column 'Manager Name': not a field of a learning record\n"
    )
    assert titles(server) == ["Course 1", "Course 2", "Course 3"]


def test_skip_invalid_skips_rows_not_an_unknown_column(edm_cli, server, tmp_path):
    result = import_(edm_cli, write(tmp_path / "rows.csv", EXTRA_COLUMN), "--skip-invalid")

    assert result.code == 1
    assert "--ignore-unknown-columns" in result.err
    assert server.records() == []


def test_a_near_miss_of_a_field_name_is_suggested(edm_cli, tmp_path):
    path = write(tmp_path / "rows.csv", "person_id,Titel\np,T\n")

    result = import_(edm_cli, path, "--dry-run")

    assert "column 'Titel' (did you mean 'title'?) is not a field" in result.err


def test_an_unknown_json_key_is_reported_once_with_its_first_line(edm_cli, tmp_path):
    rows = [{"person_id": "p", "title": f"T{i}", "colour": "blue"} for i in range(3)]
    path = write(tmp_path / "rows.jsonl", "".join(json.dumps(row) + "\n" for row in rows))

    result = import_(edm_cli, path, "--dry-run")

    assert result.code == 1
    assert result.err.count("colour") == 2
    assert "key 'colour' (line 1) is not a field of a learning record" in result.err


def test_a_missing_required_column_is_reported_once(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.csv", "person_id,Course Name\np1,A\np2,B\n")

    result = import_(edm_cli, path, "--ignore-unknown-columns", "--skip-invalid")

    assert result.code == 1
    assert f"{path}:2" not in result.err  # no line per row
    assert "no column gives title, which every learning record needs" in result.err
    assert "--map COLUMN=title" in result.err
    assert server.requests == []


# -- --map -----------------------------------------------------------------------------------


RAW_EXPORT = """\
User ID,Course Name,Completion Date,Score
p1,AWS Solutions Architect,2025-01-31,87.5
p2,Kubernetes Fundamentals,2025-02-01T09:30:00Z,90
"""


def test_map_reads_columns_as_fields(edm_cli, server, tmp_path):
    result = import_(
        edm_cli, write(tmp_path / "raw.csv", RAW_EXPORT),
        "--map", "User ID=person_id", "--map", "Course Name=title",
        "--map", "Completion Date=completed_at", "--map", "Score=score",
    )  # fmt: skip

    assert result.code == 0, result.err
    stored = {record.person_id: record for record in server.records()}
    assert stored["p1"].title == "AWS Solutions Architect"
    assert stored["p1"].completed_at.isoformat() == "2025-01-31T00:00:00+00:00"
    assert stored["p2"].score == 90


def test_map_of_a_json_key_reads_it_as_a_field(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.jsonl", json.dumps({"learner": "p1", "title": "T"}) + "\n")

    result = import_(edm_cli, path, "--map", "learner=person_id")

    assert result.code == 0, result.err
    assert [record.person_id for record in server.records()] == ["p1"]


def test_map_wins_over_a_column_named_like_another_field(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.csv", "person_id,title,provider\np,T,Workday\n")

    result = import_(edm_cli, path, "--map", "provider=source")

    assert result.code == 0, result.err
    (record,) = server.records()
    assert (record.source, record.provider) == ("Workday", None)


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (["Course Name=titel"], "'titel' is not a field of a learning record (did you mean"),
        (["Course Name=id"], "'id' is not a field of a learning record"),
        (["Course Name=title", "User ID=title"], "'Course Name' is mapped to title too"),
        (["Course Name=title", "Course Name=provider"], "column 'Course Name' is mapped twice"),
        (["Course Nme=title"], "has no column 'Course Nme' (did you mean 'Course Name'?)"),
    ],
)
def test_a_map_that_cannot_be_followed_is_a_usage_error(edm_cli, server, tmp_path, maps, message):
    args = [arg for value in maps for arg in ("--map", value)]

    result = import_(edm_cli, write(tmp_path / "raw.csv", RAW_EXPORT), *args)

    assert result.code == 2
    assert message in result.err
    assert server.requests == []


def test_a_map_and_a_column_that_give_one_field_is_a_usage_error(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.csv", "person_id,title,Course Name\np,T,Other\n")

    result = import_(edm_cli, path, "--map", "Course Name=title")

    assert result.code == 2
    assert "--map 'Course Name=title' and the column 'title' would both give title" in result.err
    assert server.requests == []


def test_a_malformed_map_is_a_usage_error(edm_cli, tmp_path):
    result = import_(edm_cli, write(tmp_path / "raw.csv", RAW_EXPORT), "--map", "title")

    assert result.code == 2
    assert 'argument --map: must be "Column Name=field"' in result.err


# -- delimiters ------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_found_from_the_header(edm_cli, server, tmp_path, delimiter):
    d = delimiter
    text = f'person_id{d}title{d}score\np1{d}"A, with a comma"{d}50\np2{d}B{d}60\n'

    result = import_(edm_cli, write(tmp_path / "rows.csv", text))

    assert result.code == 0, result.err
    assert titles(server) == ["A, with a comma", "B"]


def test_a_header_that_splits_two_ways_asks_for_the_delimiter(edm_cli, server, tmp_path):
    path = write(tmp_path / "raw.csv", "User;Course, Name;Date\np;T;2025-01-01\n")

    result = import_(edm_cli, path)

    assert result.code == 2
    assert "the file looks semicolon-separated; pass --delimiter ';'" in result.err.lower()
    assert server.requests == []


def test_the_delimiter_option_settles_it(edm_cli, server, tmp_path):
    path = write(tmp_path / "raw.csv", "User;Course, Name\np;T\n")

    result = import_(
        edm_cli, path, "--delimiter", ";", "--map", "User=person_id", "--map", "Course, Name=title"
    )

    assert result.code == 0, result.err
    assert titles(server) == ["T"]


def test_a_tab_delimiter_can_be_typed_as_backslash_t(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.tsv", "person_id\ttitle\np\tT\n")

    result = import_(edm_cli, path, "--format", "csv", "--delimiter", "\\t")

    assert result.code == 0, result.err
    assert titles(server) == ["T"]


def test_an_excel_sep_line_names_the_delimiter(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.csv", "sep=;\nperson_id;title;score\np;T, too;5\n", bom=True)

    result = import_(edm_cli, path, "--dry-run")

    assert result.code == 0, result.err
    assert "dry run: 1 valid, 0 invalid" in result.out


def test_a_delimiter_for_a_json_file_is_a_usage_error(edm_cli, tmp_path):
    path = write(tmp_path / "rows.jsonl", json.dumps({"person_id": "p", "title": "T"}) + "\n")

    result = import_(edm_cli, path, "--delimiter", ";")

    assert result.code == 2
    assert "--delimiter is for CSV files" in result.err


def test_a_semicolon_file_may_write_decimal_commas(edm_cli, server, tmp_path):
    path = write(tmp_path / "rows.csv", "person_id;title;score\np;T;87,5\n")

    result = import_(edm_cli, path)

    assert result.code == 0, result.err
    assert [record.score for record in server.records()] == [87.5]


# -- what a row error says -------------------------------------------------------------------


DATETIME_RULE = "must be an RFC 3339 date-time with an offset"
DATETIME_EXAMPLE = "(e.g. 2025-01-31T09:00:00Z or 2025-01-31)"


@pytest.mark.parametrize(
    "case",
    [
        ("score", "high", "must be a number", " (e.g. 87.5)"),
        ("score", "140", "must be between 0 and 100", ""),
        ("passed", "maybe", "must be true or false (or yes/no, 1/0)", ""),
        ("completed_at", "2025-13-45", DATETIME_RULE, DATETIME_EXAMPLE),
        ("expires_at", "31/01/2025", DATETIME_RULE, DATETIME_EXAMPLE),
        ("completed_at", "2025-01-31 09:00", DATETIME_RULE, DATETIME_EXAMPLE),
        ("source_type", "web", "must be one of frontend, backend, server, system, api", ""),
    ],
)
def test_a_row_error_names_the_refused_value_and_what_is_accepted(edm_cli, tmp_path, case):
    column, value, rule, example = case
    path = write(tmp_path / "rows.csv", f"person_id,title,{column}\np,T,{value}\n")

    result = import_(edm_cli, path, "--dry-run")

    (line,) = [line for line in result.err.splitlines() if line.startswith(f"{path}:2: ")]
    assert line.startswith(f"{path}:2: {column}: {rule}")
    # The rule may go on (" or a date YYYY-MM-DD"); the example and the value end the line.
    assert line.endswith(f"{example}, not '{value}'")


def test_a_json_row_error_shows_the_json_value(edm_cli, tmp_path):
    path = write(
        tmp_path / "rows.jsonl", json.dumps({"person_id": "p", "title": "T", "score": 140})
    )

    result = import_(edm_cli, path, "--dry-run")

    assert "rows.jsonl:1: score: must be between 0 and 100, not 140\n" in result.err


def test_a_refused_value_is_clipped_and_its_control_characters_escaped(edm_cli, tmp_path):
    value = "\x1b[31m" + "x" * 600
    path = write(tmp_path / "rows.jsonl", json.dumps({"person_id": "p", "title": value}))

    result = import_(edm_cli, path, "--dry-run")

    assert "\x1b" not in result.err
    assert "title: must be at most 500 characters, not '\\x1b[31mxxx" in result.err
    assert "…' (605 characters)" in result.err
    assert "x" * 100 not in result.err


def test_an_error_of_a_mapped_field_names_its_column(edm_cli, tmp_path):
    path = write(tmp_path / "raw.csv", "person_id,Result\np,maybe\n")

    result = import_(edm_cli, path, "--map", "Result=passed", "--dry-run")

    assert "raw.csv:2: passed (column 'Result'): must be true or false" in result.err


# -- the report ------------------------------------------------------------------------------


BAD_ROWS = "person_id;title;score\np1;Jürgen's course;140\np2;Good;50\n"


@pytest.mark.parametrize("bom", [True, False])
def test_the_report_has_a_byte_order_mark_when_the_input_had_one(edm_cli, tmp_path, bom):
    path, report = write(tmp_path / "rows.csv", BAD_ROWS, bom=bom), tmp_path / "report.csv"

    import_(edm_cli, path, "--skip-invalid", "--report", str(report))

    assert report.read_bytes().startswith(b"\xef\xbb\xbf") is bom


def test_the_report_keeps_the_input_delimiter(edm_cli, tmp_path):
    path, report = write(tmp_path / "rows.csv", BAD_ROWS), tmp_path / "report.csv"

    import_(edm_cli, path, "--skip-invalid", "--report", str(report))

    rows = list(csv.DictReader(io.StringIO(report.read_text()), delimiter=";"))
    assert [(row["title"], row["_line"]) for row in rows] == [("Jürgen's course", "2")]
    assert rows[0]["_error"] == "score: must be between 0 and 100, not '140'"


def test_the_report_imports_once_fixed(edm_cli, server, tmp_path):
    path, report = write(tmp_path / "rows.csv", BAD_ROWS, bom=True), tmp_path / "report.csv"
    import_(edm_cli, path, "--skip-invalid", "--report", str(report))
    report.write_text(report.read_text(encoding="utf-8-sig").replace(";140;", ";40;"))

    result = import_(edm_cli, report)

    assert result.code == 0, result.err
    assert titles(server) == ["Good", "Jürgen's course"]


# -- nothing to import -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("rows.csv", "", "is empty"),
        ("rows.csv", "\n  \n", "is empty"),
        ("rows.jsonl", "", "is empty"),
        ("rows.json", " \n", "is empty"),
        ("rows.csv", "person_id,title\n", "has a header but no rows"),
        ("rows.csv", "person_id,title\n\n\n", "has a header but no rows"),
        ("rows.json", "[]", "is an empty JSON array"),
    ],
)
def test_a_file_without_rows_is_an_error(edm_cli, server, tmp_path, case):
    name, text, message = case
    path = write(tmp_path / name, text, bom=name.endswith(".csv"))

    result = import_(edm_cli, path)

    assert result.code == 1
    assert result.err == f"edm: error: {path} {message}: there is nothing to import\n"
    assert result.out == ""
    assert server.requests == []


def test_a_dry_run_of_a_file_without_rows_is_an_error_too(edm_cli, tmp_path):
    result = import_(edm_cli, write(tmp_path / "rows.csv", "person_id,title\n"), "--dry-run")

    assert result.code == 1
    assert "has a header but no rows" in result.err


# -- a raw export, end to end ----------------------------------------------------------------


def raw_export(rows: int, bad: dict[int, tuple[str, str]]) -> str:
    """A semicolon-separated export with an extra column, decimal commas and a BOM-less header;
    `bad` replaces the score and completion date of some rows."""
    lines = ["Learner;Course Name;Manager Name;Score;Completed"]
    for i in range(rows):
        score, completed = bad.get(i, (f"{i % 100},5", f"2025-01-{i % 28 + 1:02d}"))
        lines.append(f"p{i % 50};Course {i};Manager {i % 7};{score};{completed}")
    return "\n".join(lines) + "\n"


RAW_FLAGS = (
    "--map", "Learner=person_id", "--map", "Course Name=title", "--map", "Score=score",
    "--map", "Completed=completed_at", "--ignore-unknown-columns", "--skip-invalid",
)  # fmt: skip
BAD = {10: ("140", "2025-01-01"), 2000: ("50", "2025-13-45"), 4999: ("high", "2025-01-01")}


@inprocess_only
def test_a_raw_5000_row_export_imports_its_good_rows_once(edm_cli, server, tmp_path):
    path = write(tmp_path / "export.csv", raw_export(5000, BAD), bom=True)
    report = tmp_path / "failed.csv"

    first = import_(edm_cli, path, *RAW_FLAGS, "--report", str(report))
    again = import_(edm_cli, path, *RAW_FLAGS)

    assert first.code == again.code == 1  # three rows are invalid
    assert "4997 created, 0 already imported, 0 failed, 3 invalid" in first.out
    assert "0 created, 4997 already imported, 0 failed, 3 invalid" in again.out
    assert len(server.records()) == 4997
    assert first.err.count("Manager Name") == 1
    problems = [line for line in first.err.splitlines() if line.startswith(f"{path}:")]
    assert [line.split(":")[1] for line in problems] == ["12", "2002", "5001"]
    for line, refused in zip(problems, ["'140'", "'2025-13-45'", "'high'"], strict=True):
        assert line.endswith(f", not {refused}")
    reported = list(csv.DictReader(io.StringIO(report.read_text("utf-8-sig")), delimiter=";"))
    assert [row["_line"] for row in reported] == ["12", "2002", "5001"]


def test_a_raw_export_imports_with_the_installed_command(tmp_path):
    server = FakeServer()
    path = write(tmp_path / "export.csv", raw_export(20, {3: ("140", "2025-01-01")}), bom=True)
    report = tmp_path / "failed.csv"
    edm = str(Path(sys.executable).with_name("edm"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDM_")}
    with server.serve() as url:
        env = {**clean, "EDM_BASE_URL": url, "EDM_API_KEY": server.issue_token()}
        args = [edm, "learning-records", "import", str(path), *RAW_FLAGS, "--report", str(report)]
        result = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=60, check=False
        )

    assert result.returncode == 1, result.stderr
    assert "19 created, 0 already imported, 0 failed, 1 invalid" in result.stdout
    assert result.stderr.count("Manager Name") == 1
    assert report.read_bytes().startswith(b"\xef\xbb\xbfLearner;Course Name;")
