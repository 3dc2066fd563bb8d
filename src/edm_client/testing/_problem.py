"""Error responses of the fake: `Problem`, raised anywhere in handling, sent as problem+json."""

from __future__ import annotations

import json
from typing import Any, Final

import httpx
from ulid import ULID

from edm_client._rules import FieldError

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "malformed",
    "new_request_id",
    "problem_response",
    "require_method",
    "validation_problem",
]

PROBLEM_JSON: Final = "application/problem+json"


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


def new_request_id() -> str:
    return f"req_{ULID()}"


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


def malformed(detail: str) -> Problem:
    return Problem(400, "Malformed request", detail)


def problem_response(
    problem: Problem, request_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "type": f"https://errors.edm/{problem.title.lower().replace(' ', '-')}",
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
