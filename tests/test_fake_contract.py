"""The fake, exactly as the contract, for clients that send what the SDK never does.

Plain httpx requests, as a client in another language would send them; each test runs
in-process and over a loopback socket (the `server` fixture) unless HTTP itself cannot carry
what it sends.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import COLLECTION, inprocess_only, raw_http, required_fields
from edm_client import InvalidRequestError
from edm_client._definition import ResourceDefinition
from edm_client.testing import FakeServer
from edm_client.testing._problem import PROBLEM_TYPES

BODY = {"person_id": "p1", "title": "Kubernetes Administrator"}
JSON = {"Content-Type": "application/json"}


def _create(
    server: FakeServer, body: object = BODY, headers: dict[str, Any] | None = None
) -> httpx.Response:
    with raw_http(server) as http:
        return http.post(COLLECTION, json=body, headers=headers)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem body of `response`, checked to be a `status` problem of the table's type."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    kind = PROBLEM_TYPES[status]
    assert (problem["type"], problem["title"], problem["status"]) == (kind.type, kind.title, status)
    return problem


# -- null, and the shape of a record --------------------------------------------------------------

OPTIONAL_NULLS = {"provider": None, "score": None, "source": None, "source_type": None}


def test_an_explicit_null_on_a_writable_field_is_that_field_not_given(server: FakeServer) -> None:
    with_nulls = _create(server, {**BODY, **OPTIONAL_NULLS}).json()
    without = _create(server, BODY).json()

    assert (with_nulls["source"], with_nulls["source_type"]) == ("edm", "api")
    assert _written(with_nulls) == _written(without)


def test_a_null_on_a_required_field_is_a_422_required(server: FakeServer) -> None:
    problem = _problem(_create(server, {**BODY, "title": None}), 422)

    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("title", "required")]


def _written(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what differs from one create to the next (id and stamps)."""
    varying = ("id", "created_at", "updated_at")
    return {k: v for k, v in record.items() if k not in varying}


def test_a_record_has_every_field_of_its_model_however_it_was_written(
    server: FakeServer, definition: ResourceDefinition[Any]
) -> None:
    required = required_fields(definition)
    bodies = [required, {**required, **dict.fromkeys(set(definition.writable) - set(required))}]
    with raw_http(server, server.issue_token(app_id="app_1")) as http:
        created = [http.post(definition.path, json=body).json() for body in bodies]
        fetched = http.get(f"{definition.path}/{created[0]['id']}").json()
        listed = http.get(definition.path).json()["data"]

    for record in [*created, fetched, *listed]:
        assert list(record) == list(definition.model.model_fields)
    assert created[0]["app_id"] == "app_1"


def test_a_number_is_stored_as_a_float(server: FakeServer) -> None:
    assert _create(server, {**BODY, "score": 90}).content.count(b'"score": 90.0') == 1


# -- idempotent replays ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ({"provider": None}, {}),
        ({"score": 90}, {"score": 90.0}),
        ({"completed_at": "2026-03-01"}, {"completed_at": "2026-03-01T00:00:00Z"}),
        ({"completed_at": "2026-03-01T10:30:00+01:00"}, {"completed_at": "2026-03-01T09:30:00Z"}),
        ({"completed_at": "2026-03-01T09:30:00.5Z"}, {"completed_at": "2026-03-01t09:30:00.500z"}),
    ],
    ids=["null-or-omitted", "int-or-float", "date-or-midnight", "offset-or-utc", "precision"],
)
def test_a_body_that_stores_the_same_values_replays_under_its_key(
    server: FakeServer, first: dict[str, Any], again: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "same"}

    created = _create(server, {**BODY, **first}, headers=key)
    replayed = _create(server, {**BODY, **again}, headers=key)

    assert replayed.status_code == 201, replayed.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == created.json()
    assert len(server.records()) == 1


@pytest.mark.parametrize(
    "again",
    [{"title": "Kubernetes Administrator "}, {"score": 90.5}, {"passed": False}],
    ids=["text", "number", "added"],
)
def test_a_body_that_stores_other_values_conflicts_under_its_key(
    server: FakeServer, again: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "same"}
    _create(server, {**BODY, "score": 90}, headers=key)

    response = _create(server, {**BODY, "score": 90, **again}, headers=key)

    assert _problem(response, 409)["errors"][0]["code"] == "idempotency_conflict"


def test_a_replay_answers_the_first_status_body_and_headers_again(server: FakeServer) -> None:
    key = {"Idempotency-Key": "same"}

    first = _create(server, headers=key)
    again = _create(server, headers=key)

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert _own_headers(again) == {**_own_headers(first), "idempotent-replayed": "true"}
    assert again.headers["Location"] == f"{COLLECTION}/{first.json()['id']}"
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def _own_headers(response: httpx.Response) -> dict[str, str]:
    """The headers of a response but those that belong to the one exchange."""
    per_exchange = ("x-request-id", "date")
    return {k: v for k, v in response.headers.items() if k not in per_exchange}


def test_a_body_that_breaks_a_rule_is_a_422_even_under_a_used_key(server: FakeServer) -> None:
    key = {"Idempotency-Key": "same"}
    _create(server, headers=key)

    _problem(_create(server, {**BODY, "score": 101}, headers=key), 422)


# -- Idempotency-Key ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [b"", b"k" * 256, "clé".encode()],
    ids=["empty", "too-long", "non-ascii"],
)
def test_a_create_with_an_unusable_idempotency_key_is_a_400_naming_the_header(
    server: FakeServer, key: bytes
) -> None:
    response = _create(server, headers={"Idempotency-Key": key})

    problem = _problem(response, 400)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("Idempotency-Key", "invalid_idempotency_key")
    ]
    assert "1 to 255 printable ASCII characters" in problem["detail"]
    assert server.records() == []


@inprocess_only
@pytest.mark.parametrize(
    "key", ["a\x01b", "tab\tkey", " first", "last "], ids=["control", "tab", "space-1", "space-2"]
)
def test_a_key_that_http_cannot_carry_is_refused_too(server: FakeServer, key: str) -> None:
    # A socket client cannot send these (h11 refuses them; a server would drop the spaces),
    # but the in-process transport hands them over as they are.
    _problem(_create(server, headers={"Idempotency-Key": key}), 400)


@pytest.mark.parametrize("key", ["k" * 255, "!", "import 42/a~b"], ids=["longest", "one", "inner"])
def test_a_key_within_the_rule_is_accepted(server: FakeServer, key: str) -> None:
    first = _create(server, headers={"Idempotency-Key": key})
    again = _create(server, headers={"Idempotency-Key": key})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_an_idempotency_key_sent_twice_is_a_400(server: FakeServer) -> None:
    headers = [("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    with raw_http(server) as http:
        response = http.post(COLLECTION, json=BODY, headers=headers)

    assert _problem(response, 400)["errors"][0]["message"] == "must be sent once"


@settings(max_examples=150, deadline=None)
@given(key=st.text(st.characters(max_codepoint=0x7F), max_size=260) | st.text(max_size=4))
def test_the_sdk_and_the_fake_refuse_exactly_the_same_keys(key: str) -> None:
    server = FakeServer()
    with server.client(max_retries=0) as client:
        try:
            client.performance.learning_records.create(**BODY, idempotency_key=key)
            sdk_refuses = False
        except InvalidRequestError:
            sdk_refuses = True

    with httpx.Client(transport=server.transport, base_url=server.base_url) as http:
        auth = {"Authorization": f"Bearer {server.issue_token()}"}
        response = http.post(
            COLLECTION, json=BODY, headers={**auth, "Idempotency-Key": key.encode()}
        )

    assert sdk_refuses == (response.status_code == 400), response.text


# -- Content-Type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/merge-patch+json",
        "application/problem+json",
        "application/json; charset=latin-1",
        "application/jsonx",
        "",
    ],
)
def test_a_create_not_sent_as_application_json_is_a_415(
    server: FakeServer, content_type: str
) -> None:
    response = _create(server, headers={"Content-Type": content_type})

    problem = _problem(response, 415)
    assert problem["errors"][0]["field"] == "Content-Type"
    assert "application/json" in problem["detail"]
    assert server.records() == []


def test_a_create_without_a_content_type_is_a_415(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post(COLLECTION, content=b'{"person_id": "p1", "title": "t"}')

    assert "not none" in _problem(response, 415)["detail"]


def test_a_form_encoded_create_is_a_415(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post(COLLECTION, data=BODY)

    _problem(response, 415)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf8"',
    ],
)
def test_a_create_sent_as_json_with_or_without_a_utf8_charset_is_stored(
    server: FakeServer, content_type: str
) -> None:
    response = _create(server, headers={"Content-Type": content_type})

    assert response.status_code == 201


def test_a_create_whose_charset_decodes_to_a_nul_is_a_415(server: FakeServer) -> None:
    # RFC 2231 lets a parameter carry any byte, percent-encoded.
    response = _create(server, headers={"Content-Type": "application/json; charset*=x''%00"})

    _problem(response, 415)
    assert server.records() == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_a_create_body_not_encoded_as_utf8_is_a_400(server: FakeServer, encoding: str) -> None:
    content = '{"person_id": "p1", "title": "Kubernetes Administrator"}'.encode(encoding)
    with raw_http(server) as http:
        response = http.post(COLLECTION, content=content, headers=JSON)

    _problem(response, 400)  # "not UTF-8", or (its NULs being UTF-8 too) "not valid JSON"
    assert server.records() == []


def test_a_create_body_in_utf8_with_a_byte_order_mark_is_stored(server: FakeServer) -> None:
    content = '{"person_id": "p1", "title": "Kubernetes Administrator"}'.encode("utf-8-sig")
    with raw_http(server) as http:
        response = http.post(COLLECTION, content=content, headers=JSON)

    assert response.status_code == 201


# -- injected faults ------------------------------------------------------------------------------


def test_a_fault_hits_only_the_apis_operations(server: FakeServer) -> None:
    server.inject_fault(status=503, times=1)
    with raw_http(server) as http:
        others = [
            http.get("/api/v1/openapi.json"),
            http.get("/api/v1/no-such-thing"),
            http.delete(COLLECTION),
            http.get("/_fake/"),
        ]
        faulted = http.get(COLLECTION)
        after = http.get(COLLECTION)

    assert [r.status_code for r in others] == [200, 404, 405, 200]
    assert (faulted.status_code, after.status_code) == (503, 200)


def test_requests_a_fault_skips_are_still_logged(server: FakeServer) -> None:
    server.inject_fault(status=503, times=None)
    with raw_http(server) as http:
        http.get("/api/v1/openapi.json")

    assert [r.url.path for r in server.requests] == ["/api/v1/openapi.json"]


# -- problem types --------------------------------------------------------------------------------


def _provoke(server: FakeServer, http: httpx.Client, status: int) -> httpx.Response:
    """A request the fake answers with `status`, the way a client could meet it."""
    record = http.post(COLLECTION, json=BODY).json()
    if status == 400:
        return http.get(COLLECTION, params={"cursor": "not-a-cursor"})
    if status == 401:
        return http.get(COLLECTION, headers={"Authorization": "Bearer nope"})
    if status == 404:
        return http.get(f"{COLLECTION}/per_missing")
    if status == 405:
        return http.put(f"{COLLECTION}/{record['id']}", json=BODY)
    if status == 409:
        http.post(COLLECTION, json=BODY, headers={"Idempotency-Key": "k"})
        return http.post(COLLECTION, json={**BODY, "title": "t"}, headers={"Idempotency-Key": "k"})
    if status == 415:
        return http.post(COLLECTION, content=b"{}", headers={"Content-Type": "text/plain"})
    if status == 422:
        return http.post(COLLECTION, json={**BODY, "score": 101})
    server.inject_fault(status=status)
    return http.get(COLLECTION)


@pytest.mark.parametrize("status", [400, 401, 404, 405, 409, 415, 422, 429, 500, 502, 503, 504])
def test_each_error_is_sent_with_its_type_and_title_from_the_table(
    server: FakeServer, status: int
) -> None:
    with raw_http(server) as http:
        _problem(_provoke(server, http, status), status)


def test_a_validation_error_has_the_contracts_type(server: FakeServer) -> None:
    response = _create(server, body={**BODY, "score": 101})

    assert response.json()["type"] == "https://errors.edm/validation"


def test_a_status_outside_the_table_is_about_blank_with_its_reason_phrase(
    server: FakeServer,
) -> None:
    server.inject_fault(status=418)
    with raw_http(server) as http:
        problem = http.get(COLLECTION).json()

    assert (problem["type"], problem["title"], problem["status"]) == (
        "about:blank",
        "I'm a Teapot",
        418,
    )


def test_the_decisions_page_shows_exactly_the_fakes_table_of_problem_types() -> None:
    page = (Path(__file__).parents[1] / "docs" / "decisions.md").read_text()

    rows = re.findall(r"^\| (\d{3}) \| `([^`]+)` \| ([^|]+) \| (.+) \|$", page, re.MULTILINE)

    assert rows == [(str(k.status), k.type, k.title, k.meaning) for k in PROBLEM_TYPES.values()]
