"""`.to_pandas()` on list results: every page, one column per field, the right dtypes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pandas as pd
import pytest

from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

FIELDS = list(LearningRecord.model_fields)
DATETIME_COLUMNS = ["created_at", "updated_at", "deleted_at", "completed_at", "expires_at"]
TEXT_COLUMNS = [
    "id",
    "tenant_id",
    "app_id",
    "created_by",
    "updated_by",
    "source",
    "source_type",
    "deleted_by",
    "person_id",
    "title",
    "provider",
    "certification_ref",
    "linked_cohort_id",
    "linked_assessment_id",
]


def _seed(client: Client, count: int) -> list[LearningRecord]:
    records = client.performance.learning_records
    return [records.create(person_id="p1", title=f"Course {i}", score=50 + i) for i in range(count)]


def _wire_record(**fields: Any) -> dict[str, Any]:
    return {
        "id": "per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
        "tenant_id": "ten_1",
        "created_at": "2026-03-01T09:30:00Z",
        "updated_at": "2026-03-01T09:30:00Z",
        **fields,
    }


@pytest.fixture
def serve_page() -> Iterator[Any]:
    """A `Client` whose list endpoint answers one page holding the given wire records."""
    clients: list[Client] = []

    def make(*records: dict[str, Any]) -> Client:
        body = json.dumps({"data": list(records), "next_cursor": None}).encode()
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
        client = Client(
            api_key="token",
            base_url="https://edm.example.test",
            http_client=httpx.Client(transport=transport),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_to_pandas_has_one_column_per_field_in_field_order(client: Client) -> None:
    _seed(client, 1)
    df = client.performance.learning_records.list().to_pandas()
    assert list(df.columns) == FIELDS


def test_to_pandas_collects_every_page_in_listing_order(client: Client) -> None:
    created = _seed(client, 5)
    df = client.performance.learning_records.list(limit=2).to_pandas()
    assert df["id"].tolist() == [r.id for r in created]
    assert df.index.tolist() == [0, 1, 2, 3, 4]


def test_to_pandas_on_a_later_page_starts_at_that_page(client: Client) -> None:
    created = _seed(client, 5)
    second = client.performance.learning_records.list(limit=2).get_next_page()
    assert second.to_pandas()["id"].tolist() == [r.id for r in created[2:]]


def test_to_pandas_keeps_the_filters(client: Client) -> None:
    records = client.performance.learning_records
    records.create(person_id="p1", title="A", provider="AWS")
    wanted = records.create(person_id="p1", title="B", provider="Coursera")
    df = records.list(provider="Coursera", limit=1).to_pandas()
    assert df["id"].tolist() == [wanted.id]


def test_datetime_columns_are_timezone_aware_utc(client: Client) -> None:
    client.performance.learning_records.create(
        person_id="p1", title="A", completed_at="2026-03-01T09:30:00Z", expires_at=date(2029, 3, 1)
    )
    df = client.performance.learning_records.list().to_pandas()
    for column in DATETIME_COLUMNS:
        assert df[column].dtype == pd.DatetimeTZDtype(unit="us", tz="UTC"), column
    assert df.loc[0, "expires_at"] == pd.Timestamp("2029-03-01T00:00:00Z")


def test_offsets_other_than_utc_are_converted_to_utc(serve_page: Any) -> None:
    client = serve_page(_wire_record(completed_at="2026-03-01T11:30:00.123456+02:00"))
    df = client.performance.learning_records.list().to_pandas()
    assert df.loc[0, "completed_at"] == pd.Timestamp("2026-03-01T09:30:00.123456Z")


def test_far_future_expiry_dates_survive(client: Client) -> None:
    client.performance.learning_records.create(person_id="p1", title="A", expires_at="9999-12-31")
    df = client.performance.learning_records.list().to_pandas()
    assert df.loc[0, "expires_at"] == pd.Timestamp("9999-12-31T00:00:00Z")


def test_missing_datetimes_are_nat(client: Client) -> None:
    client.performance.learning_records.create(person_id="p1", title="A")
    df = client.performance.learning_records.list().to_pandas()
    assert df["expires_at"].isna().all()


def test_optional_numbers_and_booleans_use_nullable_dtypes(client: Client) -> None:
    records = client.performance.learning_records
    records.create(person_id="p1", title="A", score=87.5, passed=True)
    records.create(person_id="p1", title="B")
    df = records.list().to_pandas()
    assert str(df["score"].dtype) == "Float64"
    assert str(df["passed"].dtype) == "boolean"
    assert str(df["schema_version"].dtype) == "Int64"
    assert df["score"].tolist() == [87.5, pd.NA]
    assert df["passed"].tolist() == [True, pd.NA]


def test_a_required_boolean_stays_a_plain_bool(client: Client) -> None:
    _seed(client, 1)
    df = client.performance.learning_records.list().to_pandas()
    assert df["is_deleted"].dtype == bool


def test_text_columns_use_the_string_dtype(client: Client) -> None:
    client.performance.learning_records.create(person_id="p1", title="A", source_type="backend")
    df = client.performance.learning_records.list().to_pandas()
    for column in TEXT_COLUMNS:
        assert isinstance(df[column].dtype, pd.StringDtype), column
    assert df.loc[0, "source_type"] == "backend"
    assert df.loc[0, "app_id"] is pd.NA


def test_an_empty_listing_still_has_every_column_and_dtype(client: Client) -> None:
    _seed(client, 1)
    full = client.performance.learning_records.list().to_pandas()
    empty = client.performance.learning_records.list(person_id="nobody").to_pandas()
    assert len(empty) == 0
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


def test_fields_unknown_to_the_sdk_become_trailing_columns(serve_page: Any) -> None:
    client = serve_page(_wire_record(title="A"), _wire_record(title="B", grade="A+", credits=3))
    df = client.performance.learning_records.list().to_pandas()
    assert list(df.columns) == [*FIELDS, "grade", "credits"]
    assert df["grade"].tolist() == [pd.NA, "A+"]
    assert df["credits"].tolist() == [pd.NA, 3]
    assert str(df["credits"].dtype) == "Int64"


def test_source_types_newer_than_the_sdk_are_kept_as_text(serve_page: Any) -> None:
    client = serve_page(_wire_record(source_type="mobile"))
    df = client.performance.learning_records.list().to_pandas()
    assert df.loc[0, "source_type"] == "mobile"


async def test_async_to_pandas_on_the_paginator_collects_every_page(
    client: Client, async_client: AsyncClient
) -> None:
    created = _seed(client, 5)
    df = await async_client.performance.learning_records.list(limit=2).to_pandas()
    assert df["id"].tolist() == [r.id for r in created]


async def test_async_to_pandas_on_a_page_matches_the_sync_frame(
    client: Client, async_client: AsyncClient
) -> None:
    _seed(client, 3)
    page = await async_client.performance.learning_records.list(limit=2)
    async_df = await page.to_pandas()
    pd.testing.assert_frame_equal(async_df, client.performance.learning_records.list().to_pandas())


@pytest.fixture
def without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import pandas` fail as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "pandas", None)


@pytest.mark.usefixtures("without_pandas")
def test_without_pandas_to_pandas_names_the_extra_to_install(client: Client) -> None:
    page = client.performance.learning_records.list()
    with pytest.raises(ImportError, match=r"pip install 'edm-sdk\[pandas\]'") as excinfo:
        page.to_pandas()
    assert excinfo.value.name == "pandas"


@pytest.mark.usefixtures("without_pandas")
def test_without_pandas_no_further_page_is_fetched(client: Client, server: FakeServer) -> None:
    _seed(client, 3)
    page = client.performance.learning_records.list(limit=1)
    sent = len(server.requests)
    with pytest.raises(ImportError):
        page.to_pandas()
    assert len(server.requests) == sent


@pytest.mark.usefixtures("without_pandas")
async def test_without_pandas_async_to_pandas_fails_before_any_request(
    async_client: AsyncClient, server: FakeServer
) -> None:
    with pytest.raises(ImportError, match=r"pip install 'edm-sdk\[pandas\]'"):
        await async_client.performance.learning_records.list().to_pandas()
    assert server.requests == []


def test_importing_edm_client_does_not_import_pandas() -> None:
    code = (
        "import sys, edm_client, edm_client.testing\n"
        "from edm_client.testing import FakeServer\n"
        "FakeServer().client().performance.learning_records.list()\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
