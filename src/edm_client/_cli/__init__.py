"""`edm`: the EDM API from a shell. Standard library only (argparse); imported only when run."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from edm_client._cli._args import add_progress as _add_progress
from edm_client._cli._args import count as _count
from edm_client._cli._args import nonblank as _nonblank
from edm_client._cli._errors import FileFormatError, UsageError
from edm_client._cli._import import CreateMany, add_import_options, run_import
from edm_client._cli._output import (
    Progress,
    TableLayout,
    open_writer,
    output_file,
    record_columns,
    record_row,
    show_progress,
    write_all,
    write_record,
)
from edm_client._cli._rows import KEY_FIELD, RecordFields, cell_value, format_of, shown
from edm_client._client import Client
from edm_client._config import API_KEY_ENV, BASE_URL_ENV
from edm_client._definition import ResourceDefinition, definitions
from edm_client._exceptions import EDMError
from edm_client._rules import MAX_PAGE_LIMIT, FieldError, FieldRule
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
_TTY_FORMATS: Final = {"list": ("table", "jsonl"), "get": ("table", "json")}


def _record_fields(definition: ResourceDefinition[Any]) -> RecordFields:
    """What the importer needs to know of a resource's fields, from its definition."""

    def of_kind(kind: str) -> frozenset[str]:
        return frozenset(n for n, rule in definition.writable.items() if rule.kind == kind)

    return RecordFields(
        noun=definition.noun,
        writable=tuple(definition.writable),
        read_only=definition.read_only,
        check=definition.check_create,
        required=definition.required,
        numbers=of_kind("number"),
        booleans=of_kind("boolean"),
        datetimes=of_kind("datetime"),
    )


def _table_layout(definition: ResourceDefinition[Any]) -> TableLayout:
    """A listing's table: the definition's columns; text may be cut short, ids never."""
    columns = definition.table_columns
    rules = definition.writable
    return TableLayout(
        columns=columns,
        keep=definition.table_priority or columns,
        shrink=frozenset(c for c in columns if c in rules and rules[c].kind == "text"),
        datetimes=frozenset(
            c
            for c in columns
            if c in ("created_at", "updated_at", "deleted_at")
            or (c in rules and rules[c].kind == "datetime")
        ),
    )


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
    known = definitions()
    parser = argparse.ArgumentParser(
        prog="edm",
        description="The EDM API from a shell: list, get, create, import and export "
        f"{_join(d.plural for d in known)}.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"edm {__version__}")
    _add_global_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for definition in known:
        _add_resource(commands, definition)
    _add_fake(commands)
    return parser


def _add_resource(commands: Any, definition: ResourceDefinition[Any]) -> None:
    """`edm <resource> list|get|create|import|export`, as far as the resource offers them."""
    ops = definition.operations
    verbs = [
        verb
        for verb, op in (
            ("list", "list"),
            ("get", "get"),
            ("create", "create"),
            ("import", "create"),
            ("export", "list"),
        )
        if op in ops
    ]
    if not verbs:
        return
    plural, noun = definition.plural, definition.noun
    group = _command(commands, definition.command, f"{_join(verbs, 'or')} {plural}")
    actions = group.add_subparsers(title="commands", metavar="COMMAND")
    group.set_defaults(handler=lambda args: _missing_command(group), definition=definition)

    if "list" in ops:
        list_ = _command(actions, "list", f"print matching {plural}", _list)
        _add_filters(list_, definition)
        list_.add_argument(
            "--format",
            choices=("table", "json", "jsonl", "csv"),
            help="output format (default: table on a terminal, jsonl when piped)",
        )
        list_.add_argument("--limit", type=_count, metavar="N", help=f"print at most N {plural}")
        _add_page_size(list_)

    if "get" in ops:
        get = _command(actions, "get", f"print one {noun} by id", _get)
        example = f"{definition.id_prefix}_{_EXAMPLE_ULID}"
        get.add_argument("id", type=_nonblank, help=f"the {noun} id, e.g. {example}")
        get.add_argument(
            "--format",
            choices=("table", "json"),
            help="output format (default: table on a terminal, json when piped)",
        )

    if "create" in ops:
        create = _command(actions, "create", f"create one {noun} and print it", _create)
        fields = _record_fields(definition)
        for name, rule in definition.writable.items():
            create.add_argument(
                _flag(name),
                dest=name,
                required=rule.required,
                type=_cell_type(fields, name),
                metavar=_metavar(rule),
                help=_field_help(definition, name, rule),
            )
        create.add_argument(
            "--idempotency-key",
            type=_nonblank,
            metavar="KEY",
            help="send this Idempotency-Key: repeating the command with it creates nothing twice",
        )
        create.add_argument("--format", choices=("table", "json"), help="output format")

        import_ = _command(
            actions,
            "import",
            f"create the {plural} of a .csv, .jsonl or .json file (safe to run again)",
            _import,
        )
        add_import_options(import_)

    if "list" in ops:
        export = _command(actions, "export", f"write every matching {noun} to a file", _export)
        _add_filters(export, definition)
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


def _join(words: Iterable[str], conjunction: str = "and") -> str:
    items = list(words)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _add_fake(commands: Any) -> None:
    fake = _command(commands, "fake", "the in-memory fake EDM server: fake serve")
    fake_actions = fake.add_subparsers(title="commands", metavar="COMMAND")
    fake.set_defaults(handler=lambda args: _missing_command(fake))
    serve = fake_actions.add_parser(
        "serve",
        help="serve the fake over HTTP (same as python -m edm_client.testing serve)",
        add_help=False,
    )
    serve.set_defaults(handler=_fake_serve)


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


def _add_filters(parser: argparse.ArgumentParser, definition: ResourceDefinition[Any]) -> None:
    filters = parser.add_argument_group("filters")
    fields = _record_fields(definition)
    for name in definition.filters:
        rule = definition.writable[name]
        kind = _cell_type(fields, name) if rule.kind == "boolean" else _nonblank
        filters.add_argument(_flag(name), dest=name, type=kind, metavar=_metavar(rule))
    filters.add_argument(
        "--include-deleted", action="store_true", help=f"include soft-deleted {definition.plural}"
    )


def _add_page_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size",
        type=_page_size,
        default=MAX_PAGE_LIMIT,
        metavar="N",
        help=f"records per request, 1-{MAX_PAGE_LIMIT} ({MAX_PAGE_LIMIT})",
    )


_EXAMPLE_ULID: Final = "01JD3W6Z5X6N9V7Q8R2T4Y1B0C"
_KIND_METAVARS: Final = {
    "text": "TEXT",
    "id": "ID",
    "boolean": "true|false",
    "datetime": "DATETIME",
    "date": "DATE",
}
_KIND_HELP: Final = {
    "datetime": "RFC 3339 (2026-03-01T09:30:00Z) or a date (midnight UTC)",
    "date": "a date, YYYY-MM-DD",
}


def _metavar(rule: FieldRule) -> str:
    if rule.kind == "enum":
        return "|".join(rule.choices)
    if rule.kind == "number":
        return f"{rule.minimum:g}-{rule.maximum:g}"
    return _KIND_METAVARS[rule.kind]


def _field_help(definition: ResourceDefinition[Any], name: str, rule: FieldRule) -> str:
    """The model's own description of the field, and what its kind accepts."""
    description = definition.model.model_fields[name].description or name
    hint = _KIND_HELP.get(rule.kind)
    return f"{description} ({hint})" if hint else description


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _cell_type(fields: RecordFields, name: str) -> Callable[[str], Any]:
    """Parses an option value with the same rules as an import file's cells."""

    def parse(text: str) -> Any:
        value = cell_value(fields, name, _nonblank(text), True)
        if isinstance(value, FieldError):
            raise argparse.ArgumentTypeError(f"{value.message}, not {shown(text)}")
        return value

    parse.__name__ = name  # argparse names the option's type in its error message
    return parse


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


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {name: getattr(args, name) for name in args.definition.filters}
    return {**chosen, "include_deleted": args.include_deleted}


def _resource(client: Client, definition: ResourceDefinition[Any]) -> Any:
    """The client's resource object for `definition`: `client.<namespace>.<name>`."""
    return getattr(getattr(client, definition.namespace), definition.name)


# -- commands --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    fmt = _format(args, "list")
    page_size = min(args.page_size, args.limit or MAX_PAGE_LIMIT)
    definition: ResourceDefinition[Any] = args.definition
    with _client(args) as client:
        records = _resource(client, definition).list(**_filters(args), limit=page_size)
        chosen = itertools.islice(records, args.limit)
        columns = _table_layout(definition) if fmt == "table" else record_columns(definition.model)
        count = write_all(open_writer(fmt, sys.stdout, columns), map(record_row, chosen))
    if fmt == "table" and count == 0:
        print(f"no {definition.plural} match", file=sys.stderr)
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = _resource(client, args.definition).get(args.id)
    write_record(record, _format(args, "get"), sys.stdout)
    return EXIT_OK


def _create(args: argparse.Namespace) -> int:
    fields = {name: getattr(args, name) for name in (*args.definition.writable, KEY_FIELD)}
    with _client(args) as client:
        record = _resource(client, args.definition).create(**fields)
    write_record(record, _format(args, "get"), sys.stdout)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    definition: ResourceDefinition[Any] = args.definition

    @contextlib.contextmanager
    def create_many() -> Iterator[CreateMany]:
        with _client(args) as client:
            yield _resource(client, definition).create_many

    return run_import(args, _record_fields(definition), create_many)


def _export(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    fmt = args.format or (_file_format(output) if output and output.suffix else "jsonl")
    progress = Progress("exported", sys.stderr, enabled=show_progress(args.progress))
    definition: ResourceDefinition[Any] = args.definition
    count = 0
    with _client(args) as client, output_file(output) as stream:
        writer = open_writer(fmt, stream, record_columns(definition.model))
        first = _resource(client, definition).list(**_filters(args), limit=args.page_size)
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


def _fake_serve(args: argparse.Namespace) -> int:
    """`edm fake serve ...` is `python -m edm_client.testing serve ...`."""
    try:
        from edm_client.testing.__main__ import main as testing_main
    except ImportError as error:
        raise EDMError(f"edm fake serve is not available in this installation: {error}") from None
    return testing_main(["serve", *args.serve_args], prog="edm fake")
