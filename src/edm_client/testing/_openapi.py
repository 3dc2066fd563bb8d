"""The contract as an OpenAPI 3.1 document, built from the code so that it cannot drift.

Every registered resource gets its paths, from its `ResourceDefinition`: the record schema is
its model's `model_json_schema()` (with the field docstrings as descriptions; every field is
required, since the fake always sends each one, null when unset), the create body comes from
its field rules (writable and required fields, lengths, bounds, enums, date and date-time
grammars) that both the SDK and the fake enforce, and the list parameters from its filters.
Error responses come from the fake's one table of problem types, and the examples from the
fake itself: a record is what its collection stores for a demo body. The fake serves the
result at `GET /api/v1/openapi.json`, with `servers` set to the URL it was reached on.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Final

from edm_client._definition import ResourceDefinition, definitions
from edm_client._rules import (
    DATE,
    DEFAULT_PAGE_LIMIT,
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_RULE,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_PAGE_LIMIT,
    MIN_PAGE_LIMIT,
    RFC3339,
    FieldError,
    FieldRule,
    article,
    check_idempotency_key,
)
from edm_client._version import __version__
from edm_client.testing._api import NOT_JSON
from edm_client.testing._collection import (
    IDEMPOTENCY_CONFLICT,
    NULLABLE_STAMPS,
    Caller,
    Collection,
)
from edm_client.testing._demo import DEMO_PERSON_ID, DEMO_TENANT_ID
from edm_client.testing._problem import PROBLEM_JSON, PROBLEM_TYPES

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
_RETRIED: Final = (429, 500, 502, 503, 504)
"""Statuses every operation may meet, and the SDK retries."""
_OPERATION_ERRORS: Final = {
    "list": (400, 401, 403, 422),
    # A request whose HTTP framing cannot be read (say, an unknown Transfer-Encoding) is a 400
    # whatever it asks for, so get has one too.
    "get": (400, 401, 403, 404),
    "create": (400, 401, 403, 409, 415, 422),
}
_EXAMPLE_NOW: Final = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
_EXAMPLE_ULID: Final = "01JD3W6Z5X6N9V7Q8R2T4Y1B0C"
_EXAMPLE_REQUEST_ID: Final = "req_01JNK5Q8W2M3B4C5D6E7F8G9H0"


def openapi_document(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the contract (a fresh copy), served from `server_url`."""
    document = copy.deepcopy(_document(definitions()))
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
        example = _example_record(definition)
        schemas.update(_schemas(definition, example))
        paths.update(_paths(definition, example, schemas))
    schemas.update(_shared_schemas())
    used = {s for d in known for op in d.operations for s in _OPERATION_ERRORS[op]}
    names = ", ".join(d.plural for d in known)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "EDM API",
            "version": "v1",
            "summary": f"The contract the edm-sdk package and its fake share: {names}.",
            "description": (
                f"Generated from edm-sdk {__version__} (each resource's model and "
                "validation rules), so it matches the SDK. Bodies are JSON (UTF-8); errors "
                "are `application/problem+json` (RFC 9457) with a `type` per kind of error; "
                "every response carries `X-Request-ID`."
            ),
            "contact": {"name": "edm-sdk developers"},
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": d.command, "description": _summary_of(d)}
            for d in sorted(known, key=lambda d: d.command)
        ],
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
                _response_name(status): _problem_response(status, known[0])
                for status in sorted({*used, *_RETRIED})
            },
        },
    }


# -- one resource ------------------------------------------------------------------------------


def _schemas(definition: ResourceDefinition[Any], example: dict[str, Any]) -> dict[str, Any]:
    model = definition.model.__name__
    generated = definition.model.model_json_schema(ref_template=_REF)
    schemas: dict[str, Any] = generated.pop("$defs", {})
    record = _record_schema(definition, generated)
    schemas[model] = {**record, "examples": [example]}
    schemas[f"{model}Create"] = _create_schema(definition, record["properties"], schemas)
    schemas[f"{model}Page"] = {
        "type": "object",
        "description": "One page of a listing; only `next_cursor: null` ends the listing.",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {
                "type": "array",
                "items": {"$ref": _REF.format(model=model)},
                "description": f"The page's {definition.plural}, oldest first; possibly "
                "fewer than `limit`, even none, with more to come.",
            },
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass it as `cursor` for the next page. Null at the end.",
            },
        },
        "examples": [{"data": [example], "next_cursor": None}],
    }
    return schemas


def _record_schema(
    definition: ResourceDefinition[Any], generated: dict[str, Any]
) -> dict[str, Any]:
    """The model's schema as the fake sends a record: every field present, and null only
    where the record may hold null (not in a required field or an always-set stamp)."""
    never_null = {*definition.required, *definition.read_only, "source", "source_type"}
    never_null -= set(NULLABLE_STAMPS)
    properties = {}
    for name, generated_property in generated["properties"].items():
        schema = {k: v for k, v in generated_property.items() if k != "default"}
        if name in never_null and "anyOf" in schema:
            options = [o for o in schema.pop("anyOf") if o != {"type": "null"}]
            schema = {**options[0], **schema} if len(options) == 1 else {**schema, "anyOf": options}
        properties[name] = _without_ref_siblings(schema)
    return {**generated, "properties": properties, "required": list(properties)}


def _create_schema(
    definition: ResourceDefinition[Any],
    record_properties: dict[str, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, rule in definition.writable.items():
        description = record_properties[name]["description"]
        schema = _field_schema(rule)
        if rule.kind == "enum":
            # The record's enum schema when it has these values (the read side may add others).
            schema = _enum_ref(record_properties[name], rule, schemas) or schema
            description = f"{_first_clause(description)}. On create, one of these values only."
        if not rule.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
        properties[name] = _without_ref_siblings({**schema, "description": description})
    return {
        "type": "object",
        "description": f"The writable fields of {article(definition.noun)}. Server-owned fields "
        "(`id`, `tenant_id`, `created_at`, ...) are refused with 422 `read_only_field`, "
        "unknown ones with 422 `unknown_field`; null means not given (the server's default "
        "then applies).",
        "required": list(definition.required),
        "properties": properties,
        "additionalProperties": False,
        "examples": [_example_body(definition)],
    }


def _enum_ref(
    record_property: dict[str, Any], rule: FieldRule, schemas: dict[str, Any]
) -> dict[str, str] | None:
    for option in [record_property, *record_property.get("anyOf", [])]:
        ref = option.get("$ref", "")
        target = schemas.get(ref.rpartition("/")[2]) if ref else None
        if target is not None and target.get("enum") == list(rule.choices):
            return {"$ref": ref}
    return None


def _first_clause(description: str) -> str:
    """`Where the write originated` of `Where the write originated; a SourceType, or ...`."""
    return (
        description.split(";", maxsplit=1)[0]
        .split(":", maxsplit=1)[0]
        .split(". ", maxsplit=1)[0]
        .rstrip(".")
    )


def _without_ref_siblings(schema: dict[str, Any]) -> dict[str, Any]:
    # A `$ref` beside other keywords is ignored by OpenAPI 3.0 tools and flagged by linters.
    if "$ref" in schema and len(schema) > 1:
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {"allOf": [{"$ref": schema["$ref"]}], **rest}
    return schema


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


def _paths(
    definition: ResourceDefinition[Any], example: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    collection: dict[str, Any] = {}
    if "list" in definition.operations:
        collection["get"] = _list_operation(definition, example, schemas)
    if "create" in definition.operations:
        collection["post"] = _create_operation(definition, example)
    paths = {definition.path: collection} if collection else {}
    if "get" in definition.operations:
        item = f"{definition.path}/{{record_id}}"
        paths[item] = {"get": _get_operation(definition, example)}
    return paths


def _list_operation(
    definition: ResourceDefinition[Any], example: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    model = definition.model.__name__
    shared = ["include_deleted", "limit", "cursor"]
    return {
        "operationId": f"list{_camel(definition.name)}",
        "tags": [definition.command],
        "summary": f"List {definition.plural}, oldest first, a page at a time",
        "description": f"The {definition.plural} the token may see (its tenant's; only its "
        "application's for an integration key), in creation order. Filters match exactly. "
        "Pass a page's `next_cursor` as `cursor` for the next one: a page may hold fewer "
        "than `limit` records, even none, and still have a `next_cursor`; only "
        "`next_cursor: null` ends the listing. Soft-deleted records are left out unless "
        "`include_deleted=true`.",
        "parameters": [
            *(_filter_parameter(definition, name, schemas) for name in definition.filters),
            *({"$ref": f"#/components/parameters/{name}"} for name in shared),
        ],
        "responses": {
            "200": _json_response(
                f"A page of {definition.plural}.",
                f"{model}Page",
                {"data": [example], "next_cursor": None},
            ),
            **_error_refs("list"),
        },
    }


def _filter_parameter(
    definition: ResourceDefinition[Any], name: str, schemas: dict[str, Any]
) -> dict[str, Any]:
    rule = definition.writable[name]
    schema: dict[str, Any]
    if rule.kind == "boolean":
        schema = {"type": "boolean"}
    elif rule.kind == "enum":
        record = schemas[definition.model.__name__]["properties"][name]
        schema = _enum_ref(record, rule, schemas) or _field_schema(rule)
    else:
        schema = {"type": "string", "pattern": _FILTER_TEXT_PATTERN}
    return {
        "name": name,
        "in": "query",
        "description": f"Only {definition.plural} whose `{name}` is this value (exact match).",
        "schema": schema,
    }


def _get_operation(definition: ResourceDefinition[Any], example: dict[str, Any]) -> dict[str, Any]:
    model = definition.model.__name__
    return {
        "operationId": f"get{model}",
        "tags": [definition.command],
        "summary": f"Get one {definition.noun} (soft-deleted ones too)",
        "description": f"The {definition.noun} with this id, soft-deleted ones included "
        "(`is_deleted: true`). One of another tenant or application is a 404, as one that "
        "does not exist, never a 403.",
        "parameters": [
            {
                "name": "record_id",
                "in": "path",
                "required": True,
                "description": f"The {definition.noun}'s `id`, percent-encoded as one path "
                "segment.",
                "schema": {"type": "string", "minLength": 1},
                "example": f"{definition.id_prefix}_{_EXAMPLE_ULID}",
            }
        ],
        "responses": {
            "200": _json_response(f"The {definition.noun}.", model, example),
            **_error_refs("get"),
        },
    }


def _create_operation(
    definition: ResourceDefinition[Any], example: dict[str, Any]
) -> dict[str, Any]:
    model = definition.model.__name__
    body = f"{model}Create"
    created = _json_response(
        f"The stored {definition.noun}, with every server-owned field.", model, example
    )
    created["headers"]["Location"] = {"$ref": "#/components/headers/Location"}
    created["headers"]["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    if "get" in definition.operations:
        created["links"] = {
            f"GetCreated{model}": {
                "operationId": f"get{model}",
                "parameters": {"record_id": "$response.body#/id"},
                "description": f"Get the {definition.noun} just stored.",
            }
        }
    return {
        "operationId": f"create{model}",
        "tags": [definition.command],
        "summary": f"Store {article(definition.noun)}",
        "description": "Stores the body's fields with the server's stamps and answers the "
        "stored record; a null on a writable field is the field not given. With an "
        "`Idempotency-Key`, the same key and a body that stores the same values (same tenant "
        "and application, within 24 h) answers the first response again, with "
        "`Idempotent-Replayed: true`; another body under that key is a 409. The body must "
        "be `application/json` (UTF-8): anything else is a 415.",
        "parameters": [{"$ref": "#/components/parameters/Idempotency-Key"}],
        "requestBody": {
            "required": True,
            "description": f"The {definition.noun}'s writable fields.",
            "content": {
                "application/json": {
                    "schema": {"$ref": _REF.format(model=body)},
                    "example": _example_body(definition),
                }
            },
        },
        "responses": {"201": created, **_error_refs("create")},
    }


def _summary_of(definition: ResourceDefinition[Any]) -> str:
    return (definition.model.__doc__ or definition.plural).strip().splitlines()[0]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


# -- examples: what the fake itself answers --------------------------------------------------


def _example_record(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    """The record the fake stores for the example body, at a fixed time and id."""
    collection = Collection(
        definition,
        clock=lambda: _EXAMPLE_NOW,
        new_ulid=lambda: _EXAMPLE_ULID,
        page_scan_limit=None,
    )
    caller = Caller(DEMO_PERSON_ID, DEMO_TENANT_ID, None)
    created = collection.create(caller, _example_body(definition), None, 0.0)
    return collection.records[created.record_id]


def _example_body(definition: ResourceDefinition[Any]) -> dict[str, Any]:
    """A realistic create body: the first demo item, else a value for each required field."""
    if definition.demo_items is not None:
        return definition.demo_items(_EXAMPLE_NOW)[0]
    values = {
        "text": "Example",
        "id": f"{definition.id_prefix}_{_EXAMPLE_ULID}",
        "number": 0,
        "boolean": True,
        "datetime": "2026-03-01T09:30:00Z",
        "date": "2026-03-01",
    }
    return {
        name: rule.choices[0] if rule.kind == "enum" else values[rule.kind]
        for name, rule in definition.writable.items()
        if rule.required
    }


def _example_problem(status: int, definition: ResourceDefinition[Any]) -> dict[str, Any]:
    """A problem of `status` as the fake sends it, for the first resource."""
    bad_key = check_idempotency_key("")
    errors: list[FieldError] = {
        400: [bad_key] if bad_key else [],
        409: [IDEMPOTENCY_CONFLICT],
        415: [NOT_JSON],
        422: definition.check_create({}),
    }.get(status, [])
    details = {
        401: "missing, malformed or expired bearer token",
        403: "this token may not do this",
        404: f"{definition.noun} '{definition.id_prefix}_{_EXAMPLE_ULID}' not found",
        429: "too many requests; retry after 2 seconds",
    }
    kind = PROBLEM_TYPES[status]
    detail = "; ".join(f"{e.field} {e.message}" for e in errors) or details.get(
        status, kind.meaning
    )
    problem: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
        "status": status,
        "detail": detail,
        "request_id": _EXAMPLE_REQUEST_ID,
    }
    if errors:
        problem["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in errors
        ]
    return problem


# -- shared by every resource ------------------------------------------------------------------


def _shared_schemas() -> dict[str, Any]:
    types = ", ".join(f"`{k.type}` ({k.status})" for k in PROBLEM_TYPES.values())
    return {
        "FieldError": {
            "type": "object",
            "description": "One broken rule: the field, parameter or header, a code, a message.",
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
                "type": {
                    "type": "string",
                    "description": f"A URI naming the kind of problem: {types}; "
                    "`about:blank` for any other status.",
                },
                "title": {
                    "type": "string",
                    "description": "A short summary of the kind, the same for every problem "
                    "of a `type`.",
                },
                "status": {
                    "type": "integer",
                    "minimum": 400,
                    "maximum": 599,
                    "description": "The response's HTTP status.",
                },
                "detail": {"type": "string", "description": "What went wrong in this request."},
                "request_id": {"type": "string", "description": "Same as `X-Request-ID`."},
                "errors": {
                    "type": "array",
                    "items": {"$ref": _REF.format(model="FieldError")},
                    "description": "Each broken rule (validation, conflict, bad header).",
                },
            },
        },
    }


def _response_name(status: int) -> str:
    return PROBLEM_TYPES[status].title.title().replace(" ", "")


def _error_refs(operation: str) -> dict[str, Any]:
    # Every operation may also be rate limited or meet a server or gateway fault.
    return {
        str(status): {"$ref": f"#/components/responses/{_response_name(status)}"}
        for status in (*_OPERATION_ERRORS[operation], *_RETRIED)
    }


def _json_response(description: str, model: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model=model)}, "example": example}
        },
    }


def _problem_response(status: int, definition: ResourceDefinition[Any]) -> dict[str, Any]:
    headers = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
    if status in (429, 503):
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return {
        "description": PROBLEM_TYPES[status].meaning,
        "headers": headers,
        "content": {
            PROBLEM_JSON: {
                "schema": {"$ref": _REF.format(model="Problem")},
                "example": _example_problem(status, definition),
            }
        },
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
            "description": "Makes a create safe to retry: the same key with a body that "
            "stores the same values (same tenant and application, within 24 h) answers the "
            "first response again, with `Idempotent-Replayed: true`; with another body it is "
            f"a 409. {IDEMPOTENCY_KEY_RULE[0].upper()}{IDEMPOTENCY_KEY_RULE[1:]}; any other "
            "key is a 400. The SDK sends one on every create.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                "pattern": _anchored(IDEMPOTENCY_KEY.pattern),
            },
            "example": "import-2026-03-01-row-42",
        },
    }
