"""create / get / list through the public API, each run with Client and AsyncClient."""

from __future__ import annotations

import enum
import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from _helpers import COLLECTION, Api, api_fixture, fake_api, posts, raw_http, sent_json
from edm_client import NotFoundError
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord, SourceType

api = api_fixture()

PREFIXED_ULID = re.compile(r"per_[0-9A-HJKMNP-TV-Z]{26}")


async def test_create_returns_the_record_with_server_stamps(api: Api) -> None:
    record = await api.create(person_id="p1", title="AWS Solutions Architect")

    assert PREFIXED_ULID.fullmatch(record.id)
    assert record.tenant_id == api.server.demo_tenant_id
    assert record.app_id is None
    assert record.created_by == record.updated_by == api.server.demo_person_id
    assert record.source == "edm"
    assert record.source_type is SourceType.API
    assert record.is_deleted is False
    assert record.deleted_at is None
    assert record.deleted_by is None
    assert record.schema_version == 1
    assert record.created_at == record.updated_at
    assert record.created_at.tzinfo is not None


async def test_create_sends_every_given_field_and_round_trips_it(api: Api) -> None:
    completed = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    expires = datetime(2028, 3, 1, tzinfo=timezone.utc)

    record = await api.create(
        person_id="p1",
        title="CKA",
        provider="CNCF",
        completed_at=completed,
        expires_at=expires,
        score=87.5,
        passed=True,
        certification_ref="https://badges.example/cka/123",
        linked_cohort_id="coh_1",
        linked_assessment_id="asm_1",
        source="lms-sync",
        source_type=SourceType.BACKEND,
    )

    assert record.model_dump(include={"person_id", "title", "provider", "score", "passed"}) == {
        "person_id": "p1",
        "title": "CKA",
        "provider": "CNCF",
        "score": 87.5,
        "passed": True,
    }
    assert record.completed_at == completed
    assert record.expires_at == expires
    assert record.certification_ref == "https://badges.example/cka/123"
    assert record.linked_cohort_id == "coh_1"
    assert record.linked_assessment_id == "asm_1"
    assert record.source == "lms-sync"
    assert record.source_type is SourceType.BACKEND


async def test_create_does_not_send_arguments_left_as_none(api: Api) -> None:
    await api.create(person_id="p1", title="CKA", provider=None, score=None)

    assert sent_json(posts(api.server)[-1]) == {"person_id": "p1", "title": "CKA"}


async def test_create_accepts_source_type_as_a_plain_string(api: Api) -> None:
    record = await api.create(source_type="frontend")

    assert record.source_type is SourceType.FRONTEND


async def test_create_accepts_a_score_of_zero_and_passed_false(api: Api) -> None:
    record = await api.create(score=0, passed=False)

    assert record.score == 0
    assert record.passed is False
    assert sent_json(posts(api.server)[-1])["passed"] is False


async def test_create_stores_exactly_one_record_per_call(api: Api) -> None:
    first = await api.create(title="one")
    second = await api.create(title="one")

    assert first.id != second.id
    assert [r.id for r in api.server.records()] == [first.id, second.id]


async def test_get_returns_the_stored_record(api: Api) -> None:
    created = await api.create(title="CKA", score=90)

    assert await api.get(created.id) == created


async def test_get_of_an_unknown_id_raises_not_found_with_the_request_id(api: Api) -> None:
    with pytest.raises(NotFoundError) as caught:
        await api.get("per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C")

    error = caught.value
    assert error.status_code == 404
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.request_id in str(error)
    assert "404" in str(error)


async def test_get_returns_a_soft_deleted_record_marked_deleted(api: Api) -> None:
    created = await api.create()
    api.server.soft_delete(created.id, by="admin_1")

    record = await api.get(created.id)

    assert record.is_deleted is True
    assert record.deleted_by == "admin_1"
    assert record.deleted_at is not None


async def test_list_returns_records_in_creation_order(api: Api) -> None:
    created = [await api.create(title=f"course {i}") for i in range(5)]

    assert await api.list() == created


async def test_list_of_nothing_is_an_empty_last_page(api: Api) -> None:
    page = await api.first_page()

    assert page.data == []
    assert page.next_cursor is None
    assert page.has_next_page() is False
    assert await api.list() == []


@pytest.mark.parametrize(
    ("filters", "expected_titles"),
    [
        ({"person_id": "p2"}, ["b", "c"]),
        ({"provider": "AWS"}, ["a", "c"]),
        ({"passed": True}, ["a"]),
        ({"passed": False}, ["b"]),
        ({"linked_cohort_id": "coh_1"}, ["a", "b"]),
        ({"linked_assessment_id": "asm_9"}, ["c"]),
        ({"person_id": "p2", "provider": "AWS"}, ["c"]),
        ({"person_id": "nobody"}, []),
    ],
)
async def test_list_filters_records(
    api: Api, filters: dict[str, object], expected_titles: list[str]
) -> None:
    await api.create(
        person_id="p1", title="a", provider="AWS", passed=True, linked_cohort_id="coh_1"
    )
    await api.create(
        person_id="p2", title="b", provider="GCP", passed=False, linked_cohort_id="coh_1"
    )
    await api.create(person_id="p2", title="c", provider="AWS", linked_assessment_id="asm_9")

    assert [r.title for r in await api.list(**filters)] == expected_titles


async def test_list_leaves_out_soft_deleted_records(api: Api) -> None:
    kept = await api.create(title="kept")
    deleted = await api.create(title="deleted")
    api.server.soft_delete(deleted.id, by="admin_1")

    assert [r.id for r in await api.list()] == [kept.id]
    assert [r.id for r in await api.list(include_deleted=False)] == [kept.id]


async def test_list_includes_soft_deleted_records_when_asked(api: Api) -> None:
    kept = await api.create(title="kept")
    deleted = await api.create(title="deleted")
    api.server.soft_delete(deleted.id, by="admin_1")

    listed = await api.list(include_deleted=True)

    assert [r.id for r in listed] == [kept.id, deleted.id]
    assert listed[1].is_deleted is True


async def test_list_with_include_deleted_still_applies_filters(api: Api) -> None:
    await api.create(person_id="p1")
    other = await api.create(person_id="p2")
    api.server.soft_delete(other.id, by="admin_1")

    assert [r.id for r in await api.list(person_id="p2", include_deleted=True)] == [other.id]


async def test_ids_may_be_given_as_uuids(api: Api) -> None:
    person, cohort, assessment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    record = await api.create(
        person_id=person, linked_cohort_id=cohort, linked_assessment_id=assessment
    )

    assert record.person_id == str(person)
    assert record.linked_cohort_id == str(cohort)
    assert record.linked_assessment_id == str(assessment)
    assert [r.id for r in await api.list(person_id=person)] == [record.id]
    assert [r.id for r in await api.list(linked_cohort_id=cohort)] == [record.id]
    assert [r.id for r in await api.list(linked_assessment_id=assessment)] == [record.id]


async def test_get_accepts_a_uuid_record_id(api: Api) -> None:
    record_id = uuid.UUID("0b0e5a52-9c0a-4d7e-8b43-0a6f4d3f1e11")

    with pytest.raises(NotFoundError):
        await api.get(record_id)

    assert api.server.requests[-1].url.path.endswith(f"/learning-records/{record_id}")


async def test_a_date_means_midnight_utc(api: Api) -> None:
    record = await api.create(completed_at=date(2026, 3, 1), expires_at=date(2028, 3, 1))

    assert record.completed_at == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert record.expires_at == datetime(2028, 3, 1, tzinfo=timezone.utc)
    sent = sent_json(posts(api.server)[-1])
    assert sent["completed_at"] == "2026-03-01T00:00:00Z"
    assert sent["expires_at"] == "2028-03-01T00:00:00Z"


async def test_a_date_string_means_midnight_utc_exactly_as_a_date_does(api: Api) -> None:
    as_string = await api.create(completed_at="2026-03-01", expires_at="2028-03-01")
    as_date = await api.create(completed_at=date(2026, 3, 1), expires_at=date(2028, 3, 1))

    assert as_string.completed_at == as_date.completed_at
    assert as_string.expires_at == datetime(2028, 3, 1, tzinfo=timezone.utc)
    first, second = posts(api.server)[-2:]
    assert first.content == second.content


def test_the_fake_stores_a_date_string_on_a_date_time_field_as_midnight_utc(
    server: FakeServer,
) -> None:
    with raw_http(server) as http:
        response = http.post(
            COLLECTION, json={"person_id": "p1", "title": "t", "completed_at": "2026-03-01"}
        )

    assert response.status_code == 201
    assert response.json()["completed_at"] == "2026-03-01T00:00:00.000000Z"


async def test_an_aware_datetime_keeps_its_instant_in_any_zone(api: Api) -> None:
    paris_summer = timezone(timedelta(hours=2))
    completed = datetime(2026, 6, 1, 11, 30, tzinfo=paris_summer)

    record = await api.create(completed_at=completed)

    assert record.completed_at == completed
    assert sent_json(posts(api.server)[-1])["completed_at"] == "2026-06-01T11:30:00+02:00"


async def test_a_utc_datetime_is_sent_with_a_z_suffix(api: Api) -> None:
    await api.create(completed_at=datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=timezone.utc))

    assert sent_json(posts(api.server)[-1])["completed_at"] == "2026-03-01T09:30:15.250000Z"


async def test_an_rfc3339_string_is_sent_as_given(api: Api) -> None:
    record = await api.create(completed_at="2026-03-01T09:30:00-05:00")

    assert sent_json(posts(api.server)[-1])["completed_at"] == "2026-03-01T09:30:00-05:00"
    assert record.completed_at == datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc)


async def test_a_bare_date_string_is_accepted_for_expires_at(api: Api) -> None:
    record = await api.create(expires_at="2028-03-01")

    assert record.expires_at == datetime(2028, 3, 1, tzinfo=timezone.utc)


async def test_same_idempotency_key_and_body_replays_the_first_record(api: Api) -> None:
    first = await api.raw("create", title="CKA", idempotency_key="import-42")
    second = await api.raw("create", title="CKA", idempotency_key="import-42")

    assert first.status_code == second.status_code == 201
    assert second.parse() == first.parse()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(api.server.records()) == 1


async def test_every_create_sends_its_own_generated_idempotency_key(api: Api) -> None:
    await api.create(title="one")
    await api.create(title="one")

    keys = [r.headers["Idempotency-Key"] for r in posts(api.server)]
    assert len(set(keys)) == 2
    assert all(str(uuid.UUID(key)) == key for key in keys)  # canonical lower-case form
    assert all(uuid.UUID(key).version == 4 for key in keys)
    assert all(uuid.UUID(key).variant == uuid.RFC_4122 for key in keys)
    assert len(api.server.records()) == 2


async def test_create_sends_compact_utf8_json(api: Api) -> None:
    title = 'Übung 日本語 "quoted"\n'
    await api.create(title=title, score=0.1, passed=False)

    sent = posts(api.server)[-1]
    assert sent.headers["Content-Type"] == "application/json"
    body = {"person_id": "p1", "title": title, "score": 0.1, "passed": False}
    assert sent.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Course(str, enum.Enum):
    """Each member is its course code (a str); its value is a display label."""

    def __new__(cls, code: str, label: str) -> Course:
        member = str.__new__(cls, code)
        member._value_ = label
        return member

    CKA = ("CKA", "Certified Kubernetes Administrator")


class Grade(float, enum.Enum):
    """Each member is its score (a float); its value is a letter."""

    def __new__(cls, points: float, letter: str) -> Grade:
        member = float.__new__(cls, points)
        member._value_ = letter
        return member

    A = (95.0, "A")


class Provider(str, enum.Enum):
    AWS = "AWS"


async def test_a_str_enum_member_given_as_text_is_sent_as_its_text(api: Api) -> None:
    record = await api.create(title=Course.CKA)

    assert sent_json(posts(api.server)[-1])["title"] == "CKA"
    assert record.title == "CKA"


async def test_a_float_enum_member_given_as_a_score_is_sent_as_its_number(api: Api) -> None:
    record = await api.create(score=Grade.A)

    assert sent_json(posts(api.server)[-1])["score"] == 95.0
    assert record.score == 95.0


async def test_list_filters_by_a_str_enum_member_as_its_text(api: Api) -> None:
    await api.create(title="a", provider="AWS")

    assert [r.title for r in await api.list(provider=Provider.AWS)] == ["a"]


async def test_create_sends_the_callers_idempotency_key(api: Api) -> None:
    await api.create(idempotency_key="import-42")

    assert posts(api.server)[-1].headers["Idempotency-Key"] == "import-42"


# -- tenant and app isolation ------------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
async def other_tenant(request: pytest.FixtureRequest, server: FakeServer):
    api = fake_api(server, request.param, server.issue_token(tenant_id="ten_other", person_id="q1"))
    yield api
    await api.close()


TENANT_A_CREATE: dict[str, Any] = {
    "person_id": "p1",
    "title": "tenant A only",
    "provider": "AWS",
    "passed": True,
    "linked_cohort_id": "coh_1",
    "linked_assessment_id": "asm_1",
    "idempotency_key": "shared-key",
}


async def _tenant_a_record(server: FakeServer) -> LearningRecord:
    with server.client() as client:
        return client.performance.learning_records.create(**TENANT_A_CREATE)


async def test_a_record_of_another_tenant_is_not_found(
    server: FakeServer, other_tenant: Api
) -> None:
    record = await _tenant_a_record(server)

    with pytest.raises(NotFoundError):
        await other_tenant.get(record.id)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"person_id": "p1"},
        {"provider": "AWS"},
        {"passed": True},
        {"linked_cohort_id": "coh_1"},
        {"linked_assessment_id": "asm_1"},
        {"include_deleted": True},
    ],
)
async def test_a_record_of_another_tenant_is_never_listed(
    server: FakeServer, other_tenant: Api, filters: dict[str, object]
) -> None:
    await _tenant_a_record(server)

    assert await other_tenant.list(**filters) == []


async def test_an_idempotency_key_of_another_tenant_does_not_replay_its_record(
    server: FakeServer, other_tenant: Api
) -> None:
    record = await _tenant_a_record(server)

    mine = await other_tenant.create(**TENANT_A_CREATE)

    assert mine.id != record.id
    assert mine.tenant_id == "ten_other"
    assert len(server.records()) == 2


async def test_writes_are_stamped_with_the_callers_tenant_and_person(
    other_tenant: Api,
) -> None:
    record = await other_tenant.create(person_id="p1")

    assert record.tenant_id == "ten_other"
    assert record.created_by == "q1"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_app_key_stamps_its_app_and_sees_only_its_apps_records(
    server: FakeServer, mode: str
) -> None:
    human = fake_api(server, mode)
    app_a = fake_api(server, mode, server.issue_token(person_id="svc_a", app_id="app_a"))
    app_b = fake_api(server, mode, server.issue_token(person_id="svc_b", app_id="app_b"))
    try:
        by_human = await human.create(title="by human")
        by_a = await app_a.create(title="by app a")
        by_b = await app_b.create(title="by app b")

        assert by_human.app_id is None
        assert by_a.app_id == "app_a"
        assert [r.id for r in await app_a.list()] == [by_a.id]
        assert await app_a.get(by_a.id) == by_a
        for hidden in (by_human.id, by_b.id):
            with pytest.raises(NotFoundError):
                await app_a.get(hidden)
        assert [r.id for r in await human.list()] == [by_human.id, by_a.id, by_b.id]
        assert await human.get(by_b.id) == by_b
    finally:
        for each in (human, app_a, app_b):
            await each.close()
