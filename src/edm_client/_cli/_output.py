"""Writing records and rows (table, json, jsonl, csv) one at a time, and a progress line."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from pydantic import BaseModel

from edm_client._cli._errors import UsageError
from edm_client._rules import parse_datetime
from edm_client._sanitize import clip, escape_controls

if TYPE_CHECKING:
    from edm_client._bulk import BulkProgress


@dataclass(frozen=True)
class TableLayout:
    """Which columns a table shows, and how it fits them into the terminal."""

    columns: tuple[str, ...]
    """Left to right."""
    keep: tuple[str, ...]
    """Most wanted first: on a narrow terminal, columns are left out from the end of this."""
    shrink: frozenset[str] = frozenset()
    """Columns whose cells may be cut short with `…` (never ids, numbers or datetimes)."""
    datetimes: frozenset[str] = frozenset()
    """Columns of RFC 3339 values, shown in UTC to the minute: `2024-12-31 02:22Z`."""


_TABLE_SAMPLE: Final = 50
_MIN_SHRUNK: Final = 16
"""A cut-short column keeps at least this many characters (or its header's)."""
_GAP: Final = "  "


def record_row(record: BaseModel) -> dict[str, Any]:
    """A record as JSON values, unknown (newer) fields included."""
    return record.model_dump(mode="json")


def record_columns(model: type[BaseModel]) -> tuple[str, ...]:
    """Every field a record of `model` has: the columns of a CSV listing or export."""
    return tuple(model.model_fields)


def text_cell(value: Any) -> str:
    """A value as CSV text: empty for None, true/false for booleans, JSON for nested values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Writer(Protocol):
    def write(self, row: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class _JsonLines:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, row: Mapping[str, Any]) -> None:
        self._stream.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._stream.flush()


class _JsonArray:
    """A JSON array written element by element, so memory stays flat."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._separator = "[\n"

    def write(self, row: Mapping[str, Any]) -> None:
        self._stream.write(self._separator + "  " + json.dumps(row, ensure_ascii=False))
        self._separator = ",\n"

    def close(self) -> None:
        self._stream.write("[]\n" if self._separator == "[\n" else "\n]\n")
        self._stream.flush()


class _Csv:
    def __init__(self, stream: TextIO, columns: Sequence[str], delimiter: str) -> None:
        self._stream = stream
        self._columns = columns
        self._writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([text_cell(row.get(name)) for name in self._columns])

    def close(self) -> None:
        self._stream.flush()


class _Table:
    """Aligned columns for people, fitted to the terminal's width: widths come from the first
    rows, later rows are cut to fit; a cell is cut short with `…`, never wrapped."""

    def __init__(self, stream: TextIO, layout: TableLayout, width: int) -> None:
        self._stream = stream
        self._layout = layout
        self._width = width
        self._pending: list[dict[str, str]] | None = []
        self._widths: dict[str, int] = {}

    def write(self, row: Mapping[str, Any]) -> None:
        datetimes = self._layout.datetimes
        cells = {
            name: _datetime_cell(row.get(name)) if name in datetimes else _table_cell(row.get(name))
            for name in self._layout.columns
        }
        if self._pending is None:
            self._line(cells)
            return
        self._pending.append(cells)
        if len(self._pending) >= _TABLE_SAMPLE:
            self._flush_pending()

    def close(self) -> None:
        if self._pending is not None:
            self._flush_pending()
        self._stream.flush()

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending or [], None
        self._widths = _fit_columns(self._layout, pending, self._width)
        self._line({name: name for name in self._widths})
        self._line({name: "-" * width for name, width in self._widths.items()})
        for cells in pending:
            self._line(cells)

    def _line(self, cells: Mapping[str, str]) -> None:
        fitted = (_fit(cells[name], width) for name, width in self._widths.items())
        self._stream.write(_GAP.join(fitted).rstrip() + "\n")


def _fit_columns(layout: TableLayout, rows: list[dict[str, str]], width: int) -> dict[str, int]:
    """The columns that fit in `width`, left to right, with their widths."""
    natural = {
        name: max(len(name), *(len(cells[name]) for cells in rows)) for name in layout.columns
    }
    least = {
        name: min(size, max(len(name), _MIN_SHRUNK)) if name in layout.shrink else size
        for name, size in natural.items()
    }
    kept = layout.keep[:1]  # the most wanted column always shows
    for name in layout.keep[1:]:
        if sum(least[k] + len(_GAP) for k in kept) + least[name] > width:
            break
        kept += (name,)
    widths = {name: least[name] for name in layout.columns if name in kept}
    spare = width - sum(widths.values()) - len(_GAP) * (len(widths) - 1)
    for name in kept:  # cut-short columns grow back, most wanted first
        grow = max(0, min(spare, natural[name] - widths[name]))
        widths[name] += grow
        spare -= grow
    return widths


def _fit(cell: str, width: int) -> str:
    return clip(cell, width).ljust(width)


def _table_cell(value: Any) -> str:
    return escape_controls(text_cell(value))


def _datetime_cell(value: Any, *, seconds: bool = False) -> str:
    """An RFC 3339 value in UTC, with its zone: `2024-12-31 02:22Z`."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return _table_cell(value)
    utc = parsed.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")


def open_writer(
    fmt: str,
    stream: TextIO,
    columns: Sequence[str] | TableLayout,
    *,
    delimiter: str = ",",
) -> Writer:
    """A writer of `fmt` (table, json, jsonl or csv); `columns` are used by table and csv."""
    if isinstance(columns, TableLayout):
        layout, columns = columns, columns.columns
    else:
        layout = TableLayout(tuple(columns), keep=tuple(columns))
    if fmt == "jsonl":
        return _JsonLines(stream)
    if fmt == "json":
        return _JsonArray(stream)
    if fmt == "csv":
        return _Csv(stream, columns, delimiter)
    return _Table(stream, layout, _terminal_width())


def _terminal_width() -> int:
    # $COLUMNS, else the terminal's width, else 80 (when piped)
    return shutil.get_terminal_size().columns


def write_all(writer: Writer, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write every row, then close; returns how many."""
    count = 0
    for row in rows:
        writer.write(row)
        count += 1
    writer.close()
    return count


def write_record(record: BaseModel, fmt: str, stream: TextIO) -> None:
    """One record: field per line for people (table), else like a listing of one."""
    row = record_row(record)
    if fmt == "table":
        width = max(map(len, row))
        room = max(_MIN_SHRUNK, _terminal_width() - width - len(_GAP))
        for name, value in row.items():
            if value is None:
                continue
            if isinstance(getattr(record, name, None), datetime):
                cell = _datetime_cell(value, seconds=True)
            else:
                cell = _fit(_table_cell(value), room).rstrip()
            stream.write(f"{name.ljust(width)}{_GAP}{cell}\n")
    elif fmt == "json":
        stream.write(json.dumps(row, ensure_ascii=False, indent=2) + "\n")
    else:
        write_all(open_writer(fmt, stream, record_columns(type(record))), [row])


class Progress:
    """`on_progress(done, total[, progress])` drawing one self-updating line on a terminal, or
    nothing. With a `BulkProgress` it also shows the rate, and the pause after a 429."""

    def __init__(self, label: str, stream: TextIO, *, enabled: bool) -> None:
        self._label = label
        self._stream = stream
        self._enabled = enabled
        self._drawn_at = 0.0
        self._last = ""
        self._was_paused = False

    def __call__(self, done: int, total: int | None, progress: BulkProgress | None = None) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        paused = progress is not None and progress.paused_for > 0
        if now - self._drawn_at < 0.1 and done != total and paused == self._was_paused:
            return
        self._drawn_at = now
        self._was_paused = paused
        if total:
            filled = 30 * done // total
            bar = "#" * filled + "." * (30 - filled)
            text = f"{self._label} [{bar}] {done}/{total} {100 * done // total}%"
        else:
            text = f"{self._label} {done}"
        if progress is not None and paused:
            text += f", rate limited: waiting {math.ceil(progress.paused_for)} s"
        elif progress is not None and progress.rate:
            text += f", {progress.rate:.0f}/s"
        self._stream.write("\r" + text.ljust(len(self._last)))
        self._stream.flush()
        self._last = text

    def shifted(
        self, offset: int, total: int | None
    ) -> Callable[[int, int | None, BulkProgress], None]:
        """A callback for one part of a larger job: `offset` items were done before it."""
        return lambda done, _, progress: self(offset + done, total, progress)

    def finish(self) -> None:
        if self._enabled and self._last:
            self._stream.write("\n")
            self._stream.flush()


def show_progress(choice: bool | None) -> bool:
    """Whether to draw progress: as `--progress`/`--no-progress` say, else on a terminal."""
    return bool(sys.stderr.isatty() if choice is None else choice)


@contextlib.contextmanager
def output_file(path: Path | None, *, bom: bool = False) -> Iterator[TextIO]:
    """stdout, or `path` written through a temporary file so it appears only when complete;
    with `bom`, the file starts with a UTF-8 byte-order mark (for Excel)."""
    if path is None or str(path) == "-":
        yield sys.stdout
        return
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
            yield stream
        partial.replace(path)
    except OSError as error:
        raise UsageError(f"cannot write {str(path)!r}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
