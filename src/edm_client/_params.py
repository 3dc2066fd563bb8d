"""Turning Python arguments into wire values, refusing what the contract rejects.

Everything here raises `InvalidRequestError` naming the argument, before any request is sent.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeAlias
from urllib.parse import quote

import httpx
from pydantic_core import to_json

from edm_client._exceptions import InvalidRequestError
from edm_client._rules import (
    IDEMPOTENCY_KEY_RULE,
    MAX_PAGE_LIMIT,
    MIN_PAGE_LIMIT,
    FieldError,
    Kind,
    check_idempotency_key,
    is_utf8_text,
    parse_date,
)

__all__ = [
    "FILTER_CONVERTERS",
    "WIRE_CONVERTERS",
    "Converter",
    "DateInput",
    "DateTimeInput",
    "IdInput",
    "check_body",
    "check_timeout",
    "encode_body",
    "filter_enum",
    "filter_id",
    "filter_str",
    "id_value",
    "idempotency_key",
    "page_limit",
    "path_segment",
    "query_bool",
    "wire_bool",
    "wire_date",
    "wire_datetime",
    "wire_enum",
    "wire_number",
    "wire_str",
]

IdInput: TypeAlias = str | uuid.UUID
DateTimeInput: TypeAlias = datetime | date | str
DateInput: TypeAlias = date | str


def _type_error(name: str, expected: str, value: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"{name} must be {expected}, not {type(value).__name__} {_show(value)}", param=name
    )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def id_value(name: str, value: IdInput) -> str:
    """An id as the string to send; a `uuid.UUID` is accepted."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise _type_error(name, "a str or uuid.UUID", value)
    return _unicode_text(name, value)


def path_segment(name: str, value: IdInput) -> str:
    """An id percent-encoded as exactly one URL path segment."""
    text = id_value(name, value)
    if not text.strip() or text in (".", ".."):
        raise InvalidRequestError(f"{name} must be a non-empty id, not {text!r}", param=name)
    return quote(text, safe="")


def filter_id(name: str, value: IdInput) -> str:
    """An id to filter a listing by; a blank one is refused (it would match nothing)."""
    return _not_blank(name, id_value(name, value))


def filter_str(name: str, value: str) -> str:
    """A text value to filter a listing by; a blank one is refused."""
    return _not_blank(name, wire_str(name, value))


def _not_blank(name: str, text: str) -> str:
    if not text.strip():
        raise InvalidRequestError(f"{name} must not be blank, not {text!r}", param=name)
    return text


def wire_str(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise _type_error(name, "a str", value)
    return _unicode_text(name, value)


def _unicode_text(name: str, text: str) -> str:
    """`text` as a plain str, refused when UTF-8 cannot carry it (a lone surrogate, e.g. from
    bad decoding)."""
    if not is_utf8_text(text):
        raise InvalidRequestError(
            f"{name} is not valid Unicode text: it contains a lone surrogate", param=name
        )
    # A str subclass is sent as the text it is (what was checked), not as whatever an encoder
    # makes of it: pydantic-core sends an Enum member's value, `str()` its name.
    return text if type(text) is str else str.__str__(text)


def wire_number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(name, "a number", value)
    if isinstance(value, float) and not math.isfinite(value):  # ints are finite, even huge ones
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}", param=name)
    # A subclass (numpy.float64, an Enum member) is sent as the number it is, as with text.
    if type(value) is int or type(value) is float:
        return value
    return float.__float__(value) if isinstance(value, float) else int.__int__(value)


def wire_bool(name: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, "True or False", value)
    return value


def query_bool(name: str, value: bool) -> str:
    return "true" if wire_bool(name, value) else "false"


def wire_enum(name: str, value: str | Enum) -> str:
    if isinstance(value, Enum):
        value = value.value
    return wire_str(name, value)  # type: ignore[arg-type]


def wire_datetime(name: str, value: DateTimeInput) -> str:
    """RFC 3339 text. A `date`, or a date string `YYYY-MM-DD`, means midnight UTC; a naive
    `datetime` is refused."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            raise InvalidRequestError(
                f"{name} is a naive datetime ({value.isoformat()}); its time zone would be a "
                f"guess. Pass an aware one, e.g. {name}=datetime(..., tzinfo=timezone.utc).",
                param=name,
            )
        text = value.isoformat()
        # A zero offset is written "+00:00" last, which the API's own records spell "Z".
        return text[:-6] + "Z" if not offset else text
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, str):
        # Sent exactly as `date(...)` would be, so both make the same request (and bulk key).
        day = parse_date(value)
        return f"{day.isoformat()}T00:00:00Z" if day else _unicode_text(name, value)
    raise _type_error(name, "an aware datetime, a date or an RFC 3339 string", value)


def wire_date(name: str, value: DateInput) -> str:
    """A calendar date as `YYYY-MM-DD`. A `datetime` is refused: which day it falls on depends
    on a time zone the caller did not choose."""
    if isinstance(value, datetime):
        raise InvalidRequestError(
            f"{name} is a date, not a date-time: pass {name}=date(...) or 'YYYY-MM-DD' "
            f"(e.g. {value.date().isoformat()!r}), not a datetime",
            param=name,
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _unicode_text(name, value)
    raise _type_error(name, "a date or a 'YYYY-MM-DD' string", value)


def compact(
    converters: Mapping[str, Callable[[str, Any], object]], values: Mapping[str, object]
) -> dict[str, Any]:
    """The wire form of every value that is not None (None means "not sent")."""
    return {
        name: converters[name](name, value) for name, value in values.items() if value is not None
    }


def check_body(errors: list[FieldError]) -> None:
    """Raise for the broken contract rules found in a body about to be sent."""
    if errors:
        first = errors[0]
        more = (
            f" (and {len(errors) - 1} more: {', '.join(map(str, errors[1:]))})"
            if errors[1:]
            else ""
        )
        raise InvalidRequestError(f"{first}{more}", param=first.field)


def encode_body(body: Mapping[str, object]) -> bytes:
    """Compact UTF-8 JSON of converted values (str, bool, int and finite float only)."""
    # pydantic-core's encoder: a fifth of the json module's time for a create body.
    return to_json(body)


def check_timeout(value: object) -> None:
    """A per-call `timeout`: None, seconds (a number, 0 or more) or an `httpx.Timeout`."""
    if value is None or isinstance(value, httpx.Timeout):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error("timeout", "seconds (a number) or an httpx.Timeout", value)
    if not (math.isfinite(value) and value >= 0):
        raise InvalidRequestError(
            f"timeout must be a finite number of seconds, 0 or more, not {value!r}",
            param="timeout",
        )


def page_limit(name: str, value: int) -> str:
    """A page size as sent: an int from 1 to 100."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be an int, not {value!r}", param=name)
    if not MIN_PAGE_LIMIT <= value <= MAX_PAGE_LIMIT:
        raise InvalidRequestError(
            f"{name} must be between {MIN_PAGE_LIMIT} and {MAX_PAGE_LIMIT}, not {value}",
            param=name,
        )
    return str(value)


def idempotency_key(key: str | None) -> str:
    """The caller's `Idempotency-Key`, checked, else a new random one."""
    if key is None:
        return _random_uuid()
    if check_idempotency_key(key) is not None:
        raise InvalidRequestError(
            f"idempotency_key must be {IDEMPOTENCY_KEY_RULE}, not {_show(key)}",
            param="idempotency_key",
        )
    return key


def _random_uuid() -> str:
    """A random (version 4) UUID as text, as `str(uuid.uuid4())` writes it."""
    # Formatted here: building a `uuid.UUID` to print it is most of uuid4()'s cost.
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def filter_enum(name: str, value: str | Enum) -> str:
    """An enum value to filter a listing by."""
    return _not_blank(name, wire_enum(name, value))


Converter: TypeAlias = Callable[[str, Any], object]

WIRE_CONVERTERS: dict[Kind, Converter] = {
    "text": wire_str,
    "id": id_value,
    "number": wire_number,
    "boolean": wire_bool,
    "datetime": wire_datetime,
    "date": wire_date,
    "enum": wire_enum,
}
"""How a create argument of each kind of field becomes its JSON value."""
FILTER_CONVERTERS: dict[Kind, Converter] = {
    "text": filter_str,
    "id": filter_id,
    "boolean": query_bool,
    "enum": filter_enum,
}
"""How a list filter of each kind of field becomes its query-string value."""
