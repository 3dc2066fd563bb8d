"""Option value types shared by the commands: argparse turns their errors into usage errors."""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """A whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def add_progress(parser: argparse.ArgumentParser) -> None:
    """`--progress`/`--no-progress` (None when neither is given)."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show progress on stderr (default: only on a terminal)",
    )


def delimiter(text: str) -> str:
    """One character that separates CSV columns; `\\t` or `tab` for a tab."""
    value = {"\\t": "\t", "tab": "\t"}.get(text.lower(), text)
    if len(value) != 1 or value.isalnum() or value in "\"'\r\n":
        raise argparse.ArgumentTypeError(
            f"must be one character such as ';' or ',' (or '\\t' for a tab), not {text!r}"
        )
    return value


def column_map(text: str) -> tuple[str, str]:
    """`Source Column=field`: the column (or key) of the file, and the field it gives."""
    source, equals, target = text.rpartition("=")
    if not equals or not source.strip() or not target.strip():
        raise argparse.ArgumentTypeError(
            f'must be "Column Name=field", e.g. "Course Name=title", not {text!r}'
        )
    return source.strip(), target.strip()


def nonblank(text: str) -> str:
    """Text with something in it: an empty id or filter is a slip, never a request."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be blank, not {text!r}")
    return text
