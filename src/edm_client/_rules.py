"""The contract's rules on wire (JSON) values: what a create body and a list query may hold.

One copy serves both sides: the SDK checks a body before sending it, and the fake server
checks what it receives, so the two can never disagree. A resource states its rules as one
`FieldRule` per writable field in its `ResourceDefinition`; nothing here knows a resource.
When the real service is found to differ, the change is in that definition, or here for a
rule every resource shares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Final, Literal, TypeAlias

MAX_ID_LENGTH: Final = 200
MIN_PAGE_LIMIT: Final = 1
MAX_PAGE_LIMIT: Final = 100
DEFAULT_PAGE_LIMIT: Final = 20
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
IDEMPOTENCY_KEY: Final = re.compile(
    rf"[!-~](?:[ -~]{{0,{MAX_IDEMPOTENCY_KEY_LENGTH - 2}}}[!-~])?", re.ASCII
)
"""An `Idempotency-Key`: printable ASCII, with no space first or last, since HTTP drops
those from a header value (the server would see another key than the one sent)."""
IDEMPOTENCY_KEY_RULE: Final = (
    f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (no space first or last)"
)

Kind: TypeAlias = Literal["text", "id", "number", "boolean", "datetime", "date", "enum"]
FILTER_KINDS: Final[frozenset[Kind]] = frozenset({"text", "id", "boolean", "enum"})
"""The kinds of field a listing can be filtered by (by exact match)."""

# re.ASCII: `\d` must not match other scripts' digits (fullwidth or Arabic-Indic ones).
RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_BOOLEANS: Final = {"true": True, "false": False}


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the field, a stable machine code and a human message."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class FieldRule:
    """What one writable field accepts on the wire. Build one with the class methods.

    `datetime` fields take RFC 3339 with an offset, or a date `YYYY-MM-DD` meaning midnight
    UTC; `date` fields take only a date. Text and ids are refused blank, with NUL characters
    or lone surrogates, or longer than `max_length`.
    """

    kind: Kind
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @classmethod
    def text(cls, *, max_length: int, required: bool = False) -> FieldRule:
        return cls("text", required, max_length=max_length)

    @classmethod
    def id(cls, *, required: bool = False) -> FieldRule:
        """An opaque id (a UUID or a prefixed ULID, sent as a string)."""
        return cls("id", required, max_length=MAX_ID_LENGTH)

    @classmethod
    def number(cls, *, minimum: float, maximum: float, required: bool = False) -> FieldRule:
        return cls("number", required, minimum=minimum, maximum=maximum)

    @classmethod
    def boolean(cls, *, required: bool = False) -> FieldRule:
        return cls("boolean", required)

    @classmethod
    def date_time(cls, *, required: bool = False) -> FieldRule:
        return cls("datetime", required)

    @classmethod
    def date_only(cls, *, required: bool = False) -> FieldRule:
        return cls("date", required)

    @classmethod
    def enum(cls, choices: type[Enum] | Iterable[str], *, required: bool = False) -> FieldRule:
        """One of `choices` (an `Enum` of strings, or the strings); the API is strict on writes."""
        values = [m.value for m in choices] if isinstance(choices, type) else list(choices)
        return cls("enum", required, choices=tuple(values))

    def check(self, value: object) -> tuple[str, str] | None:
        """`(code, message)` when the wire value `value` breaks this rule, else None."""
        if self.kind == "number":
            return self._check_number(value)
        if self.kind == "boolean":
            if not isinstance(value, bool):
                return "invalid_type", "must be a boolean (true or false)"
            return None
        if not isinstance(value, str):
            return "invalid_type", "must be a string"
        if self.kind == "datetime":
            if parse_datetime(value) is None:
                return "invalid_datetime", (
                    "must be an RFC 3339 date-time with an offset, or a date YYYY-MM-DD "
                    "(midnight UTC)"
                )
            return None
        if self.kind == "date":
            if parse_date(value) is None:
                return "invalid_date", "must be a date YYYY-MM-DD"
            return None
        if self.kind == "enum":
            if value not in self.choices:
                return "invalid_choice", f"must be one of {', '.join(self.choices)}"
            return None
        return self._check_text(value)

    def _check_number(self, value: object) -> tuple[str, str] | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "invalid_type", "must be a number"
        if isinstance(value, float) and not math.isfinite(value):  # huge ints overflow isfinite
            return "invalid_number", "must be a finite number"
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        if not low <= value <= high:
            return "out_of_range", f"must be between {low:g} and {high:g}"
        return None

    def _check_text(self, value: str) -> tuple[str, str] | None:
        if not value.strip():
            return "blank", "must not be blank"
        if "\x00" in value:
            return "invalid_character", "must not contain NUL characters"
        if not is_utf8_text(value):
            return "invalid_character", "must not contain lone surrogates"
        if self.max_length is not None and len(value) > self.max_length:
            return "too_long", f"must be at most {self.max_length} characters"
        return None

    def filter_value(self, name: str, text: str) -> bool | str | FieldError:
        """The value a listing filtered by `name=text` matches, or why it is refused."""
        if self.kind == "boolean":
            return query_boolean(name, text)
        if self.kind == "enum" and text not in self.choices:
            return FieldError(name, "invalid_choice", f"must be one of {', '.join(self.choices)}")
        if not text.strip():
            return FieldError(name, "blank", "must not be blank")
        return text


def check_create_body(
    rules: Mapping[str, FieldRule],
    body: Mapping[str, object],
    *,
    read_only: Collection[str],
    noun: str,
) -> list[FieldError]:
    """Every rule that `body` (decoded JSON) breaks: its unknown and read-only names in body
    order, then the missing required fields, then the invalid values, each in field order.

    `rules` are the writable fields of a `noun` ("goal"), `read_only` the server-owned ones
    (no name is both).
    """
    errors: list[FieldError] = []
    for name in body:
        if name not in rules:
            if name in read_only:
                errors.append(FieldError(name, "read_only_field", "is set by the server"))
            else:
                errors.append(
                    FieldError(name, "unknown_field", f"is not a field of {article(noun)}")
                )
    invalid: list[FieldError] = []
    for name, rule in rules.items():
        value = body.get(name)
        if value is None:
            if rule.required:
                errors.append(FieldError(name, "required", "is required"))
            continue
        error = rule.check(value)
        if error is not None:
            invalid.append(FieldError(name, *error))
    errors += invalid
    return errors


def check_idempotency_key(key: object) -> FieldError | None:
    """Why `key` cannot be an `Idempotency-Key`, or None: the SDK's and the fake's check."""
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        return None
    return FieldError(
        "Idempotency-Key", "invalid_idempotency_key", f"must be {IDEMPOTENCY_KEY_RULE}"
    )


def check_page_limit(text: str) -> int | FieldError:
    """A page size from a query string, or why it is refused."""
    if text.isascii() and text.isdigit() and MIN_PAGE_LIMIT <= int(text) <= MAX_PAGE_LIMIT:
        return int(text)
    return FieldError(
        "limit", "out_of_range", f"must be an integer from {MIN_PAGE_LIMIT} to {MAX_PAGE_LIMIT}"
    )


def query_boolean(name: str, text: str) -> bool | FieldError:
    """`true` or `false` from a query string, or why it is refused."""
    value = _BOOLEANS.get(text)
    return FieldError(name, "invalid_type", "must be true or false") if value is None else value


def parse_datetime(value: str) -> datetime | None:
    """The aware datetime `value` denotes, or None when it is neither RFC 3339 with an offset
    nor a date `YYYY-MM-DD` (which means midnight UTC)."""
    if len(value) == 10 and (day := parse_date(value)) is not None:
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    m = RFC3339.fullmatch(value)
    if m is None:
        return None
    try:
        try:
            # The pattern has decided what is valid; this reads what it matched in C, as the
            # fields below do, on Python 3.11+ (3.10 reads no "Z"; no version reads "z").
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _from_fields(m)
        # An instant outside years 1-9999 in UTC (0001-01-01T00:00:00+05:00) is no datetime.
        parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return parsed


def _from_fields(m: re.Match[str]) -> datetime:
    if m[8]:
        tz = timezone.utc
    else:
        offset = timedelta(hours=int(m[10]), minutes=int(m[11]))
        tz = timezone(-offset if m[9] == "-" else offset)
    micros = int((m[7] or ".0")[1:7].ljust(6, "0"))
    return datetime(
        int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), micros, tzinfo=tz
    )


def parse_date(value: str) -> date | None:
    """The calendar date `YYYY-MM-DD` denotes, or None."""
    d = DATE.fullmatch(value)
    if d is None:
        return None
    try:
        return date(int(d[1]), int(d[2]), int(d[3]))
    except ValueError:
        return None


def is_utf8_text(value: str) -> bool:
    """False when UTF-8 cannot carry `value` (it holds a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def article(noun: str) -> str:
    """`noun` with its indefinite article: "a goal", "an assessment"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
