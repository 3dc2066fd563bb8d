"""The contract's rules for a learning-record create body, on wire (JSON) values.

One copy serves both sides: the SDK checks a body before sending it, and the fake server
checks what it receives, so the two can never disagree. When the real service is found to
differ, the change is here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MAX_TITLE_LENGTH = 500
MAX_PROVIDER_LENGTH = 200
MAX_CERTIFICATION_REF_LENGTH = 2000
MAX_SOURCE_LENGTH = 200
MAX_ID_LENGTH = 200
MIN_SCORE = 0.0
MAX_SCORE = 100.0
MIN_PAGE_LIMIT = 1
MAX_PAGE_LIMIT = 100
DEFAULT_PAGE_LIMIT = 20

SOURCE_TYPES = ("frontend", "backend", "server", "system", "api")

ID_FIELDS = ("person_id", "linked_cohort_id", "linked_assessment_id")
DATETIME_FIELDS = ("completed_at", "expires_at")
WRITABLE_FIELDS = (
    "person_id",
    "title",
    "provider",
    "completed_at",
    "expires_at",
    "score",
    "passed",
    "certification_ref",
    "linked_cohort_id",
    "linked_assessment_id",
    "source",
    "source_type",
)
READ_ONLY_FIELDS = (
    "id",
    "tenant_id",
    "app_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "is_deleted",
    "deleted_at",
    "deleted_by",
    "schema_version",
)
_REQUIRED_FIELDS = ("person_id", "title")
_MAX_LENGTHS = {
    "title": MAX_TITLE_LENGTH,
    "provider": MAX_PROVIDER_LENGTH,
    "certification_ref": MAX_CERTIFICATION_REF_LENGTH,
    "source": MAX_SOURCE_LENGTH,
    "person_id": MAX_ID_LENGTH,
    "linked_cohort_id": MAX_ID_LENGTH,
    "linked_assessment_id": MAX_ID_LENGTH,
}

# re.ASCII: `\d` must not match other scripts' digits (fullwidth or Arabic-Indic ones).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the field, a stable machine code and a human message."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def parse_rfc3339(value: str, *, allow_date: bool = False) -> datetime | None:
    """The aware datetime `value` denotes, or None when it is not RFC 3339 with an offset.

    With `allow_date`, a bare `YYYY-MM-DD` means midnight UTC.
    """
    if allow_date and (d := _DATE.fullmatch(value)):
        try:
            return datetime(int(d[1]), int(d[2]), int(d[3]), tzinfo=timezone.utc)
        except ValueError:
            return None
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    try:
        if m[8]:
            tz = timezone.utc
        else:
            offset = timedelta(hours=int(m[10]), minutes=int(m[11]))
            tz = timezone(-offset if m[9] == "-" else offset)
        micros = int((m[7] or ".0")[1:7].ljust(6, "0"))
        parsed = datetime(
            int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), micros, tzinfo=tz
        )
        # An instant outside years 1-9999 in UTC (0001-01-01T00:00:00+05:00) is no datetime.
        parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return parsed


def is_utf8_text(value: str) -> bool:
    """False when UTF-8 cannot carry `value` (it holds a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_create_body(body: Mapping[str, object]) -> list[FieldError]:
    """Every rule of the contract that `body` (decoded JSON) breaks, in field order."""
    errors: list[FieldError] = []
    for name in body:
        if name in READ_ONLY_FIELDS:
            errors.append(FieldError(name, "read_only_field", "is set by the server"))
        elif name not in WRITABLE_FIELDS:
            errors.append(FieldError(name, "unknown_field", "is not a field of a learning record"))
    for name in _REQUIRED_FIELDS:
        if body.get(name) is None:
            errors.append(FieldError(name, "required", "is required"))
    for name in WRITABLE_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        error = _check_field(name, value)
        if error is not None:
            errors.append(FieldError(name, *error))
    return errors


def _check_field(name: str, value: object) -> tuple[str, str] | None:
    if name == "score":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "invalid_type", "must be a number"
        if isinstance(value, float) and not math.isfinite(value):  # huge ints overflow isfinite
            return "invalid_number", "must be a finite number"
        if not MIN_SCORE <= value <= MAX_SCORE:
            return "out_of_range", f"must be between {MIN_SCORE:g} and {MAX_SCORE:g}"
        return None
    if name == "passed":
        if not isinstance(value, bool):
            return "invalid_type", "must be a boolean (true or false)"
        return None
    if not isinstance(value, str):
        return "invalid_type", "must be a string"
    if name in DATETIME_FIELDS:
        allow_date = name == "expires_at"
        if parse_rfc3339(value, allow_date=allow_date) is None:
            accepted = " or a date YYYY-MM-DD" if allow_date else ""
            return "invalid_datetime", f"must be an RFC 3339 date-time with an offset{accepted}"
        return None
    if name == "source_type":
        if value not in SOURCE_TYPES:
            return "invalid_choice", f"must be one of {', '.join(SOURCE_TYPES)}"
        return None
    if not value.strip():
        return "blank", "must not be blank"
    if "\x00" in value:
        return "invalid_character", "must not contain NUL characters"
    if not is_utf8_text(value):
        return "invalid_character", "must not contain lone surrogates"
    limit = _MAX_LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        return "too_long", f"must be at most {limit} characters"
    return None
