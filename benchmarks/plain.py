"""What a user writes without the SDK: a plain pydantic model of a learning record, and httpx.

`run.py` imports `PlainRecord` for the parsing floor (the SDK's model against this one, on
the same page of 100 records). Run as a script, this is the floor of the time to the first
request: a fresh process that imports httpx and pydantic, defines the model and fetches one
record, read from the environment as the SDK's script reads it:

    EDM_BASE_URL=... EDM_API_KEY=... EDM_RECORD_ID=per_... python benchmarks/plain.py
"""

from __future__ import annotations

import os
from typing import Literal

import httpx
from pydantic import AwareDatetime, BaseModel


class PlainRecord(BaseModel):
    """The 23 fields of `LearningRecord`, the same types, pydantic's default config:
    `source_type` a `Literal` (an unknown value fails), unknown fields dropped, mutable."""

    id: str
    tenant_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    app_id: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    source: str | None = None
    source_type: Literal["frontend", "backend", "server", "system", "api"] | None = None
    is_deleted: bool = False
    deleted_at: AwareDatetime | None = None
    deleted_by: str | None = None
    schema_version: int | None = None
    person_id: str | None = None
    title: str | None = None
    provider: str | None = None
    completed_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    score: float | None = None
    passed: bool | None = None
    certification_ref: str | None = None
    linked_cohort_id: str | None = None
    linked_assessment_id: str | None = None


def first_request() -> PlainRecord:
    """One record, fetched and parsed the plain way."""
    headers = {"Authorization": f"Bearer {os.environ['EDM_API_KEY']}"}
    with httpx.Client(base_url=os.environ["EDM_BASE_URL"], headers=headers) as http:
        response = http.get(f"/api/v1/performance/learning-records/{os.environ['EDM_RECORD_ID']}")
        response.raise_for_status()
        return PlainRecord.model_validate_json(response.content)


if __name__ == "__main__":
    first_request()
