"""The models: real types, leniency towards a server that evolves, immutability, pickling."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone
from typing import Any

import pydantic
import pytest

from _helpers import (
    MODES,
    SERVER_OWNED_FIELDS,
    WRITABLE_FIELDS,
    Api,
    api_fixture,
    json_response,
    make_client,
    record_json,
)
from edm_client.types import LearningRecord, SourceType

api = api_fixture()

SEED_FIELDS = {*SERVER_OWNED_FIELDS, *WRITABLE_FIELDS}


def test_learning_record_has_every_field_of_the_seed_table() -> None:
    assert set(LearningRecord.model_fields) == SEED_FIELDS


def test_every_field_is_documented() -> None:
    undocumented = [n for n, f in LearningRecord.model_fields.items() if not f.description]
    assert undocumented == []


def test_datetimes_are_aware_and_ids_are_strings() -> None:
    record = LearningRecord.model_validate(
        record_json(
            completed_at="2026-03-01T09:30:00+02:00",
            expires_at="2028-03-01T00:00:00Z",
            deleted_at="2026-04-01T00:00:00.5Z",
            linked_cohort_id="0b0e5a52-9c0a-4d7e-8b43-0a6f4d3f1e11",
        )
    )

    for name in ("created_at", "updated_at", "completed_at", "expires_at", "deleted_at"):
        value = getattr(record, name)
        assert isinstance(value, datetime)
        assert value.tzinfo is not None
    assert record.completed_at == datetime(2026, 3, 1, 7, 30, tzinfo=timezone.utc)
    assert isinstance(record.linked_cohort_id, str)


def test_a_naive_datetime_from_the_server_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="created_at"):
        LearningRecord.model_validate(record_json(created_at="2026-03-01T09:30:00"))


@pytest.mark.parametrize("missing", ["id", "tenant_id", "created_at", "updated_at"])
def test_the_server_owned_essentials_are_required(missing: str) -> None:
    body = record_json()
    del body[missing]

    with pytest.raises(pydantic.ValidationError, match=missing):
        LearningRecord.model_validate(body)


def test_the_other_fields_may_be_absent() -> None:
    record = LearningRecord.model_validate(
        {
            "id": "per_1",
            "tenant_id": "ten_1",
            "created_at": "2026-03-01T09:30:00Z",
            "updated_at": "2026-03-01T09:30:00Z",
        }
    )

    assert record.title is None
    assert record.is_deleted is False


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_field_is_kept_as_an_attribute_and_in_model_dump(mode: str) -> None:
    body = record_json(skills=["kubernetes", "helm"], verified_by={"org": "CNCF"})

    record = await Api(make_client(mode, handler=lambda r: json_response(200, body))).get("per_1")

    assert record.skills == ["kubernetes", "helm"]  # type: ignore[attr-defined]
    assert record.verified_by == {"org": "CNCF"}  # type: ignore[attr-defined]
    assert record.model_dump()["skills"] == ["kubernetes", "helm"]
    assert record.model_extra == {"skills": ["kubernetes", "helm"], "verified_by": {"org": "CNCF"}}
    assert '"skills":["kubernetes","helm"]' in record.model_dump_json()


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_source_type_is_kept_as_its_string(mode: str) -> None:
    body = record_json(source_type="mobile_app")

    record = await Api(make_client(mode, handler=lambda r: json_response(200, body))).get("per_1")

    assert record.source_type == "mobile_app"
    assert not isinstance(record.source_type, SourceType)
    assert record.model_dump()["source_type"] == "mobile_app"


@pytest.mark.parametrize("value", [member.value for member in SourceType])
def test_a_known_source_type_parses_as_the_enum(value: str) -> None:
    record = LearningRecord.model_validate(record_json(source_type=value))

    assert record.source_type is SourceType(value)
    assert record.source_type == value
    assert str(record.source_type) == value


def test_source_type_lists_the_contracts_values() -> None:
    assert [m.value for m in SourceType] == ["frontend", "backend", "server", "system", "api"]


def test_a_model_is_immutable() -> None:
    record = LearningRecord.model_validate(record_json())

    with pytest.raises(pydantic.ValidationError):
        record.title = "changed"  # type: ignore[misc]


def test_model_copy_with_update_gives_a_new_record() -> None:
    record = LearningRecord.model_validate(record_json())

    changed = record.model_copy(update={"title": "changed"})

    assert changed.title == "changed"
    assert record.title == "Kubernetes Administrator"


def test_models_compare_by_value_and_hash_stays_usable() -> None:
    first = LearningRecord.model_validate(record_json())
    second = LearningRecord.model_validate(record_json())

    assert first == second
    assert hash(first) == hash(second)


@pytest.mark.parametrize("clone", [pickle.dumps, copy.copy, copy.deepcopy])
async def test_a_record_from_the_server_survives_pickling_and_copying(api: Api, clone: Any) -> None:
    record = await api.create(
        title="CKA", score=87.5, completed_at=datetime(2026, 3, 1, tzinfo=timezone.utc)
    )

    cloned = clone(record)
    restored = pickle.loads(cloned) if isinstance(cloned, bytes) else cloned

    assert restored == record
    assert type(restored) is LearningRecord
    assert restored.completed_at == record.completed_at


def test_a_record_with_unknown_fields_and_values_survives_pickling() -> None:
    record = LearningRecord.model_validate(record_json(skills=["helm"], source_type="mobile"))

    restored = pickle.loads(pickle.dumps(record))

    assert restored == record
    assert restored.skills == ["helm"]  # type: ignore[attr-defined]
    assert restored.source_type == "mobile"


async def test_the_records_of_a_page_pickle(api: Api) -> None:
    for i in range(3):
        await api.create(title=f"c{i}")
    page = await api.first_page(limit=2)

    restored = pickle.loads(pickle.dumps(page.data))

    assert restored == page.data
    assert pickle.loads(pickle.dumps(await api.list())) == await api.list()


def test_a_record_round_trips_through_json() -> None:
    record = LearningRecord.model_validate(record_json(score=12.5, source_type="mobile"))

    assert LearningRecord.model_validate_json(record.model_dump_json()) == record


def test_a_record_shows_itself_as_html_in_notebooks() -> None:
    record = LearningRecord.model_validate(record_json(title="<b>CKA</b>", skills=["helm"]))

    html = record._repr_html_()

    assert "&lt;b&gt;CKA&lt;/b&gt;" in html
    assert "<b>CKA</b>" not in html
    assert "skills" in html
