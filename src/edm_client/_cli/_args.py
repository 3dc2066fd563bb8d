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
