"""The learning record as the API returns it."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

from edm_client._models import EDMModel
from edm_client._rules import SOURCE_TYPES

__all__ = ["LearningRecord", "SourceType"]


class SourceType(str, Enum):
    """Where a write originated. The API may add values; unknown ones arrive as plain `str`."""

    FRONTEND = "frontend"
    BACKEND = "backend"
    SERVER = "server"
    SYSTEM = "system"
    API = "api"

    def __str__(self) -> str:
        return self.value


assert tuple(m.value for m in SourceType) == SOURCE_TYPES

_SOURCE_TYPES = {m.value: m for m in SourceType}


def _known_source_type(value: Any) -> Any:
    # A value this version does not know stays a plain string instead of failing the record.
    return _SOURCE_TYPES.get(value, value) if isinstance(value, str) else value


class LearningRecord(EDMModel):
    """A completion record of a learning artifact: a course, certification or assessment."""

    id: str
    """Server-assigned id: a ULID with a type prefix, e.g. `per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C`."""
    tenant_id: str
    """Tenant scope, stamped from the caller's token."""
    created_at: AwareDatetime
    """When the server stored the record."""
    updated_at: AwareDatetime
    """When the record last changed."""
    app_id: str | None = None
    """Application scope; set only when the record was written with an integration API key."""
    created_by: str | None = None
    """Person id of the writer (the token's `sub`)."""
    updated_by: str | None = None
    """Person id of the last writer."""
    source: str | None = None
    """Provenance tag; the server defaults it to `edm`."""
    source_type: Annotated[SourceType | str | None, BeforeValidator(_known_source_type)] = None
    """Where the write originated; a `SourceType`, or a `str` for values newer than this SDK."""
    is_deleted: bool = False
    """Soft-delete flag. Soft-deleted records are left out of `list` unless asked for."""
    deleted_at: AwareDatetime | None = None
    """When the record was soft-deleted, else None."""
    deleted_by: str | None = None
    """Person id of who soft-deleted the record, else None."""
    schema_version: int | None = None
    """Document schema version, bumped on incompatible writes."""
    person_id: str | None = None
    """The person this record belongs to."""
    title: str | None = None
    """Name of the course, certification or learning activity."""
    provider: str | None = None
    """Training provider or certification body, e.g. `AWS`, `Coursera`."""
    completed_at: AwareDatetime | None = None
    """When the learner completed or passed; None if not completed yet."""
    expires_at: AwareDatetime | None = None
    """When the certification or training expires; None if it does not."""
    score: float | None = Field(default=None)
    """Score achieved, 0 to 100; None where scoring does not apply."""
    passed: bool | None = None
    """Whether the learner passed; None where pass/fail does not apply."""
    certification_ref: str | None = None
    """External credential URL, badge id or certificate number."""
    linked_cohort_id: str | None = None
    """The training cohort this record belongs to, if any."""
    linked_assessment_id: str | None = None
    """The formal assessment that produced this record, if any."""
