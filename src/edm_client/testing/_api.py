"""The API's routes: every registered resource's list, get and create, behind its token.

A request is matched to a resource by its definition's path, authenticated, and handed to
that resource's `Collection`.
"""

from __future__ import annotations

import codecs
import email.message
import functools
import json
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

import httpx

from edm_client._definition import ResourceDefinition, definitions
from edm_client._rules import FieldError, check_idempotency_key
from edm_client.testing._decoding import load_json
from edm_client.testing._problem import Problem, malformed, require_method
from edm_client.testing._state import FakeState

__all__ = [
    "NOT_JSON",
    "Answer",
    "Route",
    "find_route",
    "handle_api",
    "is_operation",
    "request_segments",
]


NOT_JSON: Final = FieldError("Content-Type", "unsupported_media_type", "must be application/json")


@dataclass(frozen=True)
class Answer:
    """A successful API response, before the dispatcher adds its request id."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Route:
    """A path of the API: a resource's collection, or one record of it."""

    definition: ResourceDefinition[Any]
    record_id: str | None
    methods: tuple[str, ...]
    """The methods of its operations: GET (list or get) and POST (create)."""


def find_route(segments: tuple[str, ...]) -> Route | None:
    """The API path `segments` (decoded) names, if any."""
    routes = _routes(definitions())
    definition, record_id = routes.get(segments), None
    if definition is None and len(segments) > 1:
        definition, record_id = routes.get(segments[:-1]), segments[-1]
    if definition is None:
        return None
    operations = definition.operations
    if record_id is None:
        methods = tuple(m for m, op in (("GET", "list"), ("POST", "create")) if op in operations)
    else:
        methods = ("GET",) if "get" in operations else ()
    return Route(definition, record_id, methods) if methods else None


def is_operation(request: httpx.Request) -> bool:
    """Whether `request` asks for one of the API's operations (list, get or create of a
    resource): the only requests injected faults hit."""
    found = find_route(request_segments(request))
    return found is not None and request.method in found.methods


def handle_api(state: FakeState, request: httpx.Request, segments: tuple[str, ...]) -> Answer:
    """Answer an API request whose path is `segments` (decoded); raises `Problem`."""
    found = find_route(segments)
    if found is None:
        raise Problem(404, f"no route for {request.url.path}")
    require_method(request.method, ", ".join(found.methods))
    caller = state.authenticate(request)
    collection = state.collection(found.definition)
    if found.record_id is not None:
        with state.lock:
            return _json(200, collection.get(caller, found.record_id))
    if request.method == "GET":
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        with state.lock:
            return _json(200, collection.list(caller, query))
    body = _json_body(request)
    key = _idempotency_key(request)
    with state.lock:
        created = collection.create(caller, body, key, time.time())
    headers = dict(created.headers)
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Answer(201, created.body, headers)


def _json_body(request: httpx.Request) -> object:
    """The decoded body of a create: a 415 problem unless it is sent as `application/json`
    (UTF-8, the charset JSON has), a 400 problem unless it is JSON."""
    content_type = request.headers.get("content-type", "")
    message = email.message.Message()
    message["content-type"] = content_type
    charset = message.get_content_charset()
    if (
        not content_type
        or message.get_content_type() != "application/json"
        or (charset is not None and _codec(charset) != "utf-8")
    ):
        shown = repr(content_type[:100]) if content_type else "none"
        raise Problem(
            415, f"send the body as application/json (UTF-8), not {shown}", errors=[NOT_JSON]
        )
    try:
        return load_json(request.content)
    except ValueError as error:
        raise malformed(f"the body {error}") from None


def _codec(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None


def _idempotency_key(request: httpx.Request) -> str | None:
    """The request's `Idempotency-Key`, if any; a 400 problem when it breaks the rule."""
    keys = request.headers.get_list("idempotency-key")
    if not keys:
        return None
    error: FieldError | None
    if len(keys) > 1:
        error = FieldError("Idempotency-Key", "invalid_idempotency_key", "must be sent once")
    else:
        error = check_idempotency_key(keys[0])
    if error is not None:
        raise malformed(f"{error.field} {error.message}", errors=[error])
    return keys[0]


def request_segments(request: httpx.Request) -> tuple[str, ...]:
    """The decoded segments of a request's path."""
    return path_segments(request.url.raw_path.split(b"?")[0].decode())


def path_segments(path: str) -> tuple[str, ...]:
    """A URL path (raw, percent-encoded) as its decoded segments, so `a%2Fb` stays one."""
    return tuple(unquote(s) for s in path.split("/")[1:])


@functools.lru_cache(maxsize=8)
def _routes(
    known: tuple[ResourceDefinition[Any], ...],
) -> dict[tuple[str, ...], ResourceDefinition[Any]]:
    return {path_segments(d.path): d for d in known}


def _json(status: int, value: Any) -> Answer:
    return Answer(status, json.dumps(value).encode(), {})
