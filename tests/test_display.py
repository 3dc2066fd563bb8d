"""How records and pages show themselves: HTML in Jupyter, readable text elsewhere."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from edm_client import AsyncClient, Client
from edm_client.types import LearningRecord

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def _parse(html: str) -> ET.Element:
    """The HTML as an element tree: parsing fails if anything is left unescaped."""
    return ET.fromstring(html)


def _headers(table: ET.Element) -> list[str]:
    return [th.text or "" for th in table.iter("th")]


def _rows(table: ET.Element) -> list[list[str]]:
    body = table.find("tbody")
    assert body is not None
    return [[td.text or "" for td in tr.iter("td")] for tr in body.iter("tr")]


def _caption(table: ET.Element) -> str:
    caption = table.find("caption")
    assert caption is not None
    return caption.text or ""


def _record(**fields: Any) -> LearningRecord:
    return LearningRecord.model_validate(
        {
            "id": "per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
            "tenant_id": "ten_1",
            "created_at": "2026-03-01T09:30:00.123456Z",
            "updated_at": "2026-03-01T09:30:00Z",
            **fields,
        }
    )


# -- a single record ----------------------------------------------------------------------


def test_record_html_escapes_values() -> None:
    table = _parse(_record(title=HOSTILE)._repr_html_())
    fields = {th.text: td.text for th, td in zip(table.iter("th"), table.iter("td"), strict=True)}
    assert fields["title"] == HOSTILE


def test_record_html_escapes_names_of_unknown_fields() -> None:
    table = _parse(_record(**{"<b>grade</b>": "A+"})._repr_html_())
    assert "<b>grade</b>" in _headers(table)


def test_record_html_is_captioned_with_type_and_id() -> None:
    table = _parse(_record()._repr_html_())
    assert _caption(table) == "LearningRecord per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C"


def test_record_html_leaves_out_fields_that_are_not_set() -> None:
    headers = _headers(_parse(_record(title="A")._repr_html_()))
    assert "title" in headers
    assert "expires_at" not in headers


def test_record_html_shows_datetimes_compactly_with_the_full_value_as_tooltip() -> None:
    table = _parse(_record()._repr_html_())
    cell = next(
        td
        for th, td in zip(table.iter("th"), table.iter("td"), strict=True)
        if th.text == "created_at"
    )
    assert cell.text == "2026-03-01 09:30:00Z"
    assert cell.get("title") == "2026-03-01T09:30:00.123456+00:00"


def test_record_html_cuts_long_values_short_keeping_the_full_value_as_tooltip() -> None:
    reference = "https://badges.example/" + "x" * 500
    table = _parse(_record(certification_ref=reference)._repr_html_())
    cell = next(
        td
        for th, td in zip(table.iter("th"), table.iter("td"), strict=True)
        if th.text == "certification_ref"
    )
    assert cell.text is not None
    assert cell.text.endswith("…")
    assert len(cell.text) <= 120
    assert cell.get("title") == reference


def test_record_repr_leaves_out_fields_that_are_none() -> None:
    text = repr(_record(title="A", score=87.5))
    assert text.startswith("LearningRecord(id='per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C'")
    assert "title='A'" in text
    assert "score=87.5" in text
    assert "expires_at" not in text


# -- a page -------------------------------------------------------------------------------


def _seed(client: Client, count: int, **fields: Any) -> list[LearningRecord]:
    records = client.performance.learning_records
    return [records.create(person_id="p1", title=f"Course {i}", **fields) for i in range(count)]


def test_page_html_escapes_values(client: Client) -> None:
    _seed(client, 1, provider=HOSTILE)
    table = _parse(client.performance.learning_records.list()._repr_html_())
    assert HOSTILE in _rows(table)[0]


def test_page_html_caption_says_how_many_and_whether_more_pages_follow(client: Client) -> None:
    _seed(client, 3)
    first = client.performance.learning_records.list(limit=2)
    assert _caption(_parse(first._repr_html_())) == (
        "CursorPage: 2 LearningRecord records on this page, more pages follow"
    )
    last = first.get_next_page()
    assert _caption(_parse(last._repr_html_())) == (
        "CursorPage: 1 LearningRecord record on this page, last page"
    )


def test_page_html_shows_at_most_fifty_rows_and_says_how_many_more(client: Client) -> None:
    _seed(client, 60)
    table = _parse(client.performance.learning_records.list(limit=60)._repr_html_())
    rows = _rows(table)
    assert len(rows) == 51
    assert rows[-1] == ["… and 10 more on this page (first 50 shown)"]


def test_page_html_leaves_out_scope_fields_and_columns_empty_on_every_row(
    client: Client,
) -> None:
    _seed(client, 2, provider="AWS")
    headers = _headers(_parse(client.performance.learning_records.list()._repr_html_()))
    assert headers == ["id", "created_at", "person_id", "title", "provider"]


def test_page_html_shows_a_column_as_soon_as_one_row_has_a_value(client: Client) -> None:
    records = client.performance.learning_records
    records.create(person_id="p1", title="A")
    records.create(person_id="p1", title="B", score=91.0, passed=False)
    table = _parse(records.list()._repr_html_())
    assert _headers(table)[-2:] == ["score", "passed"]
    assert [row[-2:] for row in _rows(table)] == [["", ""], ["91.0", "False"]]


def test_empty_page_html_says_there_are_no_records(client: Client) -> None:
    table = _parse(client.performance.learning_records.list()._repr_html_())
    assert _rows(table) == [["no LearningRecord records on this page"]]


def test_page_str_is_an_aligned_text_table_under_the_caption(client: Client) -> None:
    _seed(client, 2, provider="AWS")
    lines = str(client.performance.learning_records.list()).splitlines()
    assert lines[0] == "CursorPage: 2 LearningRecord records on this page, last page"
    assert lines[1].split() == ["id", "created_at", "person_id", "title", "provider"]
    assert len(lines) == 4
    assert lines[1].index("title") == lines[2].index("Course 0") == lines[3].index("Course 1")


def test_page_str_puts_each_record_on_one_line(client: Client) -> None:
    _seed(client, 1, provider="Line one\nline two")
    lines = str(client.performance.learning_records.list()).splitlines()
    assert len(lines) == 3
    assert lines[2].endswith("Line one line two")


def test_page_str_of_an_empty_page_says_there_are_no_records(client: Client) -> None:
    text = str(client.performance.learning_records.list())
    assert text.splitlines()[1] == "no LearningRecord records on this page"


def test_page_repr_is_one_line_with_the_count_and_cursor(client: Client) -> None:
    _seed(client, 2)
    text = repr(client.performance.learning_records.list())
    assert text == "<CursorPage[LearningRecord] 2 records, next_cursor=None>"


def test_page_pretty_prints_as_the_text_table_in_ipython(client: Client) -> None:
    from IPython.lib.pretty import pretty

    _seed(client, 2)
    page = client.performance.learning_records.list()
    assert pretty(page) == str(page)


async def test_async_page_renders_like_a_sync_page(
    client: Client, async_client: AsyncClient
) -> None:
    _seed(client, 2)
    page = await async_client.performance.learning_records.list()
    sync_page = client.performance.learning_records.list()
    assert page._repr_html_() == sync_page._repr_html_().replace("CursorPage", "AsyncCursorPage")
    assert str(page).splitlines()[1:] == str(sync_page).splitlines()[1:]


def test_async_paginator_repr_says_to_await_it(async_client: AsyncClient) -> None:
    paginator = async_client.performance.learning_records.list()
    assert "await" in repr(paginator)


@pytest.mark.parametrize("render", [repr, str, lambda page: page._repr_html_()])
def test_page_rendering_never_shows_the_token(render: Any) -> None:
    token = "secret-token-value"
    record = {
        "id": "per_1",
        "tenant_id": "ten_1",
        "created_at": "2026-03-01T09:30:00Z",
        "updated_at": "2026-03-01T09:30:00Z",
    }
    body = json.dumps({"data": [record], "next_cursor": None}).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with Client(
        api_key=token,
        base_url="https://edm.example.test",
        http_client=httpx.Client(transport=transport),
    ) as client:
        assert token not in render(client.performance.learning_records.list())
