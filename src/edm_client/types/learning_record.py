"""The learning record as the API returns it."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from edm_client._models import APIRecord, SourceType

__all__ = ["LearningRecord", "SourceType"]


class LearningRecord(APIRecord):
    """A completion record of a learning artifact: a course, certification or assessment."""

    # The only stamp restated: its documented example carries this resource's id prefix.
    id: str
    """Server-assigned id: a ULID with a type prefix, e.g. `per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C`."""
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
