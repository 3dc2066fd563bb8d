"""What `edm` shows people: tables that fit the terminal, datetimes with their zone, and
blank arguments refused. Run in this process (`main`), against the fake in-process and over a
loopback socket.
"""

from __future__ import annotations

import pytest

LONG_TITLE = "Advanced Certificate in Cloud Architecture and Security Operations " * 3


@pytest.fixture
def records(server):
    with server.client() as client:
        yield client.performance.learning_records


def table(edm_cli, monkeypatch, width: int) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(width))
    result = edm_cli("learning-records", "list", "--format", "table")
    assert result.code == 0, result.err
    return result.out.splitlines()


def test_a_table_fits_an_80_column_terminal(edm_cli, records, monkeypatch):
    records.create(person_id="p", title=LONG_TITLE, completed_at="2024-12-31T02:22:00Z")

    lines = table(edm_cli, monkeypatch, 80)

    assert max(map(len, lines)) <= 80
    assert lines[2].split("  ")[1].endswith("…")  # the title, cut short rather than wrapped


def test_a_narrow_terminal_leaves_out_the_least_wanted_columns(edm_cli, records, monkeypatch):
    records.create(
        person_id="p", title=LONG_TITLE, passed=True, score=50, completed_at="2024-12-31T00:00:00Z"
    )

    narrow, wide = table(edm_cli, monkeypatch, 80), table(edm_cli, monkeypatch, 200)

    assert narrow[0].split() == ["id", "title", "passed", "completed_at"]
    assert wide[0].split() == [  # and the title gets the room that is left
        "id", "person_id", "title", "provider", "score", "passed", "completed_at", "expires_at"
    ]  # fmt: skip


def test_a_table_shows_datetimes_in_utc_with_their_zone(edm_cli, records, monkeypatch):
    records.create(person_id="p", title="T", completed_at="2024-12-31T04:22:59+02:00")

    lines = table(edm_cli, monkeypatch, 80)

    assert lines[2].endswith("  2024-12-31 02:22Z")


def test_table_cells_escape_control_characters(edm_cli, records, monkeypatch):
    records.create(person_id="p", title="Red\x1b[31m\nline")

    lines = table(edm_cli, monkeypatch, 120)

    assert len(lines) == 3  # header, rule, the record on one line
    assert "Red\\x1b[31m\\nline" in lines[2]


def test_get_as_a_table_shows_datetimes_with_their_zone_and_fits(edm_cli, records, monkeypatch):
    record = records.create(
        person_id="p",
        title="T",
        completed_at="2024-12-31T04:22:59+02:00",
        certification_ref="https://credentials.example/" + "x" * 200,
    )
    monkeypatch.setenv("COLUMNS", "80")

    result = edm_cli("learning-records", "get", record.id, "--format", "table")

    fields = dict(line.split(None, 1) for line in result.out.splitlines())
    assert fields["completed_at"] == "2024-12-31 02:22:59Z"
    assert fields["certification_ref"].endswith("x…")
    assert max(map(len, result.out.splitlines())) <= 80


@pytest.mark.parametrize("blank", ["", "  "])
def test_get_with_a_blank_id_is_a_usage_error(edm_cli, server, blank):
    result = edm_cli("learning-records", "get", blank)

    assert result.code == 2
    assert f"argument id: must not be blank, not {blank!r}" in result.err
    assert server.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--person-id", ""],
        ["list", "--provider", " "],
        ["create", "--person-id", "p", "--title", " "],
        ["create", "--person-id", "p", "--title", "T", "--idempotency-key", ""],
    ],
)
def test_a_blank_option_value_is_a_usage_error(edm_cli, server, args):
    result = edm_cli("learning-records", *args)

    assert result.code == 2
    assert "must not be blank" in result.err
    assert server.requests == []
