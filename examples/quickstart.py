"""Create, fetch and list learning records.

Runs against the real API when EDM_BASE_URL and EDM_API_KEY are set, otherwise against an
embedded fake server, and says which.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

from edm_client import Client


def make_client() -> Client:
    missing = [name for name in ("EDM_BASE_URL", "EDM_API_KEY") if not os.environ.get(name)]
    if not missing:
        print(f"Using the EDM API at {os.environ['EDM_BASE_URL']}")
        return Client()
    from edm_client.testing import FakeServer

    unset = " and ".join(missing) + (" are" if len(missing) > 1 else " is")
    print(f"{unset} not set: using an embedded fake EDM server.")
    return FakeServer().client()


def main() -> None:
    person_id = os.environ.get("EDM_PERSON_ID", "3f0c2a4e-8d5b-4c1e-9a7f-2b6d1e0c9a85")
    with make_client() as client:
        records = client.performance.learning_records
        created = records.create(
            person_id=person_id,
            title="AWS Solutions Architect",
            provider="AWS",
            score=87.5,
            passed=True,
            completed_at=datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc),
            expires_at=date(2029, 3, 1),
        )
        print(f"created {created.id}: {created.title} ({created.provider}), score {created.score}")

        fetched = records.get(created.id)
        print(
            f"fetched {fetched.id}: passed={fetched.passed}, expires {fetched.expires_at:%Y-%m-%d}"
        )

        records.create(person_id=person_id, title="Kubernetes Fundamentals", provider="Coursera")
        print(f"records of person {person_id}:")
        for record in records.list(person_id=person_id):
            expires = f"{record.expires_at:%Y-%m-%d}" if record.expires_at else "never"
            print(f"  - {record.title} [{record.provider}] expires {expires}")


if __name__ == "__main__":
    main()
