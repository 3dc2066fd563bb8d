"""Which certifications expire in the next 90 days? Printed as a table, soonest first.

Walks every learning record (page by page, memory stays flat) and keeps those whose
`expires_at` falls between now and 90 days from now. Pass a person id as the first argument to
look at one person only.

Runs against the real API when EDM_BASE_URL and EDM_API_KEY are set, otherwise against an
embedded fake server seeded with a few certifications, and says which.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from edm_client import Client
from edm_client.types import LearningRecord

WINDOW = timedelta(days=90)


def make_client(now: datetime) -> Client:
    if os.environ.get("EDM_BASE_URL") and os.environ.get("EDM_API_KEY"):
        print(f"Using the EDM API at {os.environ['EDM_BASE_URL']}")
        return Client()
    from edm_client.testing import FakeServer

    print("EDM_BASE_URL and EDM_API_KEY are not set: using an embedded fake EDM server.")
    client = FakeServer().client()
    samples = [
        ("Ada", "AWS Solutions Architect", "AWS", 12),
        ("Ada", "Kubernetes Administrator (CKA)", "CNCF", 400),
        ("Grace", "Certified ScrumMaster", "Scrum Alliance", 45),
        ("Grace", "Google Cloud Digital Leader", "Google Cloud", -3),
        ("Linus", "First Aid at Work", "Red Cross", 89),
        ("Linus", "Secure Coding Basics", "Coursera", None),
    ]
    client.performance.learning_records.create_many(
        {
            "person_id": person,
            "title": title,
            "provider": provider,
            "expires_at": None if days is None else now + timedelta(days=days),
        }
        for person, title, provider, days in samples
    )
    return client


def expiring(records: Iterable[LearningRecord], now: datetime) -> list[LearningRecord]:
    """The records expiring within the window; only those are kept in memory."""
    soon = [r for r in records if r.expires_at is not None and now <= r.expires_at <= now + WINDOW]
    return sorted(soon, key=lambda r: (r.expires_at, r.person_id or ""))


def print_table(records: list[LearningRecord], now: datetime) -> None:
    header = ("expires", "days left", "person", "title", "provider")
    rows = [
        (
            f"{r.expires_at:%Y-%m-%d}",
            str((r.expires_at - now).days),
            r.person_id or "",
            r.title or "",
            r.provider or "",
        )
        for r in records
        if r.expires_at is not None
    ]
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]
    for cells in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())


def main() -> None:
    now = datetime.now(timezone.utc)
    person_id = sys.argv[1] if len(sys.argv) > 1 else None
    with make_client(now) as client:
        every = client.performance.learning_records.list(person_id=person_id, limit=100)
        soon = expiring(every, now)
    print(f"Expiring in the next {WINDOW.days} days: {len(soon)}")
    print_table(soon, now)


if __name__ == "__main__":
    main()
