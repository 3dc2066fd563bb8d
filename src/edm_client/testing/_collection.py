"""One resource's records in the fake, all of it read from the resource's definition.

Storage in creation order, the server's stamps, tenant and application scoping, soft delete,
list filters and cursors, and idempotent replays. Nothing here knows a resource by name.
Callers hold the fake's lock.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from edm_client._definition import ResourceDefinition
from edm_client._rules import (
    DEFAULT_PAGE_LIMIT,
    FieldError,
    Kind,
    check_page_limit,
    parse_datetime,
)
from edm_client._rules import query_boolean as _query_boolean
from edm_client.testing._decoding import b64url_decode, b64url_encode, load_json
from edm_client.testing._problem import Problem, malformed, validation_problem

__all__ = [
    "IDEMPOTENCY_CONFLICT",
    "IDEMPOTENCY_WINDOW_SECONDS",
    "NULLABLE_STAMPS",
    "Caller",
    "Collection",
    "format_datetime",
]

IDEMPOTENCY_WINDOW_SECONDS: Final = 24 * 3600
IDEMPOTENCY_CONFLICT: Final = FieldError(
    "Idempotency-Key", "idempotency_conflict", "was used with another body"
)
NULLABLE_STAMPS: Final = ("app_id", "deleted_at", "deleted_by")
"""The server's stamps a stored record may hold as null; it always fills the others."""
_PAGING: Final = ("include_deleted", "limit", "cursor")


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from the claims of its token."""

    person_id: str
    tenant_id: str
    app_id: str | None


@dataclass(frozen=True)
class Created:
    """A create's answer: a new record, or the replay of an earlier one with the same key."""

    record_id: str
    body: bytes
    headers: Mapping[str, str]
    """The response's own headers (`Location`), sent again with a replay."""
    replayed: bool


@dataclass
class _Replay:
    fingerprint: str
    created: Created
    stored_at: float


def format_datetime(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class Collection:
    """The records of one resource, in creation (id) order."""

    def __init__(
        self,
        definition: ResourceDefinition[Any],
        *,
        clock: Callable[[], datetime],
        new_ulid: Callable[[], str],
        page_scan_limit: int | None,
    ) -> None:
        self.definition = definition
        self._clock = clock
        self._new_ulid = new_ulid
        self._page_scan_limit = page_scan_limit
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        # Keyed by tenant and application (and, being per collection, by path): one app's key
        # never replays another's record.
        self._replays: dict[tuple[str, str | None, str], _Replay] = {}

    def reset(self) -> None:
        self.records.clear()
        self.order.clear()
        self._replays.clear()

    def stored(self) -> list[dict[str, Any]]:
        """Every record (all tenants), oldest first, as sent."""
        return [self.records[i] for i in self.order]

    # -- the API's operations ------------------------------------------------------------

    def get(self, caller: Caller, record_id: str) -> dict[str, Any]:
        record = self.records.get(record_id)
        if record is None or not _visible(caller, record):
            raise Problem(404, f"{self.definition.noun} {record_id!r} not found")
        return record

    def list(self, caller: Caller, query: Mapping[str, str]) -> dict[str, Any]:
        """A page of the records `caller` sees that match the filters in `query`."""
        definition = self.definition
        errors = [
            FieldError(name, "unknown_parameter", "is not a query parameter of this endpoint")
            for name in query
            if name not in definition.filters and name not in _PAGING
        ]
        limit = check_page_limit(query.get("limit", str(DEFAULT_PAGE_LIMIT)))
        include_deleted = _query_boolean("include_deleted", query.get("include_deleted", "false"))
        filters: dict[str, object] = {}
        for name in definition.filters:
            if name in query:
                filters[name] = definition.writable[name].filter_value(name, query[name])
        checked = (limit, include_deleted, *filters.values())
        errors += [error for error in checked if isinstance(error, FieldError)]
        if errors or isinstance(limit, FieldError) or isinstance(include_deleted, FieldError):
            raise validation_problem(errors)
        fingerprint = _fingerprint(
            {**filters, "include_deleted": include_deleted, "path": definition.path}
        )
        start = 0
        if "cursor" in query:
            start = bisect.bisect_right(self.order, _decode_cursor(query["cursor"], fingerprint))

        def matches(record: dict[str, Any]) -> bool:
            return (
                _visible(caller, record)
                and (include_deleted or not record["is_deleted"])
                and all(record.get(name) == value for name, value in filters.items())
            )

        data: list[dict[str, Any]] = []
        next_cursor: str | None = None
        for scanned, position in enumerate(range(start, len(self.order)), start=1):
            record = self.records[self.order[position]]
            if matches(record):
                if len(data) == limit:
                    next_cursor = _encode_cursor(data[-1]["id"], fingerprint)
                    break
                data.append(record)
            if self._page_scan_limit is not None and scanned >= self._page_scan_limit:
                # Deliberately short (even empty) pages that still go on, as the contract allows.
                if position + 1 < len(self.order):
                    next_cursor = _encode_cursor(self.order[position], fingerprint)
                break
        return {"data": data, "next_cursor": next_cursor}

    def create(self, caller: Caller, body: object, key: str | None, now: float) -> Created:
        """Store `body` (decoded JSON), or replay the create that used `key` before.

        A replay is recognised by the values the body would store (`stored_values`), not its
        bytes: `"score": 90` matches `90.0`, a null matches a field left out.
        """
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        errors = self.definition.check_create(body)
        if errors:
            raise validation_problem(errors)
        values = self.stored_values(body)
        fingerprint = _fingerprint(values)
        replay_key = (caller.tenant_id, caller.app_id, key or "")
        replay = self._replays.get(replay_key) if key is not None else None
        if replay is not None and now - replay.stored_at < IDEMPOTENCY_WINDOW_SECONDS:
            if replay.fingerprint != fingerprint:
                raise Problem(
                    409,
                    "this Idempotency-Key was already used with a different body",
                    errors=[IDEMPOTENCY_CONFLICT],
                )
            return dataclasses.replace(replay.created, replayed=True)
        record = self._store(caller, values)
        location = f"{self.definition.path}/{record['id']}"
        created = Created(
            record["id"], json.dumps(record).encode(), {"Location": location}, replayed=False
        )
        if key is not None:
            # Only successful creates are remembered: a refused one may be fixed and resent.
            self._replays[replay_key] = _Replay(fingerprint, created, now)
        return created

    def stored_values(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The values a valid create `body` stores: a null is a field not given, a date-time
        is UTC to the microsecond (a date alone is midnight UTC), a number is a float."""
        rules = self.definition.writable
        return {
            name: _stored(rules[name].kind, value)
            for name, value in body.items()
            if value is not None
        }

    def _store(self, caller: Caller, values: dict[str, Any]) -> dict[str, Any]:
        stamp = format_datetime(self._clock())
        # Every field of the model, null when unset: a record has one shape however it was
        # written.
        record: dict[str, Any] = dict.fromkeys(self.definition.model.model_fields)
        record.update(
            id=f"{self.definition.id_prefix}_{self._new_ulid()}",
            tenant_id=caller.tenant_id,
            app_id=caller.app_id,
            created_at=stamp,
            updated_at=stamp,
            created_by=caller.person_id,
            updated_by=caller.person_id,
            source="edm",
            source_type="api",
            is_deleted=False,
            deleted_at=None,
            deleted_by=None,
            schema_version=1,
        )
        record.update(values)
        self.records[record["id"]] = record
        self.order.append(record["id"])
        return record

    def soft_delete(self, record_id: str, *, by: str) -> dict[str, Any]:
        """Mark a record deleted, as the real API's delete would; KeyError if absent."""
        record = self.records.get(record_id)
        if record is None:
            raise KeyError(f"no {self.definition.noun} {record_id!r} in the fake")
        stamp = format_datetime(self._clock())
        record.update(
            is_deleted=True, deleted_at=stamp, deleted_by=by, updated_at=stamp, updated_by=by
        )
        return record


def _stored(kind: Kind, value: Any) -> Any:
    if kind == "datetime":
        instant = parse_datetime(value)
        if instant is None:  # the rules refuse it first
            raise ValueError(f"not a date-time: {value!r}")
        return format_datetime(instant)
    if kind == "number":
        try:
            return float(value)
        except OverflowError:  # an int too large for a float: only an unbounded rule lets it in
            return value
    return value


def _visible(caller: Caller, record: dict[str, Any]) -> bool:
    return record["tenant_id"] == caller.tenant_id and (
        caller.app_id is None or record.get("app_id") == caller.app_id
    )


def _fingerprint(value: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def _encode_cursor(after: str, fingerprint: str) -> str:
    return b64url_encode(json.dumps({"after": after, "filters": fingerprint}).encode())


def _decode_cursor(cursor: str, fingerprint: str) -> str:
    try:
        decoded = load_json(b64url_decode(cursor))
        after, issued_for = decoded["after"], decoded["filters"]
    except (ValueError, TypeError, KeyError):
        raise malformed("the cursor could not be decoded") from None
    if issued_for != fingerprint or not isinstance(after, str):
        raise malformed("the cursor was issued for other filters; start a new listing")
    return after
