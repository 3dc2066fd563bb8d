"""The served fake's control API under `/_fake/`, driven with plain HTTP as any language would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from edm_client.testing import FakeServer

COLLECTION = "/api/v1/performance/learning-records"
BODY = {"person_id": "p1", "title": "Terraform Associate"}


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def http(fake: FakeServer) -> Iterator[httpx.Client]:
    with fake.serve() as url, httpx.Client(base_url=url, trust_env=False) as client:
        yield client


def _token(http: httpx.Client, **claims: object) -> str:
    response = http.post("/_fake/tokens", json=claims)
    assert response.status_code == 201
    token: str = response.json()["token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_index_lists_the_control_routes_and_where_things_are(
    fake: FakeServer, http: httpx.Client
) -> None:
    index = http.get("/_fake/").json()

    assert index["base_url"] == str(http.base_url).rstrip("/")
    assert index["openapi"] == index["base_url"] + "/api/v1/openapi.json"
    assert index["demo_tenant_id"] == fake.demo_tenant_id
    assert index["control"]["inject_fault"] == "POST /_fake/faults"
    assert "reset" in index["fault_exceptions"]


def test_an_issued_token_carries_the_asked_tenant_and_app(
    fake: FakeServer, http: httpx.Client
) -> None:
    issued = http.post("/_fake/tokens", json={"tenant_id": "ten_b", "app_id": "app_lms"}).json()

    created = http.post(COLLECTION, json=BODY, headers=_bearer(issued["token"]))

    assert issued["tenant_id"] == "ten_b"
    assert issued["person_id"] == fake.demo_person_id
    assert created.status_code == 201
    assert created.json()["tenant_id"] == "ten_b"
    assert created.json()["app_id"] == "app_lms"


def test_a_token_issued_already_expired_is_refused(http: httpx.Client) -> None:
    token = _token(http, expires_in=-60)

    response = http.get(COLLECTION, headers=_bearer(token))

    assert response.status_code == 401


def test_records_lists_every_stored_record_of_every_tenant(http: httpx.Client) -> None:
    mine = http.post(COLLECTION, json=BODY, headers=_bearer(_token(http))).json()
    theirs = http.post(COLLECTION, json=BODY, headers=_bearer(_token(http, tenant_id="t2"))).json()

    listed = http.get("/_fake/records").json()["data"]

    assert listed == [mine, theirs]


def test_reset_forgets_records_and_faults(fake: FakeServer, http: httpx.Client) -> None:
    http.post(COLLECTION, json=BODY, headers=_bearer(_token(http)))
    http.post("/_fake/faults", json={"status": 503, "times": None})

    assert http.post("/_fake/reset").json() == {"reset": True}
    assert http.get("/_fake/records").json() == {"data": []}
    assert http.get(COLLECTION, headers=_bearer(_token(http))).status_code == 200


def test_an_injected_status_fault_answers_the_next_request(http: httpx.Client) -> None:
    injected = http.post("/_fake/faults", json={"status": 503, "retry_after": 2})
    token = _token(http)

    failed = http.get(COLLECTION, headers=_bearer(token))
    recovered = http.get(COLLECTION, headers=_bearer(token))

    assert injected.status_code == 201
    assert injected.json() == {"fault": {"status": 503, "retry_after": 2}}
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "2"
    assert recovered.status_code == 200


def test_an_injected_reset_fault_drops_the_connection(http: httpx.Client) -> None:
    http.post("/_fake/faults", json={"exception": "reset", "method": "GET"})

    with pytest.raises(httpx.ReadError):
        http.get(COLLECTION, headers=_bearer(_token(http)))


def test_faults_can_be_cleared(http: httpx.Client) -> None:
    http.post("/_fake/faults", json={"status": 500, "times": None})

    assert http.delete("/_fake/faults").json() == {"cleared": True}
    assert http.get(COLLECTION, headers=_bearer(_token(http))).status_code == 200


def test_control_requests_are_neither_faulted_nor_recorded(
    fake: FakeServer, http: httpx.Client
) -> None:
    http.post("/_fake/faults", json={"status": 500, "times": None})

    assert http.get("/_fake/records").status_code == 200
    assert fake.requests == []


@pytest.mark.parametrize(
    ("spec", "field", "code"),
    [
        ({"exception": "meltdown"}, "exception", "value_error"),
        ({"status": 200}, "status", "greater_than_equal"),
        ({"status": 500, "colour": "red"}, "colour", "extra_forbidden"),
        ({}, "body", "invalid_fault"),
        ({"delay": 1, "probability": 2}, "probability", "less_than_equal"),
    ],
)
def test_an_invalid_fault_is_a_422_problem_naming_the_field(
    http: httpx.Client, spec: dict[str, object], field: str, code: str
) -> None:
    response = http.post("/_fake/faults", json=spec)

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["code"] == code


def test_a_body_that_is_not_json_is_a_400_problem(http: httpx.Client) -> None:
    response = http.post("/_fake/tokens", content=b"{nope")

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_seeding_demo_data_stores_the_demo_records_once(
    fake: FakeServer, http: httpx.Client
) -> None:
    first = http.post("/_fake/seed-demo-data").json()["data"]
    again = http.post("/_fake/seed-demo-data").json()["data"]

    assert len(first) >= 3
    assert again == first
    assert [r["id"] for r in first] == [r.id for r in fake.records()]
    assert {r["tenant_id"] for r in first} == {fake.demo_tenant_id}


def test_soft_delete_hides_a_record_from_lists_but_not_from_get(http: httpx.Client) -> None:
    headers = _bearer(_token(http))
    record = http.post(COLLECTION, json=BODY, headers=headers).json()

    deleted = http.post(f"/_fake/records/{record['id']}/soft-delete", json={"by": "admin"})

    assert deleted.json()["is_deleted"] is True
    assert deleted.json()["deleted_by"] == "admin"
    assert http.get(COLLECTION, headers=headers).json()["data"] == []
    assert http.get(f"{COLLECTION}/{record['id']}", headers=headers).json()["is_deleted"] is True


def test_soft_deleting_an_unknown_record_is_a_404_problem(http: httpx.Client) -> None:
    response = http.post("/_fake/records/per_missing/soft-delete")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_requests_lists_what_the_api_received_with_the_token_redacted(
    http: httpx.Client,
) -> None:
    token = _token(http)
    http.post(COLLECTION, json=BODY, headers={**_bearer(token), "Idempotency-Key": "k-1"})

    listed = http.get("/_fake/requests")

    (request,) = listed.json()["data"]
    assert request["method"] == "POST"
    assert request["path"] == COLLECTION
    assert request["headers"]["idempotency-key"] == "k-1"
    assert request["headers"]["authorization"] == "Bearer [redacted]"
    assert token not in listed.text


def test_requests_shows_the_path_as_received_with_its_percent_encoding(
    http: httpx.Client,
) -> None:
    http.get(COLLECTION + "/..%2Fx", headers=_bearer(_token(http)))

    (request,) = http.get("/_fake/requests").json()["data"]

    assert request["path"] == COLLECTION + "/..%2Fx"


def test_an_unknown_control_route_is_a_404_problem(http: httpx.Client) -> None:
    response = http.get("/_fake/nothing-here")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_wrong_method_on_a_control_route_is_a_405_with_allow(http: httpx.Client) -> None:
    response = http.get("/_fake/reset")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
