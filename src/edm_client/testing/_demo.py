"""Demo data: a few realistic learning records of the demo tenant, as create bodies."""

from __future__ import annotations

from typing import Any

DEMO_PERSON_ID = "00000000-0000-4000-8000-000000000001"
"""The demo tenant's human user: the default caller of `FakeServer` tokens and clients."""
DEMO_COLLEAGUE_ID = "00000000-0000-4000-8000-000000000002"
DEMO_COHORT_ID = "coh_01JD3W6Z5X6N9V7Q8R2T4Y1B0C"
DEMO_ASSESSMENT_ID = "asm_01JD3W7A2B3C4D5E6F7G8H9J0K"

DEMO_RECORDS: tuple[dict[str, Any], ...] = (
    {
        "person_id": DEMO_PERSON_ID,
        "title": "AWS Certified Solutions Architect - Associate",
        "provider": "AWS",
        "completed_at": "2026-03-01T09:30:00Z",
        "expires_at": "2029-03-01",
        "score": 87.5,
        "passed": True,
        "certification_ref": "https://www.credly.com/badges/6f1c2d3e-aws-saa-c03",
        "source_type": "backend",
        "source": "lms-sync",
    },
    {
        "person_id": DEMO_PERSON_ID,
        "title": "Certified Kubernetes Administrator (CKA)",
        "provider": "The Linux Foundation",
        "completed_at": "2025-11-14T16:05:00+01:00",
        "expires_at": "2027-11-14",
        "score": 74,
        "passed": True,
        "certification_ref": "LF-2S8X4K9QPL",
    },
    {
        "person_id": DEMO_PERSON_ID,
        "title": "Data Privacy and GDPR Essentials",
        "provider": "EDM Academy",
        "completed_at": "2026-01-20T11:00:00Z",
        "score": 92,
        "passed": True,
        "linked_cohort_id": DEMO_COHORT_ID,
    },
    {
        "person_id": DEMO_COLLEAGUE_ID,
        "title": "Data Privacy and GDPR Essentials",
        "provider": "EDM Academy",
        "completed_at": "2026-01-21T08:45:00Z",
        "score": 61,
        "passed": False,
        "linked_cohort_id": DEMO_COHORT_ID,
        "linked_assessment_id": DEMO_ASSESSMENT_ID,
    },
    {
        "person_id": DEMO_COLLEAGUE_ID,
        "title": "Machine Learning Specialization",
        "provider": "Coursera",
        "completed_at": "2025-09-30T18:20:00-04:00",
        "certification_ref": "https://coursera.org/verify/specialization/QX7Z2M4N8P",
    },
    {
        "person_id": DEMO_COLLEAGUE_ID,
        "title": "HashiCorp Certified: Terraform Associate",
        "provider": "HashiCorp",
    },
)
