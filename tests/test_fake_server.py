"""`edm_client.testing.FakeServer`: wiring, tokens, inspection helpers and fault injection."""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from _helpers import COLLECTION, Api, api_fixture, inprocess_only, raw_http, sleeps_fixture
from edm_client import (
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    EDMError,
    InternalServerError,
    NotFoundError,
)
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

api = api_fixture()
sleeps = sleeps_fixture()


def test_base_url_defaults_to_a_reserved_test_host() -> None:
    assert FakeServer().base_url == "https://edm.fake.test"
    assert FakeServer(base_url="https://edm.example/").base_url == "https://edm.example"


def test_client_and_async_client_are_wired_to_the_server(server: FakeServer) -> None:
    client = server.client()
    async_client = server.async_client()

    assert isinstance(client, Client)
    assert isinstance(async_client, AsyncClient)
    assert str(client.base_url).rstrip("/") == server.base_url
    client.close()


async def test_one_transport_serves_plain_httpx_sync_and_async(server: FakeServer) -> None:
    headers = {"Authorization": f"Bearer {server.issue_token()}"}
    with httpx.Client(transport=server.transport, base_url=server.base_url) as http:
        created = http.post(COLLECTION, json={"person_id": "p1", "title": "CKA"}, headers=headers)
    async with httpx.AsyncClient(transport=server.transport, base_url=server.base_url) as http:
        fetched = await http.get(f"{COLLECTION}/{created.json()['id']}", headers=headers)

    assert created.status_code == 201
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


def test_client_passes_options_through(server: FakeServer) -> None:
    with server.client(max_retries=0, timeout=3.0) as client:
        assert client.max_retries == 0
        assert client.timeout == httpx.Timeout(3.0)


def test_client_and_async_client_accept_a_token_provider(server: FakeServer) -> None:
    asked: list[str] = []

    def provider() -> str:
        asked.append("sync")
        return server.issue_token(person_id="provided")

    with server.client(provider) as client:
        record = client.performance.learning_records.create(person_id="p1", title="Kubernetes")

    assert asked == ["sync"]
    assert record.created_by == "provided"


def test_a_fake_server_describes_itself_by_url_and_record_count() -> None:
    fake = FakeServer()
    with fake.client() as client:
        client.performance.learning_records.create(person_id="p1", title="Kubernetes")

    assert repr(fake) == "<FakeServer https://edm.fake.test (1 record)>"


def test_an_empty_token_is_refused_not_replaced_by_the_default(server: FakeServer) -> None:
    with pytest.raises(EDMError, match="api_key is empty"):
        server.client("")
    with pytest.raises(EDMError, match="api_key is empty"):
        server.async_client("")


# -- tokens ----------------------------------------------------------------------------------


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def test_issue_token_makes_an_hs256_jwt_with_the_contracts_claims(server: FakeServer) -> None:
    token = server.issue_token(tenant_id="ten_1", person_id="p9", app_id="app_1")

    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = _claims(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["sub"] == "p9"
    assert claims["tenant_id"] == "ten_1"
    assert claims["app_id"] == "app_1"
    assert "app_id" not in _claims(server.issue_token())


def test_the_default_token_is_a_human_of_the_demo_tenant(client: Client) -> None:
    record = client.performance.learning_records.create(person_id="p1", title="CKA")

    assert record.tenant_id == "ten_demo"
    assert record.created_by == "00000000-0000-4000-8000-000000000001"
    assert record.app_id is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJwMSIsInRlbmFudF9pZCI6InRlbl9kZW1vIn0.",
    ],
    ids=["empty", "garbage", "three-parts", "alg-none"],
)
def test_a_malformed_token_is_a_401(server: FakeServer, token: str) -> None:
    with httpx.Client(transport=server.transport, base_url=server.base_url) as http:
        response = http.get(COLLECTION, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_missing_authorization_header_is_a_401(server: FakeServer) -> None:
    with httpx.Client(transport=server.transport, base_url=server.base_url) as http:
        response = http.get(COLLECTION)

    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_an_expired_token_is_a_401(server: FakeServer) -> None:
    with raw_http(server, server.issue_token(expires_in=-1)) as http:
        assert http.get(COLLECTION).status_code == 401


def test_a_token_with_a_tampered_payload_is_a_401(server: FakeServer) -> None:
    header, _, signature = server.issue_token().split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({"sub": "p1", "tenant_id": "ten_other", "exp": 4102444800}).encode()
    )

    with raw_http(server, f"{header}.{forged.decode().rstrip('=')}.{signature}") as http:
        assert http.get(COLLECTION).status_code == 401


def test_a_token_from_another_fake_server_is_a_401(server: FakeServer) -> None:
    with server.client(FakeServer().issue_token()) as client, pytest.raises(AuthenticationError):
        client.performance.learning_records.list()


# -- inspection helpers ---------------------------------------------------------------------


def test_records_lists_every_tenant_oldest_first(server: FakeServer) -> None:
    with server.client() as mine, server.client(server.issue_token(tenant_id="ten_2")) as theirs:
        first = mine.performance.learning_records.create(person_id="p1", title="a")
        second = theirs.performance.learning_records.create(person_id="p1", title="b")

    assert server.records() == [first, second]
    assert all(isinstance(r, LearningRecord) for r in server.records())


def test_soft_delete_marks_the_record_deleted_by_someone(
    client: Client, server: FakeServer
) -> None:
    record = client.performance.learning_records.create(person_id="p1", title="a")

    deleted = server.soft_delete(record.id, by="admin_1")

    assert deleted.is_deleted is True
    assert deleted.deleted_by == "admin_1"
    assert deleted.updated_by == "admin_1"
    assert deleted.deleted_at == deleted.updated_at
    assert deleted.deleted_at is not None
    assert deleted.deleted_at >= record.updated_at
    assert server.records() == [deleted]


def test_soft_delete_of_an_unknown_record_is_a_key_error(server: FakeServer) -> None:
    with pytest.raises(KeyError, match="per_missing"):
        server.soft_delete("per_missing", by="admin_1")


async def test_requests_records_every_request_in_order(api: Api) -> None:
    record = await api.create()
    await api.get(record.id)
    with pytest.raises(NotFoundError):
        await api.get("per_missing")

    assert [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in api.server.requests] == [
        ("POST", "learning-records"),
        ("GET", record.id),
        ("GET", "per_missing"),
    ]
    assert api.server.requests is not api.server.requests


async def test_reset_forgets_records_keys_requests_and_faults(api: Api) -> None:
    await api.create(idempotency_key="k1")
    api.server.inject_fault(status=500, times=5)

    api.server.reset()

    assert api.server.records() == []
    assert api.server.requests == []
    again = await api.create(title="another body", idempotency_key="k1")
    assert api.server.records() == [again]


def test_the_clock_stamps_records() -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    fake = FakeServer(clock=lambda: moment)

    with fake.client() as client:
        record = client.performance.learning_records.create(person_id="p1", title="a")

    assert record.created_at == record.updated_at == moment


def test_ids_are_unique_and_increase_with_creation(client: Client) -> None:
    ids = [
        client.performance.learning_records.create(person_id="p", title="t").id for _ in range(50)
    ]

    assert ids == sorted(ids)
    assert len(set(ids)) == 50


# -- responses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", COLLECTION, 200),
        ("GET", f"{COLLECTION}/per_missing", 404),
        ("GET", "/api/v1/other", 404),
        ("GET", "/", 404),
        ("DELETE", f"{COLLECTION}/per_missing", 405),
        ("PUT", COLLECTION, 405),
        ("GET", f"{COLLECTION}?limit=0", 422),
        ("GET", f"{COLLECTION}?cursor=zzz", 400),
    ],
)
def test_every_response_carries_a_request_id(
    server: FakeServer, method: str, path: str, status: int
) -> None:
    with raw_http(server) as http:
        response = http.request(method, path)

    assert response.status_code == status
    assert response.headers["X-Request-ID"].startswith("req_")
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("content", "detail"),
    [(b"{not json", "not valid JSON"), (b'["a"]', "JSON object"), (b"", "not valid JSON")],
)
def test_a_create_body_that_is_not_a_json_object_is_a_400(
    server: FakeServer, content: bytes, detail: str
) -> None:
    with raw_http(server) as http:
        response = http.post(
            COLLECTION, content=content, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_a_create_answers_201_with_a_location(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post(COLLECTION, json={"person_id": "p1", "title": "CKA"})

    assert response.status_code == 201
    assert response.headers["Location"] == f"{COLLECTION}/{response.json()['id']}"


def test_a_replayed_create_answers_the_first_response_again(server: FakeServer) -> None:
    body = {"person_id": "p1", "title": "CKA"}
    with raw_http(server) as http:
        first = http.post(COLLECTION, json=body, headers={"Idempotency-Key": "k"})
        second = http.post(COLLECTION, json=body, headers={"Idempotency-Key": "k"})
        conflict = http.post(
            COLLECTION, json={**body, "score": 1}, headers={"Idempotency-Key": "k"}
        )

    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["code"] == "idempotency_conflict"
    assert len(server.records()) == 1


def test_an_idempotency_key_is_scoped_to_the_app_too(server: FakeServer) -> None:
    body = {"person_id": "p1", "title": "CKA"}
    with raw_http(server, server.issue_token(app_id="app_a")) as a:
        first = a.post(COLLECTION, json=body, headers={"Idempotency-Key": "k"})
    with raw_http(server, server.issue_token(app_id="app_b")) as b:
        second = b.post(COLLECTION, json=body, headers={"Idempotency-Key": "k"})

    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers


# -- fault injection -------------------------------------------------------------------------


async def test_a_fault_hits_the_next_matching_requests_only(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(status=500, times=2, method="POST")

    await api.list()
    await api.create()

    assert [r.method for r in api.server.requests] == ["GET", "POST", "POST", "POST"]
    assert len(api.server.records()) == 1


async def test_a_status_fault_is_problem_json_with_retry_after(api: Api) -> None:
    api.server.inject_fault(status=503, retry_after=2)

    with raw_http(api.server) as http:
        response = http.get(COLLECTION)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"].startswith("req_")


async def test_faults_apply_in_the_order_they_were_injected(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(status=502)
    api.server.inject_fault(status=504)

    with pytest.raises(InternalServerError) as caught:
        await Api(api.client.with_options(max_retries=1), api.server).list()

    assert caught.value.status_code == 504


@inprocess_only
async def test_an_exception_instance_fault_is_raised_as_given(
    api: Api, sleeps: list[float]
) -> None:
    api.server.inject_fault(exception=httpx.ReadTimeout("slow proxy"), times=3)

    with pytest.raises(APITimeoutError):
        await api.list()


@inprocess_only
async def test_a_delay_shorter_than_the_timeout_only_delays(api: Api, sleeps: list[float]) -> None:
    api.server.inject_fault(delay=0.25)

    assert await api.list() == []
    assert 0.25 in sleeps


async def test_an_after_commit_fault_stores_the_record_and_loses_the_response(
    api: Api,
) -> None:
    api.server.inject_fault(status=500, method="POST", after_commit=True)

    with raw_http(api.server) as http:
        response = http.post(COLLECTION, json={"person_id": "p1", "title": "CKA"})

    assert response.status_code == 500
    assert len(api.server.records()) == 1


def test_inject_fault_needs_something_to_inject(server: FakeServer) -> None:
    with pytest.raises(ValueError, match="status, an exception or a delay"):
        server.inject_fault()
    with pytest.raises(ValueError, match="probability"):
        server.inject_fault(status=500, probability=1.5)


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ({"status": 200}, "status"),
        ({"status": 99}, "status"),
        ({"status": True}, "status"),
        ({"delay": -1}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"delay": 3601}, "delay"),
        ({"delay": 1e10}, "delay"),
        ({"status": 503, "times": 0}, "times"),
        ({"status": 503, "times": -1}, "times"),
    ],
)
def test_a_fault_that_cannot_happen_is_refused_when_injected(
    fault: dict[str, Any], named: str
) -> None:
    # Not later, as a raw error inside the client's call or a fault that silently never fires.
    server = FakeServer()

    with pytest.raises(ValueError, match=named):
        server.inject_fault(**fault)

    with raw_http(server) as http:
        assert http.get(COLLECTION).status_code == 200


def _fault_pattern(seed: int) -> list[int]:
    server = FakeServer()
    server.inject_fault(status=503, probability=0.3, seed=seed)
    with raw_http(server) as http:
        return [http.get(COLLECTION).status_code for _ in range(40)]


def test_a_seeded_probability_fault_repeats_exactly() -> None:
    first = _fault_pattern(seed=7)

    assert first == _fault_pattern(seed=7)
    assert set(first) == {200, 503}
    assert first != _fault_pattern(seed=8)


def test_a_probability_fault_lasts_until_cleared(server: FakeServer) -> None:
    server.inject_fault(status=503, probability=1.0, seed=1)
    with raw_http(server) as http:
        statuses = [http.get(COLLECTION).status_code for _ in range(5)]
        server.clear_faults()
        after = http.get(COLLECTION).status_code

    assert statuses == [503] * 5
    assert after == 200


def test_a_probability_fault_with_times_is_capped(server: FakeServer) -> None:
    server.inject_fault(status=503, probability=1.0, seed=1, times=2)
    with raw_http(server) as http:
        statuses = [http.get(COLLECTION).status_code for _ in range(4)]

    assert statuses == [503, 503, 200, 200]


# -- thread safety ---------------------------------------------------------------------------


def test_concurrent_creates_from_threads_are_all_stored_once(server: FakeServer) -> None:
    errors: list[BaseException] = []

    def work(client: Client, n: int) -> None:
        try:
            for i in range(20):
                client.performance.learning_records.create(person_id=f"p{n}", title=f"t{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with server.client() as client:
        threads = [threading.Thread(target=work, args=(client, n)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    records = server.records()
    assert len(records) == 160
    assert len({r.id for r in records}) == 160
    assert [r.id for r in records] == sorted(r.id for r in records)
