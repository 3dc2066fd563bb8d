"""The contract as an OpenAPI 3.1 document, built from the code so that it cannot drift.

The response schema is `LearningRecord.model_json_schema()` (the SDK's own model, with its
field docstrings as descriptions); the create body is derived from the rules in `_rules.py`
(writable fields, required fields, length limits, score range, the date-time grammar and the
`source_type` values) that both the SDK and the fake enforce. The fake serves the result at
`GET /api/v1/openapi.json`, with `servers` set to the URL it was reached on.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

from edm_client._rules import (
    _DATE,
    _MAX_LENGTHS,
    _REQUIRED_FIELDS,
    _RFC3339,
    DATETIME_FIELDS,
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    MAX_SCORE,
    MIN_PAGE_LIMIT,
    MIN_SCORE,
    SOURCE_TYPES,
    WRITABLE_FIELDS,
)
from edm_client._version import __version__
from edm_client.testing._backend import _LIST_PARAMS, COLLECTION_PATH, PROBLEM_JSON
from edm_client.types import LearningRecord

__all__ = ["OPENAPI_PATH", "openapi_document", "openapi_json"]

OPENAPI_PATH = "/api/v1/openapi.json"

_REF = "#/components/schemas/{model}"
# A string the rules accept: not blank (after stripping whitespace) and without NUL characters.
# Whitespace is spelled out as exactly what Python's str.strip() removes (str.isspace): `\s`
# means other sets to other regex engines (ECMA's lacks U+001C-U+001F and U+0085, Python's has
# them), so a fuzzer could draw a "non-blank" "\x1f" that the rules call blank.
_SPACE = r"\t-\r\u001c- \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_TEXT_PATTERN = rf"^[^\u0000]*[^{_SPACE}\u0000][^\u0000]*$"
_ERROR_STATUSES = {
    400: ("BadRequest", "Malformed request: the body is not JSON, or the cursor is bad."),
    401: ("Unauthorized", "No bearer token, or a malformed or expired one."),
    403: ("Forbidden", "The token is valid but not allowed to do this."),
    404: ("NotFound", "No such record, or one of another tenant or application."),
    409: ("Conflict", "The `Idempotency-Key` was already used with a different body."),
    422: ("UnprocessableEntity", "Validation failed; `errors` names each field."),
    429: ("TooManyRequests", "Rate limited; retry after `Retry-After` seconds."),
    500: ("InternalServerError", "Server fault; safe to retry."),
    502: ("BadGateway", "Gateway fault; safe to retry."),
    503: ("ServiceUnavailable", "Temporarily unavailable; may carry `Retry-After`."),
    504: ("GatewayTimeout", "Gateway timeout; safe to retry."),
}
_RETRIED = (429, 500, 502, 503, 504)


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the contract (a fresh copy), optionally with a server URL."""
    document = copy.deepcopy(_document())
    if server_url is not None:
        document["servers"] = [{"url": server_url, "description": "This fake EDM API."}]
    return document


@lru_cache(maxsize=16)
def openapi_json(server_url: str) -> bytes:
    """`openapi_document(server_url)` encoded as JSON, cached per URL."""
    return json.dumps(openapi_document(server_url), ensure_ascii=False).encode()


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    record = LearningRecord.model_json_schema(ref_template=_REF)
    schemas: dict[str, Any] = record.pop("$defs", {})
    schemas["LearningRecord"] = record
    schemas["LearningRecordCreate"] = _create_schema(record["properties"])
    schemas["LearningRecordPage"] = {
        "type": "object",
        "description": "One page of a listing; only `next_cursor: null` ends the listing.",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": _REF.format(model="LearningRecord")}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass it as `cursor` for the next page. Null at the end.",
            },
        },
    }
    schemas["FieldError"] = {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string", "description": "The field, parameter or header."},
            "code": {
                "type": "string",
                "description": "A stable machine code, e.g. `required`, `too_long`, "
                "`out_of_range`, `unknown_field`, `read_only_field`.",
            },
            "message": {"type": "string", "description": "What is wrong, for people."},
        },
    }
    schemas["Problem"] = {
        "type": "object",
        "description": "An RFC 9457 problem detail, sent as `application/problem+json`.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the kind of problem."},
            "title": {"type": "string", "description": "A short summary of the kind."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong in this request."},
            "request_id": {"type": "string", "description": "Same as `X-Request-ID`."},
            "errors": {
                "type": "array",
                "items": {"$ref": _REF.format(model="FieldError")},
                "description": "Each broken rule (validation and conflict errors).",
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "EDM API: learning records",
            "version": "v1",
            "summary": "The learning-records contract the edm-sdk package and its fake share.",
            "description": (
                "Generated from edm-sdk "
                f"{__version__} (`LearningRecord` and the validation rules), so it matches "
                "the SDK. Errors are `application/problem+json`; every response carries "
                "`X-Request-ID`."
            ),
        },
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "learning-records", "description": "Completions of learning."}],
        "paths": {
            COLLECTION_PATH: {
                "get": _list_operation(),
                "post": _create_operation(),
            },
            COLLECTION_PATH + "/{record_id}": {"get": _get_operation()},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Claims read: `sub`, `tenant_id`, and `app_id` for "
                    "integration keys (reads are then limited to that application).",
                }
            },
            "headers": _headers(),
            "parameters": _parameters(),
            "responses": {
                name: _problem_response(description)
                for name, description in _ERROR_STATUSES.values()
            },
        },
    }


def _create_schema(record_properties: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in WRITABLE_FIELDS:
        schema = _field_schema(name)
        if name not in _REQUIRED_FIELDS:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["description"] = record_properties[name]["description"]
        properties[name] = schema
    return {
        "type": "object",
        "description": "The writable fields of a learning record. Server-owned fields "
        "(`id`, `tenant_id`, `created_at`, ...) are refused with 422 `read_only_field`, "
        "unknown ones with 422 `unknown_field`; null means not given.",
        "required": list(_REQUIRED_FIELDS),
        "properties": properties,
        "additionalProperties": False,
    }


def _field_schema(name: str) -> dict[str, Any]:
    if name == "score":
        return {"type": "number", "minimum": MIN_SCORE, "maximum": MAX_SCORE}
    if name == "passed":
        return {"type": "boolean"}
    if name == "source_type":
        return {"type": "string", "enum": list(SOURCE_TYPES)}
    if name in DATETIME_FIELDS:
        date_time = {
            "type": "string",
            "format": "date-time",
            "pattern": _anchored(_RFC3339),
            # A bound no pattern can state: the offset must not push the instant past a year.
            "description": "RFC 3339 with an offset. Its instant in UTC must fall within years "
            "0001-9999: `0001-01-01T00:00:00+01:00` is refused with 422 `invalid_datetime`.",
        }
        if name != "expires_at":
            return date_time
        date = {"type": "string", "format": "date", "pattern": _anchored(_DATE)}
        return {"anyOf": [date_time, date]}
    schema: dict[str, Any] = {"type": "string", "pattern": _TEXT_PATTERN}
    if name in _MAX_LENGTHS:
        schema["maxLength"] = _MAX_LENGTHS[name]
    return schema


def _anchored(pattern: Any) -> str:
    return f"^(?:{pattern.pattern})$"


def _list_operation() -> dict[str, Any]:
    return {
        "operationId": "listLearningRecords",
        "tags": ["learning-records"],
        "summary": "List learning records, oldest first, a page at a time",
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in _LIST_PARAMS],
        "responses": {
            "200": _json_response("A page of records.", "LearningRecordPage"),
            **_error_refs(400, 401, 403, 422),
        },
    }


def _get_operation() -> dict[str, Any]:
    return {
        "operationId": "getLearningRecord",
        "tags": ["learning-records"],
        "summary": "Get one learning record (soft-deleted ones too)",
        "parameters": [
            {
                "name": "record_id",
                "in": "path",
                "required": True,
                "description": "The record's `id`, percent-encoded as one path segment.",
                "schema": {"type": "string", "minLength": 1},
            }
        ],
        "responses": {
            "200": _json_response("The record.", "LearningRecord"),
            **_error_refs(401, 403, 404),
        },
    }


def _create_operation() -> dict[str, Any]:
    created = _json_response("The stored record, with every server-owned field.", "LearningRecord")
    created["headers"]["Location"] = {"$ref": "#/components/headers/Location"}
    created["headers"]["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    created["links"] = {
        "GetCreatedRecord": {
            "operationId": "getLearningRecord",
            "parameters": {"record_id": "$response.body#/id"},
        }
    }
    return {
        "operationId": "createLearningRecord",
        "tags": ["learning-records"],
        "summary": "Store a learning record",
        "parameters": [{"$ref": "#/components/parameters/Idempotency-Key"}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model="LearningRecordCreate")}}
            },
        },
        "responses": {"201": created, **_error_refs(400, 401, 403, 409, 422)},
    }


def _error_refs(*statuses: int) -> dict[str, Any]:
    # Every operation may also be rate limited or meet a server or gateway fault.
    return {
        str(status): {"$ref": f"#/components/responses/{_ERROR_STATUSES[status][0]}"}
        for status in (*statuses, *_RETRIED)
    }


def _json_response(description: str, model: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
    }


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"},
            "Retry-After": {"$ref": "#/components/headers/Retry-After"},
        },
        "content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _headers() -> dict[str, Any]:
    return {
        "X-Request-ID": {
            "description": "The server's id for this request; quote it in support requests.",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying (429, and sometimes 503).",
            "schema": {"type": "string"},
        },
        "Location": {
            "description": "The path of the stored record.",
            "schema": {"type": "string"},
        },
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored response to an earlier request "
            "with the same `Idempotency-Key` and body.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    }


def _parameters() -> dict[str, Any]:
    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "description": description, "schema": schema}

    # Filters are compared, not stored, so only blankness is refused (NUL is fine).
    text = {"type": "string", "pattern": rf"^[\s\S]*[^{_SPACE}][\s\S]*$"}
    return {
        "limit": query(
            "limit",
            "Page size.",
            {
                "type": "integer",
                "minimum": MIN_PAGE_LIMIT,
                "maximum": MAX_PAGE_LIMIT,
                "default": DEFAULT_PAGE_LIMIT,
            },
        ),
        "cursor": query(
            "cursor",
            "The `next_cursor` of the previous page. It is bound to the filters it was "
            "issued with: other filters, or a cursor that does not decode, give 400.",
            {"type": "string"},
        ),
        "person_id": query("person_id", "Only this person's records.", text),
        "provider": query("provider", "Only records of this provider (exact match).", text),
        "passed": query(
            "passed", "Only passed (true) or failed (false) records.", {"type": "boolean"}
        ),
        "linked_cohort_id": query("linked_cohort_id", "Only records of this cohort.", text),
        "linked_assessment_id": query(
            "linked_assessment_id", "Only records of this assessment.", text
        ),
        "include_deleted": query(
            "include_deleted",
            "Include soft-deleted records.",
            {"type": "boolean", "default": False},
        ),
        "Idempotency-Key": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "Makes a create safe to retry: the same key with the same body "
            "(same tenant, within 24 h) returns the first response again, with "
            "`Idempotent-Replayed: true`; with another body it is a 409. The SDK sends one "
            "on every create (up to 255 printable ASCII characters).",
            "schema": {"type": "string"},
        },
    }
