"""The two ways `edm` refuses to go on before it talks to the API."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in how `edm` was called (a bad option, an option the file needs): exit 2."""


class FileFormatError(Exception):
    """The file as a whole cannot be read (not the format its name says, not a JSON array)."""
