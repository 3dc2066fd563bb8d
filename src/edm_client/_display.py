"""How models and pages show themselves in Jupyter (HTML) and in a terminal."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

_MAX_ROWS = 50


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return html.escape(value.isoformat())
    return html.escape(str(value))


def model_html(model: BaseModel) -> str:
    """A two-column table of the fields that are set."""
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(name)}</th><td>{_cell(value)}</td></tr>"
        for name, value in _fields(model)
        if value is not None
    )
    return f"<table><caption>{html.escape(type(model).__name__)}</caption>{rows}</table>"


def models_html(models: Sequence[BaseModel], *, caption: str, columns: Iterable[str]) -> str:
    """One row per model, the given columns, at most 50 rows."""
    cols = list(columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(getattr(m, c, None))}</td>" for c in cols) + "</tr>"
        for m in models[:_MAX_ROWS]
    )
    more = len(models) - _MAX_ROWS
    foot = f"<tr><td colspan='{len(cols)}'>… {more} more</td></tr>" if more > 0 else ""
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}{foot}</tbody></table>"
    )


def _fields(model: BaseModel) -> Iterable[tuple[str, Any]]:
    yield from ((name, getattr(model, name)) for name in type(model).model_fields)
    yield from (model.model_extra or {}).items()
