"""The test-only `performance.goals`, made as docs/adding-a-resource.md says."""

from collections.abc import Mapping
from datetime import date
from enum import Enum

from edm_client._base_client import NOT_GIVEN, NotGiven, Timeout
from edm_client._definition import ResourceDefinition, register
from edm_client._models import APIRecord, OpenEnum, SourceType
from edm_client._pagination import AsyncPaginator, CursorPage
from edm_client._params import DateInput, IdInput
from edm_client._resource import AsyncAPIResource, SyncAPIResource
from edm_client._rules import FieldRule


class GoalStatus(str, Enum):
    """Where a goal stands; the API may add values (they arrive as `str`)."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class Goal(APIRecord):
    """A performance goal of one person."""

    person_id: str | None = None
    """The person whose goal it is."""
    title: str | None = None
    """What the goal is."""
    due_at: date | None = None
    """The day the goal is due: a calendar date, the same day in every time zone."""
    status: OpenEnum[GoalStatus] | None = None
    """Where the goal stands: a `GoalStatus`, or a `str` if newer than this SDK."""


GOALS: ResourceDefinition[Goal] = ResourceDefinition(
    namespace="performance",
    name="goals",
    path="/api/v1/performance/goals",
    id_prefix="pgl",
    model=Goal,
    fields={
        "person_id": FieldRule.id(required=True),
        "title": FieldRule.text(max_length=500, required=True),
        "due_at": FieldRule.date_only(),
        "status": FieldRule.enum(GoalStatus),
    },
    filters=("person_id", "status"),
)


class Goals(SyncAPIResource[Goal]):
    """Performance goals."""

    _definition = GOALS

    def create(
        self,
        *,
        person_id: IdInput,
        title: str,
        due_at: DateInput | None = None,
        status: GoalStatus | str | None = None,
        source: str | None = None,
        source_type: SourceType | str | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Goal:
        """Store a goal; `due_at` is a `date` or `YYYY-MM-DD`."""
        fields = {"person_id": person_id, "title": title, "due_at": due_at}
        fields |= {"status": status, "source": source, "source_type": source_type}
        options = idempotency_key, timeout, extra_headers, total_timeout
        return self._create(fields, *options)

    def list(
        self,
        *,
        person_id: IdInput | None = None,
        status: GoalStatus | str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CursorPage[Goal]:
        """The first page of matching goals, oldest first; iterate it for all."""
        by = {"person_id": person_id, "status": status}
        options = timeout, extra_headers, total_timeout
        return self._list(by, include_deleted, limit, cursor, *options)


class AsyncGoals(AsyncAPIResource[Goal]):
    """Performance goals."""

    _definition = GOALS

    async def create(
        self,
        *,
        person_id: IdInput,
        title: str,
        due_at: DateInput | None = None,
        status: GoalStatus | str | None = None,
        source: str | None = None,
        source_type: SourceType | str | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Goal:
        """Store a goal; `due_at` is a `date` or `YYYY-MM-DD`."""
        fields = {"person_id": person_id, "title": title, "due_at": due_at}
        fields |= {"status": status, "source": source, "source_type": source_type}
        options = idempotency_key, timeout, extra_headers, total_timeout
        return await self._create(fields, *options)

    def list(
        self,
        *,
        person_id: IdInput | None = None,
        status: GoalStatus | str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncPaginator[Goal]:
        """Matching goals, oldest first: `await` it for a page, `async for` all."""
        by = {"person_id": person_id, "status": status}
        options = timeout, extra_headers, total_timeout
        return self._list(by, include_deleted, limit, cursor, *options)


register(Goals, AsyncGoals)
