"""The API's routes: every registered resource's list, get and create, behind its token.

A request is matched to a resource by its definition's path, authenticated, and handed to
that resource's `Collection`.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx

from edm_client._definition import ResourceDefinition, definitions
from edm_client.testing._decoding import load_json
from edm_client.testing._problem import Problem, malformed, require_method
from edm_client.testing._state import FakeState

__all__ = ["Answer", "handle_api"]


@dataclass(frozen=True)
class Answer:
    """A successful API response, before the dispatcher adds its request id."""

    status: int
    body: bytes
    headers: dict[str, str]


def handle_api(state: FakeState, request: httpx.Request, segments: tuple[str, ...]) -> Answer:
    """Answer an API request whose path is `segments` (decoded); raises `Problem`."""
    routes = _routes(definitions())
    definition, record_id = routes.get(segments), None
    if definition is None and len(segments) > 1:
        definition, record_id = routes.get(segments[:-1]), segments[-1]
    operations = () if definition is None else definition.operations
    if record_id is None:
        allowed = [m for m, op in (("GET", "list"), ("POST", "create")) if op in operations]
    else:
        allowed = ["GET"] if "get" in operations else []
    if definition is None or not allowed:
        raise Problem(404, "Not found", f"no route for {request.url.path}")
    require_method(request.method, ", ".join(allowed))
    caller = state.authenticate(request)
    collection = state.collection(definition)
    with state.lock:
        if record_id is not None:
            return _json(200, collection.get(caller, record_id))
        if request.method == "GET":
            query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
            return _json(200, collection.list(caller, query))
        try:
            body = load_json(request.content)
        except ValueError as error:
            raise malformed(f"the body {error}") from None
        key = request.headers.get("idempotency-key")
        created = collection.create(caller, body, key, time.time())
    headers = {"Location": created.location}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Answer(201, created.body, headers)


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
