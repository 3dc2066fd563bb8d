"""The contract as an OpenAPI 3.1 document, built from the code so that it cannot drift.

Every registered resource gets its paths, from its `ResourceDefinition`: the record schema is
its model's `model_json_schema()` (with the field docstrings as descriptions), the create body
comes from its field rules (writable and required fields, lengths, bounds, enums, date and
date-time grammars) that both the SDK and the fake enforce, and the list parameters from its
filters. The fake serves the result at `GET /api/v1/openapi.json`, with `servers` set to the
URL it was reached on.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any, Final

from edm_client._definition import ResourceDefinition, definitions
from edm_client._rules import (
    DATE,
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    MIN_PAGE_LIMIT,
    RFC3339,
    FieldRule,
    article,
)
from edm_client._version import __version__
from edm_client.testing._problem import PROBLEM_JSON

__all__ = ["OPENAPI_PATH", "openapi_document", "openapi_json"]

OPENAPI_PATH: Final = "/api/v1/openapi.json"

_REF: Final = "#/components/schemas/{model}"
# A string the rules accept: not blank (after stripping whitespace) and without NUL characters.
# Whitespace is spelled out as exactly what Python's str.strip() removes (str.isspace): `\s`
# means other sets to other regex engines (ECMA's lacks U+001C-U+001F and U+0085, Python's has
# them), so a fuzzer could draw a "non-blank" "\x1f" that the rules call blank.
_SPACE: Final = r"\t-\r\u001c- \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_TEXT_PATTERN: Final = rf"^[^\u0000]*[^{_SPACE}\u0000][^\u0000]*$"
# Filters are compared, not stored, so only blankness is refused (NUL is fine).
_FILTER_TEXT_PATTERN: Final = rf"^[\s\S]*[^{_SPACE}][\s\S]*$"
_ERROR_STATUSES: Final = {
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
_RETRIED: Final = (429, 500, 502, 503, 504)


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the contract (a fresh copy), optionally with a server URL."""
    document = copy.deepcopy(_document(definitions()))
    if server_url is not None:
        document["servers"] = [{"url": server_url, "description": "This fake EDM API."}]
    return document


def openapi_json(server_url: str) -> bytes:
    """`openapi_document(server_url)` encoded as JSON, cached per URL and set of resources."""
    return _encoded(server_url, definitions())


@lru_cache(maxsize=16)
def _encoded(server_url: str, known: tuple[ResourceDefinition[Any], ...]) -> bytes:
    return json.dumps(openapi_document(server_url), ensure_ascii=False).encode()


@lru_cache(maxsize=4)
def _document(known: tuple[ResourceDefinition[Any], ...]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for definition in known:
        schemas.update(_schemas(definition))
        paths.update(_paths(definition))
    schemas.update(_shared_schemas())
    names = ", ".join(d.plural for d in known)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "EDM API",
            "version": "v1",
            "summary": f"The contract the edm-sdk package and its fake share: {names}.",
            "description": (
                f"Generated from edm-sdk {__version__} (each resource's model and "
                "validation rules), so it matches the SDK. Errors are "
                "`application/problem+json`; every response carries `X-Request-ID`."
            ),
        },
        "security": [{"bearerAuth": []}],
        "tags": [{"name": d.command, "description": _summary_of(d)} for d in known],
        "paths": paths,
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


# -- one resource ------------------------------------------------------------------------------


def _schemas(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    model = definition.model.__name__
    record = definition.model.model_json_schema(ref_template=_REF)
    schemas: dict[str, Any] = record.pop("$defs", {})
    schemas[model] = record
    schemas[f"{model}Create"] = _create_schema(definition, record["properties"])
    schemas[f"{model}Page"] = {
        "type": "object",
        "description": "One page of a listing; only `next_cursor: null` ends the listing.",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": _REF.format(model=model)}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass it as `cursor` for the next page. Null at the end.",
            },
        },
    }
    return schemas


def _create_schema(
    definition: ResourceDefinition[Any], record_properties: dict[str, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, rule in definition.writable.items():
        schema = _field_schema(rule)
        if not rule.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["description"] = record_properties[name]["description"]
        properties[name] = schema
    return {
        "type": "object",
        "description": f"The writable fields of {article(definition.noun)}. Server-owned fields "
        "(`id`, `tenant_id`, `created_at`, ...) are refused with 422 `read_only_field`, "
        "unknown ones with 422 `unknown_field`; null means not given.",
        "required": list(definition.required),
        "properties": properties,
        "additionalProperties": False,
    }


def _field_schema(rule: FieldRule) -> dict[str, Any]:
    if rule.kind == "number":
        return {"type": "number", "minimum": rule.minimum, "maximum": rule.maximum}
    if rule.kind == "boolean":
        return {"type": "boolean"}
    if rule.kind == "enum":
        return {"type": "string", "enum": list(rule.choices)}
    date = {"type": "string", "format": "date", "pattern": _anchored(DATE.pattern)}
    if rule.kind == "date":
        return date
    if rule.kind == "datetime":
        date_time = {
            "type": "string",
            "format": "date-time",
            "pattern": _anchored(RFC3339.pattern),
            # A bound no pattern can state: the offset must not push the instant past a year.
            "description": "RFC 3339 with an offset. Its instant in UTC must fall within years "
            "0001-9999: `0001-01-01T00:00:00+01:00` is refused with 422 `invalid_datetime`.",
        }
        # The one date rule: a date alone means midnight UTC.
        return {"anyOf": [date_time, {**date, "description": "Midnight UTC of this date."}]}
    schema: dict[str, Any] = {"type": "string", "pattern": _TEXT_PATTERN}
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    return schema


def _paths(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    collection: dict[str, Any] = {}
    if "list" in definition.operations:
        collection["get"] = _list_operation(definition)
    if "create" in definition.operations:
        collection["post"] = _create_operation(definition)
    paths = {definition.path: collection} if collection else {}
    if "get" in definition.operations:
        item = f"{definition.path}/{{record_id}}"
        paths[item] = {"get": _get_operation(definition)}
    return paths


def _list_operation(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    model = definition.model.__name__
    shared = ["include_deleted", "limit", "cursor"]
    return {
        "operationId": f"list{_camel(definition.name)}",
        "tags": [definition.command],
        "summary": f"List {definition.plural}, oldest first, a page at a time",
        "parameters": [
            *(_filter_parameter(definition, name) for name in definition.filters),
            *({"$ref": f"#/components/parameters/{name}"} for name in shared),
        ],
        "responses": {
            "200": _json_response(f"A page of {definition.plural}.", f"{model}Page"),
            **_error_refs(400, 401, 403, 422),
        },
    }


def _filter_parameter(definition: ResourceDefinition[Any], name: str) -> dict[str, Any]:
    rule = definition.writable[name]
    schema: dict[str, Any]
    if rule.kind == "boolean":
        schema = {"type": "boolean"}
    elif rule.kind == "enum":
        schema = {"type": "string", "enum": list(rule.choices)}
    else:
        schema = {"type": "string", "pattern": _FILTER_TEXT_PATTERN}
    return {
        "name": name,
        "in": "query",
        "description": f"Only {definition.plural} whose `{name}` is this value (exact match).",
        "schema": schema,
    }


def _get_operation(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    model = definition.model.__name__
    return {
        "operationId": f"get{model}",
        "tags": [definition.command],
        "summary": f"Get one {definition.noun} (soft-deleted ones too)",
        "parameters": [
            {
                "name": "record_id",
                "in": "path",
                "required": True,
                "description": f"The {definition.noun}'s `id`, percent-encoded as one path "
                "segment.",
                "schema": {"type": "string", "minLength": 1},
            }
        ],
        "responses": {
            "200": _json_response(f"The {definition.noun}.", model),
            **_error_refs(401, 403, 404),
        },
    }


def _create_operation(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    model = definition.model.__name__
    body = f"{model}Create"
    created = _json_response(f"The stored {definition.noun}, with every server-owned field.", model)
    created["headers"]["Location"] = {"$ref": "#/components/headers/Location"}
    created["headers"]["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    if "get" in definition.operations:
        created["links"] = {
            f"GetCreated{model}": {
                "operationId": f"get{model}",
                "parameters": {"record_id": "$response.body#/id"},
            }
        }
    return {
        "operationId": f"create{model}",
        "tags": [definition.command],
        "summary": f"Store {article(definition.noun)}",
        "parameters": [{"$ref": "#/components/parameters/Idempotency-Key"}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=body)}}},
        },
        "responses": {"201": created, **_error_refs(400, 401, 403, 409, 422)},
    }


def _summary_of(definition: ResourceDefinition[Any]) -> str:
    return (definition.model.__doc__ or definition.plural).strip().splitlines()[0]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


# -- shared by every resource ------------------------------------------------------------------


def _shared_schemas() -> dict[str, Any]:
    return {
        "FieldError": {
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
        },
        "Problem": {
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
        },
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
        "include_deleted": query(
            "include_deleted",
            "Include soft-deleted records.",
            {"type": "boolean", "default": False},
        ),
        "Idempotency-Key": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "Makes a create safe to retry: the same key with the same body "
            "(same tenant and application, within 24 h) returns the first response again, "
            "with `Idempotent-Replayed: true`; with another body it is a 409. The SDK sends "
            "one on every create (up to 255 printable ASCII characters).",
            "schema": {"type": "string"},
        },
    }
