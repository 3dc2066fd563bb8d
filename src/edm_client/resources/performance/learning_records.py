"""`client.performance.learning_records`: list, get and create learning records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypedDict

from edm_client._base_client import Timeout
from edm_client._config import NOT_GIVEN, NotGiven
from edm_client._definition import ResourceDefinition, register
from edm_client._pagination import AsyncPaginator, CursorPage
from edm_client._params import DateTimeInput, IdInput
from edm_client._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw_response,
    to_raw_response,
)
from edm_client._rules import FieldRule
from edm_client.resources.performance._learning_records_demo import demo_items
from edm_client.types.learning_record import LearningRecord, SourceType

__all__ = ["LEARNING_RECORDS", "AsyncLearningRecords", "LearningRecords"]

LEARNING_RECORDS: ResourceDefinition[LearningRecord] = ResourceDefinition(
    namespace="performance",
    name="learning_records",
    path="/api/v1/performance/learning-records",
    id_prefix="per",
    model=LearningRecord,
    fields={
        "person_id": FieldRule.id(required=True),
        "title": FieldRule.text(max_length=500, required=True),
        "provider": FieldRule.text(max_length=200),
        "completed_at": FieldRule.date_time(),
        "expires_at": FieldRule.date_time(),
        "score": FieldRule.number(minimum=0, maximum=100),
        "passed": FieldRule.boolean(),
        "certification_ref": FieldRule.text(max_length=2000),
        "linked_cohort_id": FieldRule.id(),
        "linked_assessment_id": FieldRule.id(),
    },
    filters=("person_id", "provider", "passed", "linked_cohort_id", "linked_assessment_id"),
    table_columns=(
        "id",
        "person_id",
        "title",
        "provider",
        "score",
        "passed",
        "completed_at",
        "expires_at",
    ),
    table_priority=(
        "id",
        "title",
        "completed_at",
        "passed",
        "score",
        "expires_at",
        "person_id",
        "provider",
    ),
    demo_items=demo_items,
)

SourceTypeInput = SourceType | Literal["frontend", "backend", "server", "system", "api"]


class _Fields(TypedDict):
    """What `create` sends, as the type checker sees it: every argument, by name."""

    person_id: IdInput
    title: str
    provider: str | None
    completed_at: DateTimeInput | None
    expires_at: DateTimeInput | None
    score: float | None
    passed: bool | None
    certification_ref: str | None
    linked_cohort_id: IdInput | None
    linked_assessment_id: IdInput | None
    source: str | None
    source_type: SourceTypeInput | None


class _Filters(TypedDict):
    """What `list` filters by, as the type checker sees it."""

    person_id: IdInput | None
    provider: str | None
    passed: bool | None
    linked_cohort_id: IdInput | None
    linked_assessment_id: IdInput | None


class LearningRecords(SyncAPIResource[LearningRecord]):
    """Learning records: completions of courses, certifications and assessments."""

    _definition = LEARNING_RECORDS

    def create(
        self,
        *,
        person_id: IdInput,
        title: str,
        provider: str | None = None,
        completed_at: DateTimeInput | None = None,
        expires_at: DateTimeInput | None = None,
        score: float | None = None,
        passed: bool | None = None,
        certification_ref: str | None = None,
        linked_cohort_id: IdInput | None = None,
        linked_assessment_id: IdInput | None = None,
        source: str | None = None,
        source_type: SourceTypeInput | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> LearningRecord:
        """Store a learning record and return it as the server stored it.

        Arguments left as None are not sent. Datetimes may be aware `datetime`s, `date`s
        or date strings `YYYY-MM-DD` (both midnight UTC), or RFC 3339 strings. Every create
        carries an `Idempotency-Key` (yours, or a generated one) reused by every retry, so a
        retried create never stores twice.

        Raises `InvalidRequestError` before sending for values the API would reject.
        """
        fields: _Fields = {
            "person_id": person_id,
            "title": title,
            "provider": provider,
            "completed_at": completed_at,
            "expires_at": expires_at,
            "score": score,
            "passed": passed,
            "certification_ref": certification_ref,
            "linked_cohort_id": linked_cohort_id,
            "linked_assessment_id": linked_assessment_id,
            "source": source,
            "source_type": source_type,
        }
        return self._create(fields, idempotency_key, timeout, extra_headers, total_timeout)

    def list(
        self,
        *,
        person_id: IdInput | None = None,
        provider: str | None = None,
        passed: bool | None = None,
        linked_cohort_id: IdInput | None = None,
        linked_assessment_id: IdInput | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CursorPage[LearningRecord]:
        """The first page of matching records, oldest first.

        Iterating the page yields every matching record across all pages, fetching each page
        only when needed. `limit` (1-100, server default 20) is the page size.
        """
        filters: _Filters = {
            "person_id": person_id,
            "provider": provider,
            "passed": passed,
            "linked_cohort_id": linked_cohort_id,
            "linked_assessment_id": linked_assessment_id,
        }
        return self._list(
            filters, include_deleted, limit, cursor, timeout, extra_headers, total_timeout
        )

    @property
    def with_raw_response(self) -> LearningRecordsWithRawResponse:
        """The same methods, returning an `APIResponse` with status, headers and request id."""
        return LearningRecordsWithRawResponse(self)


class AsyncLearningRecords(AsyncAPIResource[LearningRecord]):
    """Learning records: completions of courses, certifications and assessments."""

    _definition = LEARNING_RECORDS

    async def create(
        self,
        *,
        person_id: IdInput,
        title: str,
        provider: str | None = None,
        completed_at: DateTimeInput | None = None,
        expires_at: DateTimeInput | None = None,
        score: float | None = None,
        passed: bool | None = None,
        certification_ref: str | None = None,
        linked_cohort_id: IdInput | None = None,
        linked_assessment_id: IdInput | None = None,
        source: str | None = None,
        source_type: SourceTypeInput | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> LearningRecord:
        """Store a learning record and return it as the server stored it.

        Arguments left as None are not sent. Datetimes may be aware `datetime`s, `date`s
        or date strings `YYYY-MM-DD` (both midnight UTC), or RFC 3339 strings. Every create
        carries an `Idempotency-Key` (yours, or a generated one) reused by every retry, so a
        retried create never stores twice.

        Raises `InvalidRequestError` before sending for values the API would reject.
        """
        fields: _Fields = {
            "person_id": person_id,
            "title": title,
            "provider": provider,
            "completed_at": completed_at,
            "expires_at": expires_at,
            "score": score,
            "passed": passed,
            "certification_ref": certification_ref,
            "linked_cohort_id": linked_cohort_id,
            "linked_assessment_id": linked_assessment_id,
            "source": source,
            "source_type": source_type,
        }
        return await self._create(fields, idempotency_key, timeout, extra_headers, total_timeout)

    def list(
        self,
        *,
        person_id: IdInput | None = None,
        provider: str | None = None,
        passed: bool | None = None,
        linked_cohort_id: IdInput | None = None,
        linked_assessment_id: IdInput | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPaginator[LearningRecord]:
        """Matching records, oldest first: `await` it for the first page, or `async for` all.

        Pages are fetched only when needed. `limit` (1-100, server default 20) is the page size.
        """
        filters: _Filters = {
            "person_id": person_id,
            "provider": provider,
            "passed": passed,
            "linked_cohort_id": linked_cohort_id,
            "linked_assessment_id": linked_assessment_id,
        }
        return self._list(
            filters, include_deleted, limit, cursor, timeout, extra_headers, total_timeout
        )

    @property
    def with_raw_response(self) -> AsyncLearningRecordsWithRawResponse:
        """The same methods, returning an `APIResponse` with status, headers and request id."""
        return AsyncLearningRecordsWithRawResponse(self)


class LearningRecordsWithRawResponse:
    def __init__(self, records: LearningRecords) -> None:
        self.create = to_raw_response(records.create)
        self.get = to_raw_response(records.get)
        self.list = to_raw_response(records.list)


class AsyncLearningRecordsWithRawResponse:
    def __init__(self, records: AsyncLearningRecords) -> None:
        self.create = to_async_raw_response(records.create)
        self.get = to_async_raw_response(records.get)
        self.list = to_async_raw_response(records.list)


register(LearningRecords, AsyncLearningRecords)
