"""The fake's API semantics: auth, tenant and app scoping, validation, paging, idempotency.

`Backend.handle` takes an `httpx.Request` and returns an `httpx.Response`; the transports
(in-process and socket) only carry requests to it. Everything is guarded by one lock.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from ulid import ULID

from edm_client._rules import (
    DATETIME_FIELDS,
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    MIN_PAGE_LIMIT,
    FieldError,
    check_create_body,
    parse_rfc3339,
)
from edm_client.testing import _jwt

COLLECTION_PATH = "/api/v1/performance/learning-records"
_COLLECTION_SEGMENTS = ("api", "v1", "performance", "learning-records")
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600
_LIST_FILTERS = ("person_id", "provider", "passed", "linked_cohort_id", "linked_assessment_id")
_LIST_PARAMS = (*_LIST_FILTERS, "include_deleted", "limit", "cursor")
_BOOL_QUERY = {"true": True, "false": False}
_OPENAPI_SEGMENTS = ("api", "v1", "openapi.json")
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error response, raised anywhere in handling and rendered as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


@dataclass
class _Caller:
    person_id: str
    tenant_id: str
    app_id: str | None


@dataclass
class _Replay:
    fingerprint: str
    status: int
    body: bytes
    stored_at: float


def format_datetime(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    text = value.replace(tzinfo=None).isoformat(timespec="microseconds")
    return text + "Z"


class Backend:
    def __init__(
        self, *, secret: bytes, clock: Callable[[], datetime], page_scan_limit: int | None
    ):
        self.secret = secret
        self.clock = clock
        self.page_scan_limit = page_scan_limit
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.replays: dict[tuple[str, str | None, str], _Replay] = {}
        self._last_ulid = 0

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.order.clear()
            self.replays.clear()

    # -- HTTP entry point --------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        request_id = f"req_{ULID()}"
        try:
            with self.lock:
                status, body, headers = self._route(request)
        except Problem as problem:
            return problem_response(problem, request_id, problem.headers)
        headers["X-Request-ID"] = request_id
        headers["Content-Type"] = "application/json"
        return httpx.Response(status, headers=headers, content=body)

    def _route(self, request: httpx.Request) -> tuple[int, bytes, dict[str, str]]:
        segments = tuple(
            unquote(s) for s in request.url.raw_path.split(b"?")[0].decode().split("/")[1:]
        )
        if segments == _OPENAPI_SEGMENTS:
            require_method(request.method, "GET")
            from edm_client.testing._openapi import openapi_json  # it imports this module

            server_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            return 200, openapi_json(server_url), {}
        if segments[: len(_COLLECTION_SEGMENTS)] != _COLLECTION_SEGMENTS or len(segments) > 5:
            raise Problem(404, "Not found", f"no route for {request.url.path}")
        require_method(request.method, "GET" if len(segments) == 5 else "GET, POST")
        caller = self._authenticate(request)
        if len(segments) == 5:
            return 200, self._get(caller, segments[4]), {}
        if request.method == "GET":
            return 200, self._list(caller, request), {}
        return self._create(caller, request)

    def _authenticate(self, request: httpx.Request) -> _Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        claims = _jwt.decode(token.strip(), self.secret) if scheme.lower() == "bearer" else None
        if claims is None:
            raise Problem(
                401,
                "Unauthorized",
                "missing, malformed or expired bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="edm"'},
            )
        app_id = claims.get("app_id")
        return _Caller(
            claims["sub"], claims["tenant_id"], app_id if isinstance(app_id, str) else None
        )

    # -- operations --------------------------------------------------------------------

    def _visible(self, caller: _Caller, record: dict[str, Any]) -> bool:
        return record["tenant_id"] == caller.tenant_id and (
            caller.app_id is None or record.get("app_id") == caller.app_id
        )

    def _get(self, caller: _Caller, record_id: str) -> bytes:
        record = self.records.get(record_id)
        if record is None or not self._visible(caller, record):
            raise Problem(404, "Not found", f"learning record {record_id!r} not found")
        return json.dumps(record).encode()

    def _list(self, caller: _Caller, request: httpx.Request) -> bytes:
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        errors = [
            FieldError(name, "unknown_parameter", "is not a query parameter of this endpoint")
            for name in query
            if name not in _LIST_PARAMS
        ]
        limit = DEFAULT_PAGE_LIMIT
        if "limit" in query:
            text = query["limit"]
            if (
                not (text.isascii() and text.isdigit())
                or not MIN_PAGE_LIMIT <= int(text) <= MAX_PAGE_LIMIT
            ):
                errors.append(
                    FieldError(
                        "limit",
                        "out_of_range",
                        f"must be an integer from {MIN_PAGE_LIMIT} to {MAX_PAGE_LIMIT}",
                    )
                )
            else:
                limit = int(text)
        filters: dict[str, Any] = {}
        for name in _LIST_FILTERS:
            if name not in query:
                continue
            value: Any = query[name]
            if name == "passed":
                value = _BOOL_QUERY.get(value)
                if value is None:
                    errors.append(FieldError(name, "invalid_type", "must be true or false"))
            elif not value.strip():
                errors.append(FieldError(name, "blank", "must not be blank"))
            filters[name] = value
        include_deleted = _BOOL_QUERY.get(query.get("include_deleted", "false"), False)
        if query.get("include_deleted", "false") not in _BOOL_QUERY:
            errors.append(FieldError("include_deleted", "invalid_type", "must be true or false"))
        if errors:
            raise validation_problem(errors)
        fingerprint = _fingerprint({**filters, "include_deleted": include_deleted})
        start = 0
        if "cursor" in query:
            after = _decode_cursor(query["cursor"], fingerprint)
            start = bisect.bisect_right(self.order, after)

        data: list[dict[str, Any]] = []
        last_scanned: str | None = None
        next_cursor: str | None = None
        for scanned, position in enumerate(range(start, len(self.order)), start=1):
            record_id = self.order[position]
            record = self.records[record_id]
            if self._matches(caller, record, filters, include_deleted):
                if len(data) == limit:
                    next_cursor = _encode_cursor(data[-1]["id"], fingerprint)
                    break
                data.append(record)
            last_scanned = record_id
            if self.page_scan_limit is not None and scanned >= self.page_scan_limit:
                # Deliberately short (even empty) pages that still go on, as the contract allows.
                if position + 1 < len(self.order):
                    next_cursor = _encode_cursor(last_scanned, fingerprint)
                break
        return json.dumps({"data": data, "next_cursor": next_cursor}).encode()

    def _matches(
        self,
        caller: _Caller,
        record: dict[str, Any],
        filters: dict[str, Any],
        include_deleted: bool,
    ) -> bool:
        if not self._visible(caller, record) or (record["is_deleted"] and not include_deleted):
            return False
        return all(record.get(name) == value for name, value in filters.items())

    def _create(self, caller: _Caller, request: httpx.Request) -> tuple[int, bytes, dict[str, str]]:
        try:
            body = json.loads(request.content)
        except (ValueError, RecursionError):
            raise Problem(400, "Malformed request", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Problem(400, "Malformed request", "the body must be a JSON object")
        key = request.headers.get("idempotency-key")
        fingerprint = _fingerprint(body)
        now = time.time()
        if key is not None:
            replay = self.replays.get((caller.tenant_id, caller.app_id, key))
            if replay is not None and now - replay.stored_at < IDEMPOTENCY_WINDOW_SECONDS:
                if replay.fingerprint != fingerprint:
                    raise Problem(
                        409,
                        "Idempotency conflict",
                        "this Idempotency-Key was already used with a different body",
                        errors=[
                            FieldError(
                                "Idempotency-Key",
                                "idempotency_conflict",
                                "was used with another body",
                            )
                        ],
                    )
                return replay.status, replay.body, {"Idempotent-Replayed": "true"}
        errors = check_create_body(body)
        if errors:
            raise validation_problem(errors)
        record = self._store(caller, body)
        encoded = json.dumps(record).encode()
        if key is not None:
            self.replays[(caller.tenant_id, caller.app_id, key)] = _Replay(
                fingerprint, 201, encoded, now
            )
        return 201, encoded, {"Location": f"{COLLECTION_PATH}/{record['id']}"}

    def _store(self, caller: _Caller, body: dict[str, Any]) -> dict[str, Any]:
        stamp = format_datetime(self.clock())
        record: dict[str, Any] = {
            "id": f"per_{self._next_ulid()}",
            "tenant_id": caller.tenant_id,
        }
        if caller.app_id is not None:
            record["app_id"] = caller.app_id
        record.update(
            {
                "created_at": stamp,
                "updated_at": stamp,
                "created_by": caller.person_id,
                "updated_by": caller.person_id,
                "source": "edm",
                "source_type": "api",
                "is_deleted": False,
                "deleted_at": None,
                "deleted_by": None,
                "schema_version": 1,
            }
        )
        for name, value in body.items():
            parsed = (
                parse_rfc3339(value, allow_date=name == "expires_at")
                if name in DATETIME_FIELDS and isinstance(value, str)
                else None
            )
            record[name] = format_datetime(parsed) if parsed else value
        self.records[record["id"]] = record
        self.order.append(record["id"])
        return record

    def _next_ulid(self) -> ULID:
        # Strictly increasing even within one millisecond, so id order is creation order.
        candidate = int(ULID())
        self._last_ulid = max(candidate, self._last_ulid + 1)
        # Not ULID.from_int: python-ulid 4.1 types it with typing.Self, which mypy checking for
        # Python 3.10 cannot resolve.
        return ULID(self._last_ulid.to_bytes(16, "big"))

    def soft_delete(self, record_id: str, *, by: str) -> dict[str, Any]:
        with self.lock:
            record = self.records.get(record_id)
            if record is None:
                raise KeyError(f"no learning record {record_id!r} in the fake")
            stamp = format_datetime(self.clock())
            record.update(
                is_deleted=True, deleted_at=stamp, deleted_by=by, updated_at=stamp, updated_by=by
            )
            return record


def _fingerprint(value: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def _encode_cursor(after: str, fingerprint: str) -> str:
    raw = json.dumps({"after": after, "filters": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, issued_for = decoded["after"], decoded["filters"]
    except (ValueError, TypeError, KeyError):
        raise Problem(400, "Malformed request", "the cursor could not be decoded") from None
    if issued_for != fingerprint or not isinstance(after, str):
        raise Problem(
            400, "Malformed request", "the cursor was issued for other filters; start a new listing"
        )
    return after


def require_method(method: str, allowed: str) -> None:
    """Refuse a method the route lacks (405), with the `Allow` header RFC 9110 asks for."""
    if method not in allowed.split(", "):
        raise Problem(
            405,
            "Method not allowed",
            f"{method} is not supported here; use {allowed}",
            headers={"Allow": allowed},
        )


def validation_problem(errors: list[FieldError]) -> Problem:
    return Problem(422, "Validation failed", "; ".join(map(str, errors)), errors=errors)


def problem_response(
    problem: Problem, request_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "type": f"https://errors.edm/{_slug(problem.title)}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "request_id": request_id,
    }
    if problem.errors:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in problem.errors
        ]
    return httpx.Response(
        problem.status,
        headers={"Content-Type": PROBLEM_JSON, "X-Request-ID": request_id, **(headers or {})},
        content=json.dumps(body).encode(),
    )


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def new_secret() -> bytes:
    return secrets.token_bytes(32)
