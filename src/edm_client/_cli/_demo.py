"""Demo data for `edm --fake`: a few people's courses and certifications, some expiring soon."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

from edm_client._client import Client

ADA = "3f0c2a4e-8d5b-4c1e-9a7f-2b6d1e0c9a85"
GRACE = "8a1d5e2c-6b3f-4d7a-9c0e-1f2b3c4d5e6f"
LINUS = "c7e9b1a3-5d2f-4e8c-b6a0-9d8c7b6a5f4e"
COHORT = "coh_01JD3W6Z5X6N9V7Q8R2T4Y1B0C"


_DEMO: Final = (
    # person, title, provider, score, passed, completed (days from now), expires (days from now)
    (ADA, "AWS Solutions Architect", "AWS", 87.5, True, -700, 30),
    (ADA, "Kubernetes Fundamentals", "Linux Foundation", 92, True, -120, 610),
    (ADA, "Secure Coding Basics", "Coursera", None, None, -40, None),
    (GRACE, "Certified Scrum Master", "Scrum Alliance", None, True, -640, 85),
    (GRACE, "Data Privacy (GDPR)", "IAPP", 58, False, -15, None),
    (GRACE, "Google Cloud Digital Leader", "Google Cloud", 81, True, -1000, -5),
    (LINUS, "First Aid at Work", "Red Cross", None, True, -1050, 45),
    (LINUS, "Terraform Associate", "HashiCorp", 76, True, -200, 530),
)


def demo_items(now: datetime) -> list[dict[str, Any]]:
    """Eight records for three people; dates are relative to `now`, some expire soon."""

    def days(n: int | None) -> datetime | None:
        return None if n is None else now + timedelta(days=n)

    return [
        {
            "person_id": person,
            "title": title,
            "provider": provider,
            "score": score,
            "passed": passed,
            "completed_at": days(completed),
            "expires_at": days(expires),
            "linked_cohort_id": COHORT if expires and expires < 90 else None,
        }
        for person, title, provider, score, passed, completed, expires in _DEMO
    ]


def seed_demo_records(client: Client) -> None:
    """Store the demo records through the public API, as any user would."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    # One at a time, so the demo records list in the same order on every run.
    result = client.performance.learning_records.create_many(demo_items(now), concurrency=1)
    assert result.ok, result.failed
