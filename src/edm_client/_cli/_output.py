"""Writing records and rows (table, json, jsonl, csv) one at a time, and a progress line."""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from edm_client.types import LearningRecord

if TYPE_CHECKING:
    from edm_client._bulk import BulkProgress

RECORD_COLUMNS: Final = tuple(LearningRecord.model_fields)
TABLE_COLUMNS: Final = (
    "id",
    "person_id",
    "title",
    "provider",
    "score",
    "passed",
    "completed_at",
    "expires_at",
)
_MAX_CELL: Final = 40
_TABLE_SAMPLE: Final = 50


def record_row(record: LearningRecord) -> dict[str, Any]:
    """A record as JSON values, unknown (newer) fields included."""
    return record.model_dump(mode="json")


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
    def __init__(self, stream: TextIO, columns: Sequence[str]) -> None:
        self._stream = stream
        self._columns = columns
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([text_cell(row.get(name)) for name in self._columns])

    def close(self) -> None:
        self._stream.flush()


class _Table:
    """Aligned columns for people; widths come from the first rows, later rows are cut to fit."""

    def __init__(self, stream: TextIO, columns: Sequence[str]) -> None:
        self._stream = stream
        self._columns = columns
        self._pending: list[list[str]] | None = []
        self._widths: list[int] = []

    def write(self, row: Mapping[str, Any]) -> None:
        cells = [_table_cell(row.get(name)) for name in self._columns]
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
        self._widths = [
            max(len(name), *(len(cells[i]) for cells in pending))
            for i, name in enumerate(self._columns)
        ]
        self._line(list(self._columns))
        self._line(["-" * width for width in self._widths])
        for cells in pending:
            self._line(cells)

    def _line(self, cells: list[str]) -> None:
        fitted = [_fit(cell, width) for cell, width in zip(cells, self._widths, strict=True)]
        self._stream.write("  ".join(fitted).rstrip() + "\n")


def _fit(cell: str, width: int) -> str:
    return cell.ljust(width) if len(cell) <= width else cell[: width - 1] + "…"


def _table_cell(value: Any) -> str:
    text = text_cell(value)
    if isinstance(value, str) and len(text) >= 20 and text[10:11] == "T" and text[4:5] == "-":
        text = text[:16].replace("T", " ")  # a datetime, to the minute
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def open_writer(fmt: str, stream: TextIO, columns: Sequence[str] = RECORD_COLUMNS) -> Writer:
    """A writer of `fmt` (table, json, jsonl or csv); `columns` are used by table and csv."""
    if fmt == "jsonl":
        return _JsonLines(stream)
    if fmt == "json":
        return _JsonArray(stream)
    if fmt == "csv":
        return _Csv(stream, columns)
    return _Table(stream, columns)


def write_all(writer: Writer, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write every row, then close; returns how many."""
    count = 0
    for row in rows:
        writer.write(row)
        count += 1
    writer.close()
    return count


def write_record(record: LearningRecord, fmt: str, stream: TextIO) -> None:
    """One record: field per line for people (table), else like a listing of one."""
    row = record_row(record)
    if fmt == "table":
        width = max(map(len, row))
        for name, value in row.items():
            if value is not None:
                stream.write(f"{name.ljust(width)}  {text_cell(value)}\n")
    elif fmt == "json":
        stream.write(json.dumps(row, ensure_ascii=False, indent=2) + "\n")
    else:
        write_all(open_writer(fmt, stream), [row])


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
