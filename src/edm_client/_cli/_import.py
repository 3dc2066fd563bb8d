"""`edm <resource> import`: check every row of a file, create the valid ones, report the rest.

Nothing here names a resource: the command passes in its `RecordFields` and a way to reach the
resource's `create_many`, so every resource's import works the same way.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from edm_client._adaptive import AdaptiveConcurrency
from edm_client._bulk import BulkCreateResult, ProgressCallback
from edm_client._cli._args import add_progress, column_map, count, delimiter
from edm_client._cli._errors import FileFormatError, UsageError
from edm_client._cli._output import Progress, open_writer, output_file, show_progress, write_all
from edm_client._cli._rows import (
    FORMATS,
    Reader,
    RecordFields,
    Row,
    check_mapping,
    close_to,
    format_of,
    shown,
)

_CHUNK: Final = 1000


class CreateMany(Protocol):
    """A resource's `create_many`."""

    def __call__(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int | AdaptiveConcurrency = ...,
        on_progress: ProgressCallback | None = ...,
    ) -> BulkCreateResult[Any]: ...


def add_import_options(parser: argparse.ArgumentParser) -> None:
    """The arguments of an `import` command."""
    parser.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="columns (or keys) are create's fields, e.g. person_id,title,score; an "
        "idempotency_key column is used as given; server-owned columns (id, created_at, ...) "
        "are ignored, so an export can be imported",
    )
    parser.add_argument("--format", choices=FORMATS, help="file format (default: from FILE)")
    parser.add_argument(
        "--delimiter",
        type=delimiter,
        metavar="CHAR",
        help="what separates CSV columns, e.g. ';' or '\\t' (default: found from the header)",
    )
    parser.add_argument(
        "--map",
        type=column_map,
        action="append",
        default=[],
        metavar='"COLUMN=FIELD"',
        help='read a column as a field, e.g. --map "Course Name=title" (repeatable)',
    )
    parser.add_argument(
        "--ignore-unknown-columns",
        action="store_true",
        help="skip columns that are not fields (default: stop and name them)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check every row and stop; send nothing"
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows even when some are invalid (they go to --report)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write rows that failed (with _line and _error columns) to FILE; fix and import it",
    )
    parser.add_argument(
        "--concurrency",
        type=count,
        default=8,
        metavar="N",
        help="most requests in flight (8); fewer while the API answers 429",
    )
    add_progress(parser)


def run_import(
    args: argparse.Namespace,
    fields: RecordFields,
    open_resource: Callable[[], AbstractContextManager[CreateMany]],
) -> int:
    """Run `import` as `args` say; `open_resource()` is entered only once rows are to be sent."""
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"cannot read {str(path)!r}: no such file")
    if args.report is not None and args.report.resolve() == path.resolve():
        raise UsageError(
            f"--report {str(args.report)!r} is the file being imported: it would be replaced "
            "by the report; name another file"
        )
    try:
        fmt = format_of(path, args.format)
    except FileFormatError as error:
        raise UsageError(str(error)) from None
    if args.delimiter is not None and fmt != "csv":
        raise UsageError(f"--delimiter is for CSV files, and {path} is read as {fmt}")
    mapping = check_mapping(args.map, fields)
    reader = Reader(path, fmt, fields, delimiter=args.delimiter, mapping=mapping)

    rows, invalid = _check_rows(reader)
    if rows == 0:
        print(
            f"edm: error: {path} {_emptiness(reader)}: there is nothing to import", file=sys.stderr
        )
        if args.report:
            _write_report(args.report, reader, {}, {})
        return 1
    if reader.ignored:
        print(
            f"edm: note: ignoring server-owned columns: {', '.join(sorted(reader.ignored))}",
            file=sys.stderr,
        )
    blockers = _header_problems(reader, ignore_unknown=args.ignore_unknown_columns)
    stopping_rows = bool(invalid) and not args.skip_invalid and not reader.missing
    if stopping_rows:
        blockers.append(f"{_rows(len(invalid))} invalid")
    if args.dry_run:
        print(f"dry run: {rows - len(invalid)} valid, {len(invalid)} invalid; nothing sent")
        return 1 if invalid or blockers else 0
    if blockers:
        advice = " Fix them, or pass --skip-invalid to import the others." if stopping_rows else ""
        print(
            f"edm: error: {' and '.join(blockers)}, so nothing was imported.{advice}",
            file=sys.stderr,
        )
        if args.report:
            _write_report(args.report, reader, {}, invalid)
        return 1

    progress = Progress("importing", sys.stderr, enabled=show_progress(args.progress))
    with open_resource() as create_many:
        outcome = _create_in_chunks(
            create_many, reader, args.concurrency, rows - len(invalid), progress
        )
    progress.finish()

    failed: dict[int, str] = {}
    if outcome.failed:
        lines = _valid_lines(reader, set(outcome.failed))
        for index, why in outcome.failed.items():
            failed[lines[index]] = why
            print(f"{path}:{lines[index]}: {why}", file=sys.stderr)
    print(
        f"imported {path}: {outcome.created - outcome.replayed} created, {outcome.replayed} "
        f"already imported, {len(outcome.failed)} failed, {len(invalid)} invalid"
    )
    if args.report:  # even when empty, so a report from an earlier run is not mistaken
        _write_report(args.report, reader, failed, invalid)
    return 0 if not outcome.failed and not invalid else 1


@dataclass
class _Outcome:
    created: int = 0
    replayed: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    """Why each failed row failed, by its position among the valid rows."""


def _create_in_chunks(
    create_many: CreateMany, reader: Reader, concurrency: int, total: int, progress: Progress
) -> _Outcome:
    """`create_many` over the valid rows, a chunk at a time: memory stays flat however many
    rows there are, since only counts and failures are kept between chunks."""
    items = (row.item for row in reader.rows() if not row.errors)
    outcome = _Outcome()
    offset = 0
    pace = AdaptiveConcurrency(concurrency)  # one for every chunk: the pace found carries on
    while chunk := list(itertools.islice(items, _CHUNK)):
        result = create_many(chunk, concurrency=pace, on_progress=progress.shifted(offset, total))
        outcome.created += result.created_count
        outcome.replayed += result.replayed_count
        outcome.failed.update((offset + f.index, str(f.error)) for f in result.failed)
        offset += len(chunk)
    return outcome


def _check_rows(reader: Reader) -> tuple[int, dict[int, str]]:
    """Check every row, print each problem as FILE:LINE: FIELD: MESSAGE.

    Returns how many rows there are, and the problems of each invalid row by line.
    """
    invalid: dict[int, str] = {}
    rows = 0
    for rows, row in enumerate(reader.rows(), start=1):  # noqa: B007
        for error in row.errors:
            if error.code == "required" and error.field in reader.missing:
                continue  # a fact of the header, said once
            print(f"{reader.path}:{row.line}: {error.field}: {error.message}", file=sys.stderr)
        if row.errors:
            invalid[row.line] = "; ".join(map(str, row.errors))
    return rows, invalid


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _emptiness(reader: Reader) -> str:
    if not reader.has_header:
        return "is empty"
    return "has a header but no rows" if reader.format == "csv" else "is an empty JSON array"


def _header_problems(reader: Reader, *, ignore_unknown: bool) -> list[str]:
    """Say once what is wrong with the columns, and how to go on; returns what stops the
    import ("an unknown column", "no title column")."""
    fields = reader.fields
    blockers = []
    if reader.unknown:
        what = "column" if reader.format == "csv" else "key"
        many = len(reader.unknown) > 1
        listed = ", ".join(
            shown(name)
            + close_to(name, fields.settable)
            + ("" if reader.format == "csv" else f" (line {line})")
            for name, line in reader.unknown.items()
        )
        if ignore_unknown:
            print(
                f"edm: note: ignoring {what}{'s' if many else ''} {listed}: "
                f"{'not fields' if many else 'not a field'} of a {fields.noun}",
                file=sys.stderr,
            )
        else:
            print(
                f"edm: error: {reader.path}: {what}{'s' if many else ''} {listed} "
                f"{'are not fields' if many else 'is not a field'} of a {fields.noun}. Pass "
                f"--ignore-unknown-columns to import the file without "
                f"{'them' if many else 'it'}, or --map {_map_example(next(iter(reader.unknown)))}"
                f" to read {'one' if many else 'it'} as a field ({', '.join(fields.settable)})",
                file=sys.stderr,
            )
            count = len(reader.unknown)
            blockers.append(f"{count} unknown {what}s" if many else f"an unknown {what}")
    if reader.missing:
        needed = " and ".join(reader.missing)
        print(
            f"edm: error: {reader.path}: no column gives {needed}, which every {fields.noun} "
            f"needs. Name a column {reader.missing[0]}, or pass --map "
            f"{_map_example('COLUMN', reader.missing[0])}",
            file=sys.stderr,
        )
        blockers.append(f"no {needed} column")
    return blockers


def _map_example(column: str, target: str = "FIELD") -> str:
    """`--map`'s value as it would be typed in a shell."""
    value = f"{column}={target}"
    return shlex.quote(value) if value.isprintable() else shown(value)


def _valid_lines(reader: Reader, indexes: set[int]) -> dict[int, int]:
    """The line of each of the given positions among the valid rows (one more read)."""
    valid = (row for row in reader.rows() if not row.errors)
    return {i: row.line for i, row in enumerate(valid) if i in indexes}


def _write_report(
    path: Path, reader: Reader, failed: dict[int, str], invalid: dict[int, str]
) -> None:
    """The rows that were not imported, as they were, with `_line` and `_error` columns."""
    problems = {**failed, **invalid}  # line -> why
    fmt = format_of(path) if path.suffix.lower() in (".csv", ".jsonl", ".json") else reader.format
    # As the input was: Excel needs the mark to read UTF-8, and its locale's delimiter.
    delimiter = (reader.delimiter or ",") if reader.format == "csv" else ","

    def rows(selected: Iterator[Row]) -> Iterator[dict[str, Any]]:
        for row in selected:
            yield {
                **row.raw,
                "_line": row.line,
                "_error": invalid.get(row.line) or failed[row.line],
            }

    with output_file(path, bom=reader.bom and fmt == "csv") as stream:
        chosen = (row for row in reader.rows() if row.line in problems)
        columns = [c for c in reader.columns if not c.startswith("_")] or list(
            reader.fields.writable
        )
        header = [*columns, "_line", "_error"]
        write_all(open_writer(fmt, stream, header, delimiter=delimiter), rows(chosen))
    print(f"edm: {_rows(len(problems))} not imported, written to {path}", file=sys.stderr)
