"""Reading import files (.csv, .jsonl, .json) into checked `create` items, one row at a time.

Every row is read with its line number, turned into the wire values `create` sends, and checked
against the contract's rules (the same ones the SDK and the fake use), so that all of a row's
problems are reported at once, before anything is sent. What a resource's fields are is passed
in as a `RecordFields`, so the same reader serves every resource.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from edm_client._cli._errors import FileFormatError
from edm_client._exceptions import InvalidRequestError
from edm_client._params import idempotency_key
from edm_client._rules import FieldError

FORMATS: Final = ("csv", "jsonl", "json")
KEY_FIELD: Final = "idempotency_key"
_EXTENSIONS: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_TRUE: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0"})
_BARE_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


_RawRow = dict[str, Any] | FieldError
"""A row as read (column or key to value), or why it could not be read at all."""


@dataclass(frozen=True)
class RecordFields:
    """What reading rows needs to know of one resource's create fields."""

    noun: str
    """What one row becomes, for messages: "learning record"."""
    writable: tuple[str, ...]
    read_only: tuple[str, ...]
    """Set by the server: such columns (an export's `id`, `created_at`...) are skipped."""
    check: Callable[[Mapping[str, object]], list[FieldError]]
    """Every rule a create body (wire values) breaks."""
    numbers: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    datetimes: frozenset[str] = frozenset()


def format_of(path: str | Path, explicit: str | None = None) -> str:
    """The file format: `explicit`, else from the extension."""
    if explicit is not None:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise FileFormatError(
            f"cannot tell the format of {str(path)!r} from its extension; name it .csv, .jsonl "
            "or .json, or pass --format"
        )
    return _EXTENSIONS[suffix]


@dataclass
class Row:
    """One row of an import file: where it is, what it held, and what it becomes."""

    line: int
    raw: dict[str, Any]
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class Reader:
    """Reads one import file; `notes` collects what was ignored (server-owned columns)."""

    path: Path
    format: str
    fields: RecordFields
    columns: list[str] = field(default_factory=list)
    """The CSV header (or, for JSON, every key seen so far), in order."""
    ignored: set[str] = field(default_factory=set)

    def rows(self) -> Iterator[Row]:
        """Every row, checked. Opens the file afresh, so it can be read more than once."""
        with self.path.open(encoding="utf-8-sig", newline="") as stream:
            raw_rows = {"csv": self._csv, "jsonl": self._jsonl, "json": self._json}[self.format]
            try:
                for line, raw in raw_rows(stream):
                    yield self._checked(line, raw)
            except UnicodeDecodeError as error:
                raise FileFormatError(f"{self.path} is not UTF-8 text ({error.reason})") from None
            except csv.Error as error:
                raise FileFormatError(f"{self.path} is not valid CSV: {error}") from None

    def _csv(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            return
        self.columns = [name.strip() for name in header]
        seen: set[str] = set()
        for name in self.columns:
            if name in seen and name and not name.startswith("_"):
                # dict(zip(...)) would keep only the last of the two cells of every row
                raise FileFormatError(
                    f"{self.path}:1: column {name!r} appears more than once in the header"
                )
            seen.add(name)
        last_line = reader.line_num
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) > len(self.columns):
                problem = f"has {len(values)} values but the header has {len(self.columns)}"
                yield line, FieldError("(row)", "invalid_row", problem)
            else:
                yield line, dict(zip(self.columns, values, strict=False))

    def _jsonl(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        for line, text in enumerate(stream, start=1):
            if text.strip():
                yield line, self._object(text, line)

    def _json(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        # Loaded whole (JSON has no streaming reader here); use .jsonl for very large files.
        text = stream.read()
        decoder = json.JSONDecoder()
        position = _skip_space(text, 0)
        if not text.startswith("[", position):
            raise FileFormatError(f"{self.path.name} must hold a JSON array of objects")
        position = _skip_space(text, position + 1)
        while not text.startswith("]", position):
            line = text.count("\n", 0, position) + 1
            try:
                value, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                raise FileFormatError(f"line {error.lineno}: invalid JSON: {error.msg}") from None
            yield line, self._as_object(value, line)
            position = _skip_space(text, position)
            if text.startswith(",", position):
                position = _skip_space(text, position + 1)
            elif not text.startswith("]", position):
                line = text.count("\n", 0, position) + 1
                raise FileFormatError(f"line {line}: expected ',' or ']' in the JSON array")

    def _object(self, text: str, line: int) -> _RawRow:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            return FieldError("(row)", "invalid_json", f"is not valid JSON: {error.msg}")
        return self._as_object(value, line)

    def _as_object(self, value: object, line: int) -> _RawRow:
        if not isinstance(value, dict):
            return FieldError("(row)", "invalid_row", f"must be an object, not {_json_type(value)}")
        for name in value:
            if name not in self.columns:
                self.columns.append(name)
        return value

    def _checked(self, line: int, raw: _RawRow) -> Row:
        if isinstance(raw, FieldError):
            return Row(line, {}, errors=[raw])
        row = Row(line, raw)
        from_text = self.format == "csv"
        for name, value in raw.items():
            if name.startswith("_") or (from_text and name == ""):
                continue  # comment columns, such as a report's _line and _error
            if name in self.fields.read_only:
                self.ignored.add(name)
                continue
            if name not in (*self.fields.writable, KEY_FIELD):
                row.errors.append(
                    FieldError(name, "unknown_field", f"is not a field of a {self.fields.noun}")
                )
                continue
            converted = cell_value(self.fields, name, value, from_text)
            if isinstance(converted, FieldError):
                row.errors.append(converted)
            elif converted is not None:
                row.item[name] = converted
        reported = {error.field for error in row.errors}
        body = {k: v for k, v in row.item.items() if k != KEY_FIELD}
        row.errors.extend(e for e in self.fields.check(body) if e.field not in reported)
        if KEY_FIELD in row.item:
            try:
                idempotency_key(row.item[KEY_FIELD])  # the SDK's own rule
            except InvalidRequestError as error:
                row.errors.append(FieldError(KEY_FIELD, "invalid", error.message))
        return row


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def cell_value(fields: RecordFields, name: str, value: Any, from_text: bool) -> Any:
    """The wire value of one cell; None means "not sent"; a FieldError means unusable."""
    if value is None or (from_text and value.strip() == ""):
        return None
    if name in fields.datetimes and isinstance(value, str) and _BARE_DATE.fullmatch(value.strip()):
        return f"{value.strip()}T00:00:00Z"  # a bare date means midnight UTC, as for `date`
    if not from_text:
        return value
    text = value.strip()
    if name in fields.numbers:
        try:
            number = float(text)
        except ValueError:
            return FieldError(name, "invalid_type", f"must be a number, not {text!r}")
        return number if not math.isfinite(number) or not number.is_integer() else int(number)
    if name in fields.booleans:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        return FieldError(name, "invalid_type", f"must be true or false, not {text!r}")
    return value
