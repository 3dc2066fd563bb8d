"""Demo learning records: a few people's courses and certifications, some expiring soon.

The learning-records definition's `demo_items`, used by every demo: `FakeServer.seed_demo_data()`,
`python -m edm_client.testing serve --seed-demo-data`, `POST /_fake/seed-demo-data` and the
`edm --fake` command line.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

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
    """Eight records for three people, as create bodies (JSON values, unset fields left out).

    Dates are relative to `now` (an aware datetime), so some certifications expire soon.
    """

    def days(n: int | None) -> str | None:
        if n is None:
            return None
        return (now + timedelta(days=n)).isoformat().replace("+00:00", "Z")

    items = [
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
    return [{name: value for name, value in item.items() if value is not None} for item in items]
