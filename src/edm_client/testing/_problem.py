"""Error responses of the fake: `Problem`, raised anywhere in handling, sent as problem+json.

`PROBLEM_TYPES` is the one table of problem types: the fake takes each error's `type` and
`title` from it, and the OpenAPI document its error responses. docs/decisions.md shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

import httpx
from ulid import ULID

from edm_client._rules import FieldError

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPES",
    "Problem",
    "ProblemType",
    "malformed",
    "new_request_id",
    "problem_response",
    "problem_type",
    "require_method",
    "validation_problem",
]

PROBLEM_JSON: Final = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    """One kind of error: its status, the `type` URI and `title` it is sent with, and when."""

    status: int
    type: str
    title: str
    meaning: str


_ERRORS: Final = "https://errors.edm/"
PROBLEM_TYPES: Final = MappingProxyType(
    {
        kind.status: kind
        for kind in (
            ProblemType(
                400,
                _ERRORS + "malformed-request",
                "Malformed request",
                "The request cannot be read: its HTTP framing is malformed, its body is not a "
                "JSON object, its cursor does not decode or was issued for other filters, or "
                "its `Idempotency-Key` breaks the key's rule.",
            ),
            ProblemType(
                401,
                _ERRORS + "unauthorized",
                "Unauthorized",
                "No bearer token, or a malformed or expired one.",
            ),
            ProblemType(
                403,
                _ERRORS + "forbidden",
                "Forbidden",
                "The token is valid but not allowed to do this.",
            ),
            ProblemType(
                404,
                _ERRORS + "not-found",
                "Not found",
                "No such route or record, or a record of another tenant or application.",
            ),
            ProblemType(
                405,
                _ERRORS + "method-not-allowed",
                "Method not allowed",
                "The path has no such operation; `Allow` lists the methods it has.",
            ),
            ProblemType(
                409,
                _ERRORS + "idempotency-conflict",
                "Idempotency conflict",
                "The `Idempotency-Key` was already used with a different body.",
            ),
            ProblemType(
                413,
                _ERRORS + "body-too-large",
                "Body too large",
                "The request body is larger than the server accepts.",
            ),
            ProblemType(
                415,
                _ERRORS + "unsupported-media-type",
                "Unsupported media type",
                "The body is not sent as `application/json` (UTF-8).",
            ),
            ProblemType(
                422,
                _ERRORS + "validation",
                "Validation failed",
                "A field, filter or parameter breaks a rule; `errors` names each one.",
            ),
            ProblemType(
                429,
                _ERRORS + "rate-limited",
                "Too many requests",
                "Rate limited; retry after `Retry-After` seconds.",
            ),
            ProblemType(
                500,
                _ERRORS + "server-error",
                "Internal server error",
                "The server failed; safe to retry.",
            ),
            ProblemType(
                502,
                _ERRORS + "bad-gateway",
                "Bad gateway",
                "A gateway got no valid answer from the server; safe to retry.",
            ),
            ProblemType(
                503,
                _ERRORS + "unavailable",
                "Service unavailable",
                "Temporarily unavailable; may carry `Retry-After`.",
            ),
            ProblemType(
                504,
                _ERRORS + "gateway-timeout",
                "Gateway timeout",
                "A gateway gave up waiting for the server; safe to retry.",
            ),
        )
    }
)
"""Every problem type the fake sends, by status. Any other status (one injected as a fault,
or an HTTP-level error such as 431) is sent as `about:blank` with the status's reason phrase,
as RFC 9457 prescribes for a problem with no more meaning than its status."""


def problem_type(status: int) -> ProblemType:
    """The problem type of an error `status`: its row of `PROBLEM_TYPES`, else `about:blank`."""
    known = PROBLEM_TYPES.get(status)
    if known is not None:
        return known
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ProblemType(status, "about:blank", phrase, "")


class Problem(Exception):
    """An error response, raised anywhere in handling and rendered as problem+json; its
    `type` and `title` come from `PROBLEM_TYPES`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def new_request_id() -> str:
    return f"req_{ULID()}"


def require_method(method: str, allowed: str) -> None:
    """Refuse a method the route lacks (405), with the `Allow` header RFC 9110 asks for."""
    if method not in allowed.split(", "):
        raise Problem(
            405, f"{method} is not supported here; use {allowed}", headers={"Allow": allowed}
        )


def validation_problem(errors: list[FieldError]) -> Problem:
    return Problem(422, "; ".join(map(str, errors)), errors=errors)


def malformed(detail: str, *, errors: list[FieldError] | None = None) -> Problem:
    return Problem(400, detail, errors=errors)


def problem_response(
    problem: Problem, request_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    kind = problem_type(problem.status)
    body: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
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
