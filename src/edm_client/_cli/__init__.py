"""`edm`: the EDM API from a shell. Standard library only (argparse); imported only when run."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from edm_client._adaptive import AdaptiveConcurrency
from edm_client._cli._output import (
    RECORD_COLUMNS,
    TABLE_COLUMNS,
    Progress,
    open_writer,
    record_row,
    write_all,
    write_record,
)
from edm_client._cli._rows import (
    FORMATS,
    KEY_FIELD,
    FileFormatError,
    Reader,
    Row,
    cell_value,
    format_of,
)
from edm_client._client import Client
from edm_client._config import API_KEY_ENV, BASE_URL_ENV
from edm_client._exceptions import EDMError
from edm_client._rules import MAX_PAGE_LIMIT, WRITABLE_FIELDS, FieldError
from edm_client._sanitize import MIN_SECRET_LENGTH, safe_line
from edm_client._version import __version__

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

_EPILOG = f"""\
environment:
  {BASE_URL_ENV}, {API_KEY_ENV}  defaults for --base-url and --api-key

exit codes:
  0    success
  1    an API or data error: the message and the request id go to stderr
  2    a usage error: a bad option, missing configuration, an unreadable file
  130  interrupted (Ctrl-C); running the same import again creates nothing twice

Try any command without an account: edm --fake learning-records list
"""
_FILTERS: Final = ("person_id", "provider", "passed", "linked_cohort_id", "linked_assessment_id")
_CHUNK: Final = 1000
_TTY_FORMATS: Final = {"list": ("table", "jsonl"), "get": ("table", "json")}


class UsageError(Exception):
    """A mistake in how `edm` was called: exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run `edm` with `argv` (default: the process arguments) and return the exit code."""
    parser = _parser()
    argv, serve_args = _split_serve(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    args.serve_args = serve_args
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        _configure_logging(args)
        return handler(args)
    except UsageError as error:
        _print_error(error, args)
        return EXIT_USAGE
    except (EDMError, FileFormatError) as error:
        _print_error(error, args)
        return EXIT_ERROR
    except KeyboardInterrupt:
        resume = "; run the same import again to finish it" if handler is _import else ""
        print(f"\nedm: interrupted{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`edm ... | head`): stop quietly, like other shell tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        _print_error(error, args)
        return EXIT_ERROR


def _print_error(error: Exception, args: argparse.Namespace) -> None:
    # The SDK's messages are already safe; this also covers text from anywhere else.
    print(f"edm: error: {safe_line(str(error), _secrets(args))}", file=sys.stderr)


def _secrets(args: argparse.Namespace) -> tuple[str, ...]:
    secret = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV)
    return (secret.strip(),) if secret and len(secret.strip()) >= MIN_SECRET_LENGTH else ()


# -- the parser ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edm",
        description="The EDM API from a shell: list, get, create, import and export learning "
        "records.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"edm {__version__}")
    _add_global_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    records = _command(
        commands, "learning-records", "list, get, create, import or export learning records"
    )
    actions = records.add_subparsers(title="commands", metavar="COMMAND")
    records.set_defaults(handler=lambda args: _missing_command(records))

    list_ = _command(actions, "list", "print matching records", _list)
    _add_filters(list_)
    list_.add_argument(
        "--format",
        choices=("table", "json", "jsonl", "csv"),
        help="output format (default: table on a terminal, jsonl when piped)",
    )
    list_.add_argument("--limit", type=_count, metavar="N", help="print at most N records")
    _add_page_size(list_)

    get = _command(actions, "get", "print one record by id", _get)
    get.add_argument("id", help="the record id, e.g. per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C")
    get.add_argument(
        "--format",
        choices=("table", "json"),
        help="output format (default: table on a terminal, json when piped)",
    )

    create = _command(actions, "create", "create one record and print it", _create)
    for name in WRITABLE_FIELDS:
        required = name in ("person_id", "title")
        create.add_argument(
            _flag(name),
            dest=name,
            required=required,
            type=_cell_type(name),
            metavar=_METAVARS.get(name, "TEXT"),
            help=_FIELD_HELP.get(name),
        )
    create.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="send this Idempotency-Key: repeating the command with it creates nothing twice",
    )
    create.add_argument("--format", choices=("table", "json"), help="output format")

    import_ = _command(
        actions,
        "import",
        "create the records of a .csv, .jsonl or .json file (safe to run again)",
        _import,
    )
    import_.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="columns (or keys) are create's fields, e.g. person_id,title,score; an "
        "idempotency_key column is used as given; server-owned columns (id, created_at, ...) "
        "are ignored, so an export can be imported",
    )
    import_.add_argument("--format", choices=FORMATS, help="file format (default: from FILE)")
    import_.add_argument(
        "--dry-run", action="store_true", help="check every row and stop; send nothing"
    )
    import_.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows even when some are invalid (they go to --report)",
    )
    import_.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write rows that failed (with _line and _error columns) to FILE; fix and import it",
    )
    import_.add_argument(
        "--concurrency",
        type=_count,
        default=8,
        metavar="N",
        help="most requests in flight (8); fewer while the API answers 429",
    )
    _add_progress(import_)

    export = _command(actions, "export", "write every matching record to a file", _export)
    _add_filters(export)
    export.add_argument(
        "--format",
        choices=("csv", "jsonl", "json"),
        help="file format (default: from -o FILE's extension, else jsonl)",
    )
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write to FILE (default: stdout)"
    )
    _add_page_size(export)
    _add_progress(export)

    fake = _command(commands, "fake", "the in-memory fake EDM server: fake serve")
    fake_actions = fake.add_subparsers(title="commands", metavar="COMMAND")
    fake.set_defaults(handler=lambda args: _missing_command(fake))
    serve = fake_actions.add_parser(
        "serve",
        help="serve the fake over HTTP (same as python -m edm_client.testing serve)",
        add_help=False,
    )
    serve.set_defaults(handler=_fake_serve)
    return parser


def _split_serve(argv: list[str]) -> tuple[list[str], list[str]]:
    """Everything after `fake serve` belongs to the served fake's own command line."""
    for i in range(len(argv) - 1):
        if argv[i : i + 2] == ["fake", "serve"]:
            return argv[: i + 2], argv[i + 2 :]
    return argv, []


def _command(
    commands: Any,
    name: str,
    summary: str,
    handler: Callable[[argparse.Namespace], int] | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: given before or after the command, and a later parser never resets them.
    options = parser.add_argument_group("global options (before or after the command)")
    suppress = argparse.SUPPRESS
    options.add_argument(
        "--base-url", default=suppress, metavar="URL", help=f"API base URL (${BASE_URL_ENV})"
    )
    options.add_argument(
        "--api-key", default=suppress, metavar="TOKEN", help=f"API token (${API_KEY_ENV})"
    )
    options.add_argument(
        "--timeout", type=_seconds, default=suppress, metavar="SECONDS", help="per request (30)"
    )
    options.add_argument(
        "--max-retries", type=_retries, default=suppress, metavar="N", help="per request (2)"
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=suppress,
        help="log every request to stderr (the token never appears)",
    )
    options.add_argument(
        "--fake",
        action="store_true",
        default=suppress,
        help="use an in-memory fake EDM seeded with demo data (no account needed)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    filters = parser.add_argument_group("filters")
    for name in _FILTERS:
        kind = _cell_type(name) if name == "passed" else str
        filters.add_argument(_flag(name), dest=name, type=kind, metavar=_METAVARS.get(name, "ID"))
    filters.add_argument(
        "--include-deleted", action="store_true", help="include soft-deleted records"
    )


def _add_page_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size",
        type=_page_size,
        default=MAX_PAGE_LIMIT,
        metavar="N",
        help=f"records per request, 1-{MAX_PAGE_LIMIT} ({MAX_PAGE_LIMIT})",
    )


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show progress on stderr (default: only on a terminal)",
    )


_METAVARS: Final = {
    "passed": "true|false",
    "score": "0-100",
    "completed_at": "DATETIME",
    "expires_at": "DATETIME",
    "provider": "TEXT",
    "source_type": "frontend|backend|server|system|api",
}
_FIELD_HELP: Final = {
    "person_id": "the person the record belongs to",
    "title": "course, certification or activity name",
    "completed_at": "RFC 3339 (2026-03-01T09:30:00Z) or a date (midnight UTC)",
    "expires_at": "RFC 3339 or a date (midnight UTC)",
    "certification_ref": "credential URL, badge id or certificate number",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _cell_type(name: str) -> Callable[[str], Any]:
    """Parses an option value with the same rules as an import file's cells."""

    def parse(text: str) -> Any:
        value = cell_value(name, text, True)
        if isinstance(value, FieldError):
            raise argparse.ArgumentTypeError(value.message)
        return value

    parse.__name__ = name  # argparse names the option's type in its error message
    return parse


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _page_size(text: str) -> int:
    size = _count(text)
    if size > MAX_PAGE_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_PAGE_LIMIT}, not {size}")
    return size


def _retries(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number of 0 or more, not {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return seconds


def _missing_command(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# -- configuration ---------------------------------------------------------------------------


class _Redact(logging.Filter):
    """Belt and braces: the SDK never logs headers or raw server text, and this hides the
    token (any 16 characters of it) and escapes control characters if anything did."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = safe_line(message, self._secrets)
        if safe != message:
            record.msg, record.args = safe, None
        return True


def _configure_logging(args: argparse.Namespace) -> None:
    if not getattr(args, "verbose", 0):
        return
    sdk_logger = logging.getLogger("edm_client")
    sdk_logger.addFilter(_Redact(_secrets(args)))
    if not sdk_logger.handlers:  # EDM_LOG may have added one already
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("edm: %(levelname)s: %(message)s"))
        sdk_logger.addHandler(handler)
    sdk_logger.setLevel(logging.DEBUG)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Client]:
    options: dict[str, Any] = {}
    if getattr(args, "timeout", None) is not None:
        options["timeout"] = args.timeout
    if getattr(args, "max_retries", None) is not None:
        options["max_retries"] = args.max_retries
    log = logging.getLogger("edm_client")
    if getattr(args, "fake", False):
        if getattr(args, "base_url", None) or getattr(args, "api_key", None):
            raise UsageError("--fake uses an in-memory server: drop --base-url and --api-key")
        from edm_client.testing import FakeServer

        server = FakeServer()
        server.seed_demo_data()  # straight into the fake: -v shows only your requests
        with server.client(**options) as client:
            log.debug("using an in-memory fake EDM at %s, seeded with demo data", server.base_url)
            yield client
        return
    base_url = getattr(args, "base_url", None) or os.environ.get(BASE_URL_ENV)
    api_key = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV)
    missing = [
        f"{what} (pass {flag} or set {env})"
        for what, flag, env, value in (
            ("a base URL", "--base-url", BASE_URL_ENV, base_url),
            ("an API key", "--api-key", API_KEY_ENV, api_key),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            f"edm needs {' and '.join(missing)}; or try it with --fake, an in-memory demo"
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = Client(api_key=api_key, base_url=base_url, **options)
    except EDMError as error:  # a malformed --base-url or --api-key (flag or variable)
        raise UsageError(str(error)) from None
    for warning in caught:  # e.g. a plain http:// base URL: one line, not a source location
        print(f"edm: warning: {warning.message}", file=sys.stderr)
    with client:
        log.debug("using %r with api key [redacted]", client)
        yield client


def _file_format(path: Path, explicit: str | None = None) -> str:
    try:
        return format_of(path, explicit)
    except FileFormatError as error:
        raise UsageError(str(error)) from None


def _format(args: argparse.Namespace, command: str) -> str:
    if args.format:
        return str(args.format)
    on_terminal, piped = _TTY_FORMATS[command]
    return on_terminal if sys.stdout.isatty() else piped


def _show_progress(args: argparse.Namespace) -> bool:
    return bool(sys.stderr.isatty() if args.progress is None else args.progress)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {name: getattr(args, name) for name in _FILTERS}
    return {**chosen, "include_deleted": args.include_deleted}


# -- commands --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    fmt = _format(args, "list")
    page_size = min(args.page_size, args.limit or MAX_PAGE_LIMIT)
    with _client(args) as client:
        records = client.performance.learning_records.list(**_filters(args), limit=page_size)
        chosen = itertools.islice(records, args.limit)
        columns = TABLE_COLUMNS if fmt == "table" else RECORD_COLUMNS
        count = write_all(open_writer(fmt, sys.stdout, columns), map(record_row, chosen))
    if fmt == "table" and count == 0:
        print("no learning records match", file=sys.stderr)
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = client.performance.learning_records.get(args.id)
    write_record(record, _format(args, "get"), sys.stdout)
    return EXIT_OK


def _create(args: argparse.Namespace) -> int:
    fields = {name: getattr(args, name) for name in (*WRITABLE_FIELDS, KEY_FIELD)}
    with _client(args) as client:
        record = client.performance.learning_records.create(**fields)
    write_record(record, _format(args, "get"), sys.stdout)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"cannot read {str(path)!r}: no such file")
    if args.report is not None and args.report.resolve() == path.resolve():
        raise UsageError(
            f"--report {str(args.report)!r} is the file being imported: it would be replaced "
            "by the report; name another file"
        )
    reader = Reader(path, _file_format(path, args.format))

    rows, invalid = _check_rows(reader)
    if reader.ignored:
        print(
            f"edm: note: ignoring server-owned columns: {', '.join(sorted(reader.ignored))}",
            file=sys.stderr,
        )
    if args.dry_run or (invalid and not args.skip_invalid):
        if args.dry_run:
            print(f"dry run: {rows - len(invalid)} valid, {len(invalid)} invalid; nothing sent")
        else:
            print(
                f"edm: error: {_rows(len(invalid))} invalid, so nothing was imported. Fix them, "
                "or pass --skip-invalid to import the others.",
                file=sys.stderr,
            )
        if args.report and not args.dry_run:
            _write_report(args.report, reader, {}, invalid)
        return EXIT_ERROR if invalid else EXIT_OK

    progress = Progress("importing", sys.stderr, enabled=_show_progress(args))
    with _client(args) as client:
        outcome = _create_in_chunks(client, reader, args.concurrency, rows - len(invalid), progress)
    progress.finish()

    failed: dict[int, str] = {}
    if outcome.failed:
        lines = _valid_lines(reader, set(outcome.failed))
        for index, error in outcome.failed.items():
            failed[lines[index]] = error
            print(f"{path}:{lines[index]}: {error}", file=sys.stderr)
    print(
        f"imported {path}: {outcome.created - outcome.replayed} created, {outcome.replayed} "
        f"already imported, {len(outcome.failed)} failed, {len(invalid)} invalid"
    )
    if args.report:  # even when empty, so a report from an earlier run is not mistaken
        _write_report(args.report, reader, failed, invalid)
    return EXIT_OK if not outcome.failed and not invalid else EXIT_ERROR


@dataclass
class _Outcome:
    created: int = 0
    replayed: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    """Why each failed row failed, by its position among the valid rows."""


def _create_in_chunks(
    client: Client, reader: Reader, concurrency: int, total: int, progress: Progress
) -> _Outcome:
    """`create_many` over the valid rows, a chunk at a time: memory stays flat however many
    rows there are, since only counts and failures are kept between chunks."""
    items = (row.item for row in reader.rows() if not row.errors)
    outcome = _Outcome()
    offset = 0
    pace = AdaptiveConcurrency(concurrency)  # one for every chunk: the pace found carries on
    while chunk := list(itertools.islice(items, _CHUNK)):
        result = client.performance.learning_records.create_many(
            chunk,
            concurrency=pace,
            on_progress=progress.shifted(offset, total),
        )
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
            print(f"{reader.path}:{row.line}: {error.field}: {error.message}", file=sys.stderr)
        if row.errors:
            invalid[row.line] = "; ".join(map(str, row.errors))
    return rows, invalid


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


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

    def rows(selected: Iterator[Row]) -> Iterator[dict[str, Any]]:
        for row in selected:
            yield {
                **row.raw,
                "_line": row.line,
                "_error": invalid.get(row.line) or failed[row.line],
            }

    with _output_file(path) as stream:
        chosen = (row for row in reader.rows() if row.line in problems)
        columns = [c for c in reader.columns if not c.startswith("_")] or list(WRITABLE_FIELDS)
        write_all(open_writer(fmt, stream, [*columns, "_line", "_error"]), rows(chosen))
    print(f"edm: {_rows(len(problems))} not imported, written to {path}", file=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    fmt = args.format or (_file_format(output) if output and output.suffix else "jsonl")
    progress = Progress("exported", sys.stderr, enabled=_show_progress(args))
    count = 0
    with _client(args) as client, _output_file(output) as stream:
        writer = open_writer(fmt, stream)
        first = client.performance.learning_records.list(**_filters(args), limit=args.page_size)
        for page in first.iter_pages():
            for record in page.data:
                writer.write(record_row(record))
            count += len(page.data)
            progress(count, None)
        writer.close()
    progress.finish()
    if output is not None:
        print(f"exported {count} records to {output}", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _output_file(path: Path | None) -> Iterator[TextIO]:
    """stdout, or `path` written through a temporary file so it appears only when complete."""
    if path is None or str(path) == "-":
        yield sys.stdout
        return
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        partial.replace(path)
    except OSError as error:
        raise UsageError(f"cannot write {str(path)!r}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)


def _fake_serve(args: argparse.Namespace) -> int:
    """`edm fake serve ...` is `python -m edm_client.testing serve ...`."""
    try:
        from edm_client.testing.__main__ import main as testing_main
    except ImportError as error:
        raise EDMError(f"edm fake serve is not available in this installation: {error}") from None
    return testing_main(["serve", *args.serve_args], prog="edm fake")
