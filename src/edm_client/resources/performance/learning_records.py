"""`client.performance.learning_records`: list, get and create learning records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, Literal

from edm_client._base_client import RequestOptions, Timeout
from edm_client._bulk import (
    BulkCreateResult,
    ProgressCallback,
    create_many,
    create_many_async,
    created_parser,
    prepare_item,
)
from edm_client._config import NOT_GIVEN, NotGiven
from edm_client._pagination import AsyncPaginator, CursorPage
from edm_client._params import (
    DateTimeInput,
    IdInput,
    check_body,
    compact,
    encode_body,
    filter_id,
    filter_str,
    id_value,
    idempotency_key,
    page_limit,
    path_segment,
    query_bool,
    wire_bool,
    wire_datetime,
    wire_enum,
    wire_number,
    wire_str,
)
from edm_client._resource import (
    AsyncAPIResource,
    SyncAPIResource,
    to_async_raw_response,
    to_raw_response,
)
from edm_client._rules import check_create_body
from edm_client.types.learning_record import LearningRecord, SourceType

__all__ = ["AsyncLearningRecords", "LearningRecords"]

PATH = "/api/v1/performance/learning-records"

SourceTypeInput = SourceType | Literal["frontend", "backend", "server", "system", "api"]

_Converter = Callable[[str, Any], object]

_CREATE_FIELDS: dict[str, _Converter] = {
    "person_id": id_value,
    "title": wire_str,
    "provider": wire_str,
    "completed_at": wire_datetime,
    "expires_at": wire_datetime,
    "score": wire_number,
    "passed": wire_bool,
    "certification_ref": wire_str,
    "linked_cohort_id": id_value,
    "linked_assessment_id": id_value,
    "source": wire_str,
    "source_type": wire_enum,
}
_LIST_PARAMS: dict[str, _Converter] = {
    "person_id": filter_id,
    "provider": filter_str,
    "passed": query_bool,
    "linked_cohort_id": filter_id,
    "linked_assessment_id": filter_id,
    "limit": page_limit,
    "cursor": filter_str,
}
_CREATE_ARGUMENTS = (
    *_CREATE_FIELDS,
    "idempotency_key",
    "timeout",
    "total_timeout",
    "extra_headers",
)
"""What an item of `create_many` may hold: `create`'s keyword arguments."""
_parse_created = created_parser(LearningRecord)


def _create_options(args: Mapping[str, Any]) -> RequestOptions:
    body = compact(_CREATE_FIELDS, {name: args[name] for name in _CREATE_FIELDS})
    check_body(check_create_body(body))
    return RequestOptions(
        "POST",
        PATH,
        content=encode_body(body),
        idempotency_key=idempotency_key(args["idempotency_key"]),
        timeout=args["timeout"],
        total_timeout=args["total_timeout"],
        extra_headers=args["extra_headers"],
        operation="learning_records.create",
        path_template=PATH,
    )


def _bulk_item_options(item: object) -> RequestOptions:
    return prepare_item(item, _CREATE_ARGUMENTS, _create_options)


def _get_options(args: Mapping[str, Any]) -> RequestOptions:
    return RequestOptions(
        "GET",
        f"{PATH}/{path_segment('record_id', args['record_id'])}",
        timeout=args["timeout"],
        total_timeout=args["total_timeout"],
        extra_headers=args["extra_headers"],
        operation="learning_records.get",
        path_template=f"{PATH}/{{record_id}}",
    )


def _list_options(args: Mapping[str, Any]) -> RequestOptions:
    params = compact(_LIST_PARAMS, {name: args[name] for name in _LIST_PARAMS})
    if wire_bool("include_deleted", args["include_deleted"]):
        params["include_deleted"] = "true"
    return RequestOptions(
        "GET",
        PATH,
        params=params,
        timeout=args["timeout"],
        total_timeout=args["total_timeout"],
        extra_headers=args["extra_headers"],
        operation="learning_records.list",
        path_template=PATH,
    )


# The methods hand `locals()` (their own arguments) to the shared builders above, so the sync
# and async classes differ only in `await` and cannot drift in what they send.


class LearningRecords(SyncAPIResource):
    """Learning records: completions of courses, certifications and assessments."""

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
        (midnight UTC) or RFC 3339 strings. Every create carries an `Idempotency-Key` (yours, or
        a generated one) reused by every retry, so a retried create never stores twice.

        Raises `InvalidRequestError` before sending for values the API would reject.
        """
        return self._model(_create_options(locals()), LearningRecord)

    def create_many(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
    ) -> BulkCreateResult[LearningRecord]:
        """Create every item (a mapping of `create`'s arguments); one bad item never stops the rest.

        `items` is read as a stream (a generator over a million rows is fine): at most
        `concurrency` items are in flight or held at once. An item without its own
        `idempotency_key` gets one derived from its content, so running the same batch again
        after a crash creates nothing twice (within the server's 24 h idempotency window);
        identical items therefore share one record. Items the API would reject fail on the
        spot with `InvalidRequestError`, without a request. `on_progress(done, total)` is
        called in the calling thread (or task) as items finish; `total` is None when `items`
        has no `len()`.

        Returns a `BulkCreateResult`: `.created` (index, record) and `.failed` (index, item,
        error), both in input order, `.ok` and counts.
        """
        return create_many(
            items,
            prepare=_bulk_item_options,
            send=lambda options: self._client.request(options, _parse_created),
            concurrency=concurrency,
            on_progress=on_progress,
        )

    def get(
        self,
        record_id: IdInput,
        *,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> LearningRecord:
        """Fetch one record by id (soft-deleted ones too). Raises `NotFoundError` if absent."""
        return self._model(_get_options(locals()), LearningRecord)

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
        return self._page(_list_options(locals()), LearningRecord)

    @cached_property
    def with_raw_response(self) -> LearningRecordsWithRawResponse:
        """The same methods, returning an `APIResponse` with status, headers and request id."""
        return LearningRecordsWithRawResponse(self)


class AsyncLearningRecords(AsyncAPIResource):
    """Learning records: completions of courses, certifications and assessments."""

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
        (midnight UTC) or RFC 3339 strings. Every create carries an `Idempotency-Key` (yours, or
        a generated one) reused by every retry, so a retried create never stores twice.

        Raises `InvalidRequestError` before sending for values the API would reject.
        """
        return await self._model(_create_options(locals()), LearningRecord)

    async def create_many(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
    ) -> BulkCreateResult[LearningRecord]:
        """The async twin of `LearningRecords.create_many`: the same arguments, items and
        result, with up to `concurrency` items in flight as tasks on the running loop."""
        return await create_many_async(
            items,
            prepare=_bulk_item_options,
            send=lambda options: self._client.request(options, _parse_created),
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def get(
        self,
        record_id: IdInput,
        *,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> LearningRecord:
        """Fetch one record by id (soft-deleted ones too). Raises `NotFoundError` if absent."""
        return await self._model(_get_options(locals()), LearningRecord)

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
        return self._page(_list_options(locals()), LearningRecord)

    @cached_property
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
