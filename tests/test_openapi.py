"""The OpenAPI 3.1 document the fake serves: valid, and built from the SDK's own code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from _helpers import LIST_PARAMETERS, SERVER_OWNED_FIELDS, WRITABLE_FIELDS
from edm_client.resources.performance.learning_records import LEARNING_RECORDS
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

OPENAPI_PATH = "/api/v1/openapi.json"
COLLECTION = "/api/v1/performance/learning-records"


@pytest.fixture
def http(server: FakeServer) -> Iterator[httpx.Client]:
    """A plain httpx client on whichever transport `server` runs (no token)."""
    served = server.base_url.startswith("http://")
    transport = None if served else server.transport
    with httpx.Client(base_url=server.base_url, transport=transport) as client:
        yield client


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with httpx.Client(transport=FakeServer().transport) as client:
        response = client.get("https://edm.fake.test" + OPENAPI_PATH)
    document: dict[str, Any] = response.json()
    return document


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _create_body_validator(document: dict[str, Any]) -> Any:
    schema = {
        "$ref": "#/components/schemas/LearningRecordCreate",
        "components": document["components"],
    }
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


# -- serving ------------------------------------------------------------------------------


def test_the_document_is_served_without_a_token_with_this_servers_url(
    server: FakeServer, http: httpx.Client
) -> None:
    response = http.get(OPENAPI_PATH)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "X-Request-ID" in response.headers
    assert response.json()["servers"] == [
        {"url": server.base_url, "description": "This fake EDM API."}
    ]


def test_the_document_served_is_the_one_the_server_object_returns(
    server: FakeServer, http: httpx.Client
) -> None:
    assert http.get(OPENAPI_PATH).json() == server.openapi_document()


def test_the_document_refuses_other_methods_with_allow(http: httpx.Client) -> None:
    response = http.post(OPENAPI_PATH, content=b"{}")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.headers["Content-Type"] == "application/problem+json"


# -- structure ----------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}

    assert refs
    for ref in refs:
        assert _resolve(document, {"$ref": ref})


def test_the_record_schema_is_the_sdk_models_schema_with_its_descriptions(
    document: dict[str, Any],
) -> None:
    record = document["components"]["schemas"]["LearningRecord"]

    assert set(record["properties"]) == set(LearningRecord.model_fields)
    for name, field in LearningRecord.model_fields.items():
        assert field.description
        assert record["properties"][name]["description"] == field.description
    assert set(record["required"]) == {"id", "tenant_id", "created_at", "updated_at"}


def test_the_create_schema_has_the_writable_fields_and_their_descriptions(
    document: dict[str, Any],
) -> None:
    create = document["components"]["schemas"]["LearningRecordCreate"]

    assert list(create["properties"]) == list(WRITABLE_FIELDS)
    assert create["required"] == ["person_id", "title"]
    assert create["additionalProperties"] is False
    for name in WRITABLE_FIELDS:
        description = LearningRecord.model_fields[name].description
        assert create["properties"][name]["description"] == description


def test_the_list_operation_documents_exactly_the_query_parameters_the_fake_reads(
    document: dict[str, Any],
) -> None:
    operation = document["paths"][COLLECTION]["get"]
    params = [_resolve(document, p) for p in operation["parameters"]]

    assert {p["name"] for p in params} == set(LIST_PARAMETERS)
    assert all(p["in"] == "query" for p in params)


def test_create_documents_the_idempotency_key_header_and_the_replay_header(
    document: dict[str, Any],
) -> None:
    operation = document["paths"][COLLECTION]["post"]
    (header,) = [_resolve(document, p) for p in operation["parameters"]]
    created = operation["responses"]["201"]

    assert header["name"] == "Idempotency-Key"
    assert header["in"] == "header"
    assert set(created["headers"]) == {"X-Request-ID", "Location", "Idempotent-Replayed"}


def test_every_operation_requires_bearer_auth(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]

    assert document["security"] == [{"bearerAuth": []}]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_every_error_response_is_problem_json_and_every_success_json(
    document: dict[str, Any],
) -> None:
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for status, response in operation["responses"].items():
                content = _resolve(document, response)["content"]
                expected = "application/json" if status < "400" else "application/problem+json"
                assert list(content) == [expected], (operation["operationId"], status)
                if status >= "400":
                    schema = content[expected]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}


def test_the_problem_schema_matches_what_the_fake_sends(
    http: httpx.Client, document: dict[str, Any]
) -> None:
    schema = {"$ref": "#/components/schemas/Problem", "components": document["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema)

    response = http.get(COLLECTION)

    assert response.status_code == 401
    validator.validate(response.json())


# -- the create schema and the rules agree -------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", " ", "\t\n", "a\x00b", "x" * 201, "x" * 501, "é" * 500]),
)
_DATETIMES = st.one_of(
    st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-03-01T09:30:00Z",
            "2026-03-01T09:30:00.123+05:30",
            "2026-03-01",
            "2026-02-30",
            "2026-03-01T09:30:00",
            "2026-13-01T09:30:00Z",
            "2026-03-01T25:00:00Z",
            "01/03/2026",
        ]
    ),
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-1000, max_value=1000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e3),
    st.sampled_from([0, 100, 100.0001, -0.0, "87.5", "true"]),
    _TEXT,
    _DATETIMES,
    st.sampled_from(["frontend", "backend", "server", "system", "api", "API", "mobile"]),
    st.lists(st.integers(), max_size=2),
)
_NAMES = st.sampled_from([*WRITABLE_FIELDS, *SERVER_OWNED_FIELDS, "nickname"])


@settings(max_examples=300, deadline=None)
@given(
    required=st.fixed_dictionaries({"person_id": _VALUES, "title": _VALUES}),
    others=st.dictionaries(_NAMES, _VALUES, max_size=5),
)
def test_the_create_schema_accepts_exactly_the_bodies_the_rules_accept(
    document: dict[str, Any], required: dict[str, Any], others: dict[str, Any]
) -> None:
    body = {**required, **others}

    schema_accepts = _create_body_validator(document).is_valid(body)
    rules_accept = not LEARNING_RECORDS.check_create(body)

    assert schema_accepts == rules_accept, (body, LEARNING_RECORDS.check_create(body))


@pytest.mark.parametrize(
    "space", [chr(c) for c in (0x1C, 0x1F, 0x85, 0xA0, 0x2028, 0x3000)], ids=ascii
)
def test_a_text_field_of_only_whitespace_is_refused_by_the_schema_as_by_the_rules(
    document: dict[str, Any], space: str
) -> None:
    # Regex engines disagree about `\s` (U+001C-U+001F and U+0085 are whitespace to Python's
    # str.strip(), not to ECMA's or Rust's `\s`); the schema must agree with the rules anyway.
    body = {"person_id": space, "title": "Kubernetes"}

    assert LEARNING_RECORDS.check_create(body)
    assert not _create_body_validator(document).is_valid(body)


def test_every_create_date_time_states_the_instant_bound_its_pattern_cannot(
    document: dict[str, Any],
) -> None:
    # The fuzzer found 0001-01-01T00:00:00.0+01:00 matching the pattern yet refused: the
    # document must say so in words.
    create = document["components"]["schemas"]["LearningRecordCreate"]["properties"]
    date_times = [
        option
        for prop in create.values()
        for option in _options(prop)
        if option.get("format") == "date-time"
    ]

    assert len(date_times) == 2
    assert all("0001-9999" in option["description"] for option in date_times)
    body = {"person_id": "p1", "title": "t", "completed_at": "0001-01-01T00:00:00.0+01:00"}
    errors = [(e.field, e.code) for e in LEARNING_RECORDS.check_create(body)]
    assert errors == [("completed_at", "invalid_datetime")]


def _options(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield schema
    for option in schema.get("anyOf", []):
        yield from _options(option)


@pytest.mark.parametrize("space", ["\x85\t", "\x1f", " "], ids=ascii)
def test_a_blank_list_filter_is_outside_the_documented_parameter_as_the_fake_refuses_it(
    document: dict[str, Any], space: str
) -> None:
    operation = document["paths"][COLLECTION]["get"]
    (parameter,) = [p for p in operation["parameters"] if p.get("name") == "linked_cohort_id"]
    schema = parameter["schema"]

    assert re.search(schema["pattern"], space) is None
    assert re.search(schema["pattern"], "coh_1") is not None
