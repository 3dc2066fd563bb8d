"""How models and pages show themselves: HTML tables in Jupyter, plain-text tables elsewhere.

A record renders as a two-column table of its set fields. A page renders as one row per record
(at most `MAX_ROWS`), with a compact choice of columns: scope and audit fields are left out, and
so is every column whose value is the field's default (usually None) in every row shown. Long
values are cut short (the HTML keeps the full value in a tooltip); every value is escaped.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from edm_client._sanitize import escape_controls

__all__ = ["MAX_ROWS", "model_html", "models_html", "models_text"]

MAX_ROWS = 50
"""Rows shown for a page; the rest are summarised in one line."""
_MAX_HTML_CHARS = 120
_MAX_TEXT_CHARS = 40
_SUMMARY_HIDDEN = frozenset(
    {
        "tenant_id",
        "app_id",
        "created_by",
        "updated_at",
        "updated_by",
        "deleted_by",
        "schema_version",
        "source",
        "source_type",
    }
)
"""Fields left out of page tables (a single record still shows them)."""


def model_html(model: BaseModel) -> str:
    """A two-column table of the fields that are set, captioned with the type and id."""
    rows = "".join(
        f'<tr><th style="text-align:left">{html.escape(name)}</th>{_html_cell(value)}</tr>'
        for name, value in _fields(model)
        if value is not None
    )
    return f"<table><caption>{html.escape(_title(model))}</caption>{rows}</table>"


def models_html(models: Sequence[BaseModel], *, item: type[BaseModel], caption: str) -> str:
    """One row per model (at most `MAX_ROWS`) under `caption`."""
    shown = models[:MAX_ROWS]
    columns = _summary_columns(item, shown)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(getattr(m, c, None)) for c in columns) + "</tr>" for m in shown
    )
    if not models:
        body = f'<tr><td colspan="{len(columns)}">{html.escape(_none_text(item))}</td></tr>'
    elif more := _more_text(models):
        body += f'<tr><td colspan="{len(columns)}">{html.escape(more)}</td></tr>'
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def models_text(models: Sequence[BaseModel], *, item: type[BaseModel], caption: str) -> str:
    """The same table as `models_html`, as aligned plain text."""
    shown = models[:MAX_ROWS]
    if not models:
        return f"{caption}\n{_none_text(item)}"
    columns = _summary_columns(item, shown)
    rows = [
        columns,
        *([_text(getattr(m, c, None), _MAX_TEXT_CHARS) for c in columns] for m in shown),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    if more := _more_text(models):
        lines.append(more)
    return "\n".join([caption, *lines])


def _summary_columns(item: type[BaseModel], models: Sequence[BaseModel]) -> list[str]:
    columns = []
    for name, field in item.model_fields.items():
        if name in _SUMMARY_HIDDEN:
            continue
        if not field.is_required() and all(getattr(m, name) == field.default for m in models):
            continue
        columns.append(name)
    return columns


def _fields(model: BaseModel) -> Iterable[tuple[str, Any]]:
    yield from ((name, getattr(model, name)) for name in type(model).model_fields)
    yield from (model.model_extra or {}).items()


def _title(model: BaseModel) -> str:
    record_id = getattr(model, "id", None)
    return (
        f"{type(model).__name__} {record_id}"
        if isinstance(record_id, str)
        else type(model).__name__
    )


def _html_cell(value: Any) -> str:
    full = _text(value, None)
    short = _text(value, _MAX_HTML_CHARS)
    if isinstance(value, datetime) or short != full:
        tip = value.isoformat() if isinstance(value, datetime) else full
        return f'<td title="{html.escape(tip)}">{html.escape(short)}</td>'
    return f"<td>{html.escape(short)}</td>"


def _text(value: Any, limit: int | None) -> str:
    """A value as one short line: compact datetimes, enum values, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _short_datetime(value)
    if isinstance(value, enum.Enum):
        value = value.value
    text = escape_controls(" ".join(str(value).split()))  # a record's text is the server's
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def _short_datetime(value: datetime) -> str:
    text = value.replace(microsecond=0).isoformat(sep=" ")
    if value.utcoffset() == timedelta(0):
        return text.removesuffix("+00:00") + "Z"
    return text


def _more_text(models: Sequence[BaseModel]) -> str:
    more = len(models) - MAX_ROWS
    return f"… and {more} more on this page (first {MAX_ROWS} shown)" if more > 0 else ""


def _none_text(item: type[BaseModel]) -> str:
    return f"no {item.__name__} records on this page"
