"""Every 422 rule of the contract, on both sides.

The SDK refuses a value before sending it (`InvalidRequestError` naming the argument); the fake
refuses the same value sent raw with httpx (422 problem+json naming the field). One table drives
both, so the two sides are shown to agree.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import pytest

from _helpers import SERVER_OWNED_FIELDS, Api, api_fixture, client_side_only, raw_http
from edm_client import InvalidRequestError, UnprocessableEntityError
from edm_client.testing import FakeServer

api = api_fixture()


# (argument, Python value, code the fake answers). The wire value is the JSON of the Python one.
CREATE_RULES: list[tuple[str, Any, str]] = [
    ("title", "", "blank"),
    ("title", "   \t\n", "blank"),
    ("title", "x" * 501, "too_long"),
    ("title", "bad\x00title", "invalid_character"),
    ("title", 42, "invalid_type"),
    ("title", "lone \ud800 surrogate", "invalid_character"),
    ("person_id", "", "blank"),
    ("person_id", " ", "blank"),
    ("person_id", "p" * 201, "too_long"),
    ("person_id", 42, "invalid_type"),
    ("provider", "", "blank"),
    ("provider", "x" * 201, "too_long"),
    ("certification_ref", "x" * 2001, "too_long"),
    ("source", "x" * 201, "too_long"),
    ("linked_cohort_id", "", "blank"),
    ("linked_assessment_id", "  ", "blank"),
    ("score", -0.01, "out_of_range"),
    ("score", 100.01, "out_of_range"),
    ("score", -1, "out_of_range"),
    ("score", 10**400, "out_of_range"),
    ("score", -(10**400), "out_of_range"),
    ("score", 1e309, "invalid_number"),
    ("score", -1e309, "invalid_number"),
    ("score", math.nan, "invalid_number"),
    ("score", "90", "invalid_type"),
    ("score", True, "invalid_type"),
    ("passed", "true", "invalid_type"),
    ("passed", "false", "invalid_type"),
    ("passed", 1, "invalid_type"),
    ("completed_at", "2026-02-30", "invalid_datetime"),
    ("completed_at", "2026-03-01T09:30:00", "invalid_datetime"),
    ("completed_at", "2026-03-01 09:30:00Z", "invalid_datetime"),
    ("completed_at", "yesterday", "invalid_datetime"),
    ("completed_at", "2026-02-30T09:30:00Z", "invalid_datetime"),
    ("completed_at", 1772357400, "invalid_type"),
    ("expires_at", "2026-13-01", "invalid_datetime"),
    ("expires_at", "01/03/2026", "invalid_datetime"),
    ("expires_at", "2026-03-01T24:00:00Z", "invalid_datetime"),
    ("expires_at", "\uff12\uff10\uff12\uff16-03-01", "invalid_datetime"),
    ("completed_at", "2026-03-01T09:30:00+\u0660\u0662:00", "invalid_datetime"),
    ("source_type", "mobile", "invalid_choice"),
    ("source_type", "API", "invalid_choice"),
]


def _rule_id(rule: tuple[str, Any, str]) -> str:
    name, value, code = rule
    shown = repr(value)
    return f"{name}={shown[:20]}-{code}"


@client_side_only
@pytest.mark.parametrize(("name", "value", "code"), CREATE_RULES, ids=map(_rule_id, CREATE_RULES))
async def test_create_refuses_a_value_the_contract_rejects_before_sending(
    api: Api, name: str, value: Any, code: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(**{name: value})

    assert caught.value.param == name
    assert str(caught.value).startswith(name)
    assert isinstance(caught.value, ValueError)
    assert api.server.requests == []


@pytest.mark.parametrize(("name", "value", "code"), CREATE_RULES, ids=map(_rule_id, CREATE_RULES))
def test_the_fake_answers_422_for_the_same_value_sent_raw(
    server: FakeServer, name: str, value: Any, code: str
) -> None:
    body = {"person_id": "p1", "title": "CKA", name: value}

    errors = _raw_create_errors(server, json.dumps(body).encode())

    assert {"field": name, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in errors
    ]


@client_side_only
@pytest.mark.parametrize("name", ["completed_at", "expires_at"])
async def test_a_naive_datetime_is_refused_before_sending_with_a_hint(api: Api, name: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(**{name: datetime(2026, 3, 1, 9, 30)})

    assert caught.value.param == name
    assert "naive" in str(caught.value)
    assert "tzinfo" in str(caught.value)
    assert api.server.requests == []


@client_side_only
async def test_an_invalid_request_error_lists_every_broken_rule(api: Api) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(title="", score=101)

    message = str(caught.value)
    assert caught.value.param == "title"
    assert "title" in message
    assert "score" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("title", "x" * 500),
        ("provider", "x" * 200),
        ("certification_ref", "x" * 2000),
        ("score", 0),
        ("score", 100),
        ("score", 100.0),
        ("score", 0.001),
        ("completed_at", "2026-03-01T09:30:00.123456789+14:00"),
        ("completed_at", "2026-03-01t09:30:00z"),
        ("expires_at", "2028-02-29"),
        ("completed_at", "2026-03-01"),
        ("source_type", "system"),
    ],
)
async def test_values_at_the_limits_are_accepted(api: Api, name: str, value: Any) -> None:
    record = await api.create(**{name: value})

    assert getattr(record, name) is not None


@pytest.mark.parametrize("field", SERVER_OWNED_FIELDS)
def test_the_fake_refuses_a_server_owned_field_with_read_only_field(
    server: FakeServer, field: str
) -> None:
    body = {"person_id": "p1", "title": "CKA", field: "x"}

    errors = _raw_create_errors(server, json.dumps(body).encode())

    assert [(e["field"], e["code"]) for e in errors] == [(field, "read_only_field")]


def test_the_fake_refuses_an_unknown_field_with_unknown_field(server: FakeServer) -> None:
    errors = _raw_create_errors(server, b'{"person_id": "p1", "title": "CKA", "colour": "red"}')

    assert [(e["field"], e["code"]) for e in errors] == [("colour", "unknown_field")]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, ["person_id", "title"]),
        ({"person_id": "p1"}, ["title"]),
        ({"title": "CKA"}, ["person_id"]),
        ({"person_id": "p1", "title": None}, ["title"]),
    ],
)
def test_the_fake_requires_person_id_and_title(
    server: FakeServer, body: dict[str, Any], missing: list[str]
) -> None:
    errors = _raw_create_errors(server, json.dumps(body).encode())

    assert [(e["field"], e["code"]) for e in errors] == [(name, "required") for name in missing]


def test_a_422_names_the_field_in_detail_and_in_errors(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post("/api/v1/performance/learning-records", json={"title": "x"})

    body = response.json()
    assert body["status"] == 422
    assert body["title"] == "Validation failed"
    assert body["detail"] == "person_id: is required"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["errors"] == [{"field": "person_id", "code": "required", "message": "is required"}]


# -- list parameters --------------------------------------------------------------------


@client_side_only
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", 0),
        ("limit", 101),
        ("limit", -1),
        ("limit", "10"),
        ("limit", 2.5),
        ("limit", True),
        ("passed", "true"),
        ("passed", 1),
        ("include_deleted", "yes"),
        ("include_deleted", None),
        ("person_id", 42),
        ("person_id", ""),
        ("provider", ""),
        ("linked_cohort_id", "  "),
        ("linked_assessment_id", ""),
        ("cursor", ""),
        ("cursor", "  "),
        ("cursor", 5),
    ],
)
async def test_list_refuses_a_bad_argument_before_sending(api: Api, name: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.first_page(**{name: value})

    assert caught.value.param == name
    assert name in str(caught.value)
    assert api.server.requests == []


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("limit=0", "limit", "out_of_range"),
        ("limit=101", "limit", "out_of_range"),
        ("limit=ten", "limit", "out_of_range"),
        ("limit=", "limit", "out_of_range"),
        ("passed=yes", "passed", "invalid_type"),
        ("passed=1", "passed", "invalid_type"),
        ("include_deleted=maybe", "include_deleted", "invalid_type"),
        ("person_id=", "person_id", "blank"),
        ("person_id=%20%20", "person_id", "blank"),
        ("provider=", "provider", "blank"),
        ("linked_cohort_id=", "linked_cohort_id", "blank"),
        ("linked_assessment_id=", "linked_assessment_id", "blank"),
        ("colour=red", "colour", "unknown_parameter"),
    ],
)
def test_the_fake_answers_422_for_a_bad_list_parameter(
    server: FakeServer, query: str, field: str, code: str
) -> None:
    with raw_http(server) as http:
        response = http.get(f"/api/v1/performance/learning-records?{query}")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]


async def test_a_422_from_the_server_is_an_unprocessable_entity_error_with_its_errors(
    api: Api,
) -> None:
    # The SDK only checks what the contract says; a server that is stricter is reported as is.
    api.server.inject_fault(status=422)

    with pytest.raises(UnprocessableEntityError) as caught:
        await api.create()

    assert caught.value.status_code == 422
    assert caught.value.errors == []
    assert len(api.server.requests) == 1


def _raw_create_errors(server: FakeServer, content: bytes) -> list[dict[str, Any]]:
    with raw_http(server) as http:
        response = http.post(
            "/api/v1/performance/learning-records",
            content=content,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"].startswith("req_")
    assert server.records() == []
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors
