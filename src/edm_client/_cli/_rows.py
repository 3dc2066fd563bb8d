"""Reading import files (.csv, .jsonl, .json) into checked `create` items, one row at a time.

Every row is read with its line number, turned into the wire values `create` sends, and checked
against the contract's rules (the same ones the SDK and the fake use), so that all of a row's
problems are reported at once, before anything is sent. What a resource's fields are is passed
in as a `RecordFields`, so the same reader serves every resource.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from edm_client._cli._errors import FileFormatError, UsageError
from edm_client._exceptions import InvalidRequestError
from edm_client._params import idempotency_key
from edm_client._rules import FieldError
from edm_client._sanitize import clip, escape_controls

FORMATS: Final = ("csv", "jsonl", "json")
KEY_FIELD: Final = "idempotency_key"
_EXTENSIONS: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_TRUE: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0"})
_BARE_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL_COMMA: Final = re.compile(r"[+-]?\d+,\d+")
_EXCEL_SEP: Final = re.compile(r"sep=.", re.IGNORECASE)
DELIMITERS: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
"""The delimiters a CSV header is tried with, and what a person calls them."""
_SHOWN_CHARS: Final = 40
_EXAMPLES: Final = {
    "number": "87.5",
    "datetime": "2025-01-31T09:00:00Z or 2025-01-31",
}
"""What a value of each kind looks like, for the message that refuses a malformed one."""


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
    required: tuple[str, ...] = ()
    numbers: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    datetimes: frozenset[str] = frozenset()

    @property
    def settable(self) -> tuple[str, ...]:
        """The names a column may give: the writable fields and the idempotency key."""
        return (*self.writable, KEY_FIELD)

    def kind(self, name: str) -> str:
        """ "number", "boolean", "datetime" or "text": how a cell of `name` is read."""
        for kind, names in (
            ("number", self.numbers),
            ("boolean", self.booleans),
            ("datetime", self.datetimes),
        ):
            if name in names:
                return kind
        return "text"


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


def shown(value: Any) -> str:
    """A value a person typed, for a message: clipped, quoted if text, and with control
    characters escaped so that a cell cannot drive the terminal or forge a line."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    clipped = clip(text, _SHOWN_CHARS)
    quoted = escape_controls(clipped)
    if isinstance(value, str):
        quoted = f"'{quoted}'"
    return quoted if clipped == text else f"{quoted} ({len(text)} characters)"


def names(values: Iterable[str]) -> str:
    """Column names for a message: each shown, comma-separated."""
    return ", ".join(shown(value) for value in values)


def close_to(name: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when `name` is a near miss of one of `choices`, else ``."""

    def key(text: str) -> str:
        return text.lower().replace(" ", "_")

    keys = {key(choice): choice for choice in choices}
    guess = difflib.get_close_matches(key(name), keys, n=1, cutoff=0.75)
    return f" (did you mean {shown(keys[guess[0]])}?)" if guess else ""


@dataclass
class Row:
    """One row of an import file: where it is, what it held, and what it becomes."""

    line: int
    raw: dict[str, Any]
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class Reader:
    """Reads one import file. Reading it also learns what the file holds: its columns, the
    server-owned ones that were skipped, the unknown ones, its delimiter and byte-order mark."""

    path: Path
    format: str
    fields: RecordFields
    delimiter: str | None = None
    """CSV only: None to detect it from the header line."""
    mapping: Mapping[str, str] = field(default_factory=dict)
    """Column (or key) -> the field it gives, from `--map`; checked by `check_mapping`."""
    columns: list[str] = field(default_factory=list)
    """The CSV header (or, for JSON, every key seen so far), in order."""
    ignored: set[str] = field(default_factory=set)
    """Server-owned columns seen (skipped)."""
    unknown: dict[str, int] = field(default_factory=dict)
    """Columns that are no field, with the line each was first seen on (skipped)."""
    bom: bool = False
    """Whether the file starts with a UTF-8 byte-order mark (as Excel writes CSV)."""
    has_header: bool = False
    """Whether a CSV header row, or a JSON array's `[`, was found."""
    missing: tuple[str, ...] = ()
    """CSV only: required fields no column gives (every row lacks them)."""

    def rows(self) -> Iterator[Row]:
        """Every row, checked. Opens the file afresh, so it can be read more than once."""
        with self.path.open("rb") as head:
            self.bom = head.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        with self.path.open(encoding="utf-8-sig", newline="") as stream:
            raw_rows = {"csv": self._csv, "jsonl": self._jsonl, "json": self._json}[self.format]
            try:
                for line, raw in raw_rows(stream):
                    yield self._checked(line, raw)
                if self.columns:  # JSON keys are known only now
                    self._check_mapped()
            except UnicodeDecodeError as error:
                raise FileFormatError(f"{self.path} is not UTF-8 text ({error.reason})") from None
            except csv.Error as error:
                raise FileFormatError(f"{self.path} is not valid CSV: {error}") from None

    def _csv(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        skipped, first = _first_text_line(stream)
        if _EXCEL_SEP.fullmatch(first.strip()):
            # Excel's way to name the delimiter: a `sep=;` line before the header
            self.delimiter = self.delimiter or first.strip()[-1]
            more, first = _first_text_line(stream)
            skipped += 1 + more
        if not first:
            return
        self.delimiter = self.delimiter or self._sniff(first)
        reader = csv.reader(itertools.chain([first], stream), delimiter=self.delimiter)
        self.columns = [name.strip() for name in next(reader)]
        self.has_header = True
        self._learn(self.columns, skipped + 1)
        self._check_mapped()
        given = {self.mapping.get(name, name) for name in self.columns}
        self.missing = tuple(name for name in self.fields.required if name not in given)
        last_line = reader.line_num
        for values in reader:
            line, last_line = skipped + last_line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) > len(self.columns):
                problem = f"has {len(values)} values but the header has {len(self.columns)}"
                yield line, FieldError("(row)", "invalid_row", problem)
            else:
                yield line, dict(zip(self.columns, values, strict=False))

    def _sniff(self, header: str) -> str:
        """The delimiter the header line is split by: the only one that splits it, else the
        one giving the most known column names; a tie is for the person to settle."""
        known = {*self.fields.settable, *self.fields.read_only, *self.mapping}
        splits: dict[str, int] = {}
        for delimiter in DELIMITERS:
            columns = [name.strip() for name in next(csv.reader([header], delimiter=delimiter))]
            if len(columns) > 1:
                splits[delimiter] = sum(name in known for name in columns)
        if not splits:
            return ","
        best = max(splits.values())
        winners = [d for d, score in splits.items() if score == best]
        if len(splits) == 1 or (best > 0 and len(winners) == 1):
            return winners[0]
        guess = max(splits, key=lambda d: len(header.split(d)))
        tried = " and ".join(f"{DELIMITERS[d]}s" for d in splits)
        raise UsageError(
            f"cannot tell how the columns of {self.path} are separated: its header has "
            f"{tried}. The file looks {DELIMITERS[guess]}-separated; pass --delimiter "
            f"{_quoted_delimiter(guess)}"
        )

    def _jsonl(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        for line, text in enumerate(stream, start=1):
            if text.strip():
                yield line, self._object(text, line)

    def _json(self, stream: TextIO) -> Iterator[tuple[int, _RawRow]]:
        # Loaded whole (JSON has no streaming reader here); use .jsonl for very large files.
        text = stream.read()
        decoder = json.JSONDecoder()
        position = _skip_space(text, 0)
        if position == len(text):
            return  # an empty file
        if not text.startswith("[", position):
            raise FileFormatError(f"{self.path.name} must hold a JSON array of objects")
        self.has_header = True
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
        new = [name for name in value if name not in self.columns]
        if new:
            self.columns.extend(new)
            self._learn(self.columns, line)
        return value

    def _learn(self, columns: list[str], line: int) -> None:
        """Refuse columns that would give one field twice; note unknown ones."""
        givers: dict[str, list[str]] = {}
        for name in columns:
            if self._skipped(name):
                continue
            target = self.mapping.get(name, name)
            if target in self.fields.settable:
                givers.setdefault(target, []).append(name)
            elif name in self.fields.read_only:
                self.ignored.add(name)
            else:
                self.unknown.setdefault(name, line)
        for target, sources in givers.items():
            where = f"{self.path}:{line}"
            if len(set(sources)) < len(sources):
                # dict(zip(...)) would keep only the last of the two cells of every row
                raise FileFormatError(
                    f"{where}: column {target!r} appears more than once in the header"
                )
            if len(sources) > 1:  # `--map X=title` where a column `title` exists
                mapped = next(source for source in sources if source != target)
                raise UsageError(
                    f"{where}: --map {shown(f'{mapped}={target}')} and the column {target!r} "
                    f"would both give {target}; drop that --map, or map {target!r} to another "
                    "field"
                )

    def _check_mapped(self) -> None:
        """A `--map` naming a column the file does not have is most likely a typo: say so."""
        for source, target in self.mapping.items():
            if source not in self.columns:
                listed = (
                    f"; its columns are {names(self.columns)}" if len(self.columns) <= 12 else ""
                )
                raise UsageError(
                    f"--map {shown(f'{source}={target}')}: {self.path} has no column "
                    f"{shown(source)}{close_to(source, self.columns)}{listed}"
                )

    def _skipped(self, name: str) -> bool:
        # `_line`, `_error` (a report's) and other `_` columns are comments; Excel leaves
        # columns without a name after a trailing delimiter.
        return name.startswith("_") or (self.format == "csv" and name == "")

    def _checked(self, line: int, raw: _RawRow) -> Row:
        if isinstance(raw, FieldError):
            return Row(line, {}, errors=[raw])
        row = Row(line, raw)
        given: dict[str, Any] = {}  # field -> the value it was given, as read
        labels: dict[str, str] = {}  # field -> how messages name it
        for name, value in raw.items():
            target = self.mapping.get(name, name)
            if self._skipped(name) or target not in self.fields.settable:
                continue  # server-owned or unknown: noted by _learn
            given[target] = value
            labels[target] = target if target == name else f"{target} (column {shown(name)})"
            converted = cell_value(
                self.fields,
                target,
                value,
                self.format == "csv",
                decimal_comma=self.delimiter == ";",
            )
            if isinstance(converted, FieldError):
                row.errors.append(converted)
            elif converted is not None:
                row.item[target] = converted
        reported = {error.field for error in row.errors}
        body = {k: v for k, v in row.item.items() if k != KEY_FIELD}
        row.errors.extend(e for e in self.fields.check(body) if e.field not in reported)
        if KEY_FIELD in row.item:
            try:
                idempotency_key(row.item[KEY_FIELD])  # the SDK's own rule
            except InvalidRequestError as error:
                # Its message names the key in full; the value is shown clipped below.
                rule = error.message.removeprefix(f"{KEY_FIELD} ").partition(", not ")[0]
                row.errors.append(FieldError(KEY_FIELD, "invalid", rule))
        row.errors = [
            _refusing(e, given.get(e.field), labels.get(e.field, e.field), self.fields)
            for e in row.errors
        ]
        return row


def _refusing(error: FieldError, value: Any, label: str, fields: RecordFields) -> FieldError:
    """`error` naming the value it refused and, for a malformed one, what is accepted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return FieldError(label, error.code, error.message)  # nothing to show: "is required"
    example = _EXAMPLES.get(fields.kind(error.field))
    malformed = error.code in ("invalid_type", "invalid_datetime", "invalid_number")
    hint = f" (e.g. {example})" if example and malformed else ""
    return FieldError(label, error.code, f"{error.message}{hint}, not {shown(value)}")


def check_mapping(pairs: Iterable[tuple[str, str]], fields: RecordFields) -> dict[str, str]:
    """`--map SOURCE=FIELD` options as a mapping; a usage error when one cannot be followed."""
    mapping: dict[str, str] = {}
    for source, target in pairs:
        option = f"--map {shown(f'{source}={target}')}"
        if target not in fields.settable:
            raise UsageError(
                f"{option}: {shown(target)} is not a field of a {fields.noun}"
                f"{close_to(target, fields.settable)}; the fields are "
                f"{', '.join(fields.settable)}"
            )
        if source in mapping:
            raise UsageError(f"{option}: column {shown(source)} is mapped twice")
        twice = [s for s, t in mapping.items() if t == target]
        if twice:
            raise UsageError(
                f"{option}: {shown(twice[0])} is mapped to {target} too; map one column to "
                "each field"
            )
        mapping[source] = target
    return mapping


def _quoted_delimiter(delimiter: str) -> str:
    return "'\\t'" if delimiter == "\t" else repr(delimiter)


def _first_text_line(stream: TextIO) -> tuple[int, str]:
    """How many blank lines come first, and the line after them ("" at the end)."""
    skipped = 0
    for line in stream:
        if line.strip():
            return skipped, line
        skipped += 1
    return skipped, ""


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def cell_value(
    fields: RecordFields, name: str, value: Any, from_text: bool, *, decimal_comma: bool = False
) -> Any:
    """The wire value of one cell; None means "not sent"; a FieldError means unusable.

    With `decimal_comma` (a semicolon-separated file, as Excel writes in locales that write
    87,5), a number may have a comma for its decimal point.
    """
    if value is None or (from_text and value.strip() == ""):
        return None
    if name in fields.datetimes and isinstance(value, str) and _BARE_DATE.fullmatch(value.strip()):
        return f"{value.strip()}T00:00:00Z"  # a bare date means midnight UTC, as for `date`
    if not from_text:
        return value
    text = value.strip()
    if name in fields.numbers:
        if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return FieldError(name, "invalid_type", "must be a number")
        return number if not math.isfinite(number) or not number.is_integer() else int(number)
    if name in fields.booleans:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        return FieldError(name, "invalid_type", "must be true or false (or yes/no, 1/0)")
    return value
