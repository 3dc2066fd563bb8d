"""Import an LMS's CSV export into EDM with `create_many`, then print a summary.

The export (`lms_export.csv` beside this file, or a path given as the first argument) has the
LMS's own column names; `to_item` maps one row to `create`'s arguments. Rows are streamed from
the file, so a large export never sits in memory. The import then runs a second time, as it
would after a crash or a Ctrl-C: every item carries an idempotency key derived from its content,
so the rerun creates nothing twice.

Runs against the real API when EDM_BASE_URL and EDM_API_KEY are set, otherwise against an
embedded fake server, and says which.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from quickstart import make_client  # the real API if configured, else the embedded fake

from edm_client import BulkCreateResult
from edm_client.types import LearningRecord

SAMPLE = Path(__file__).with_name("lms_export.csv")


def to_item(row: dict[str, str]) -> dict[str, Any]:
    """One LMS row as `create` arguments. This LMS writes UTC times without a zone."""
    item: dict[str, Any] = {
        "person_id": row["Employee ID"] or None,
        "title": row["Course Title"],
        "provider": row["Vendor"] or None,
        "certification_ref": row["Certificate URL"] or None,
        "source": "lms-csv",
        "source_type": "backend",
    }
    if row["Completion Date"]:
        completed = datetime.strptime(row["Completion Date"], "%Y-%m-%d %H:%M")
        item["completed_at"] = completed.replace(tzinfo=timezone.utc)
    if row["Valid Until"]:
        item["expires_at"] = date.fromisoformat(row["Valid Until"])
    if row["Score (%)"]:
        item["score"] = float(row["Score (%)"])
    if row["Result"]:
        item["passed"] = row["Result"].strip().lower() == "pass"
    return item


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of the export as items, one at a time."""
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            yield to_item(row)


def summarize(result: BulkCreateResult[LearningRecord]) -> None:
    new = result.created_count - result.replayed_count
    print(
        f"  {result.total} rows: {new} created, {result.replayed_count} already imported, "
        f"{result.failed_count} failed"
    )
    for failure in result.failed:
        line = failure.index + 2  # the header is line 1
        print(f"  line {line} ({failure.item['title']}): {failure.error}")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE
    with make_client() as client:
        records = client.performance.learning_records
        print(f"Importing {path.name}:")
        result = records.create_many(read_export(path), concurrency=4)
        summarize(result)

        print("Importing it again, as after a crash (nothing is created twice):")
        summarize(records.create_many(read_export(path), concurrency=4))

        if result.created:
            first = result.created[0].record
            print(f"First record: {first.id} {first.title!r} for {first.person_id}")


if __name__ == "__main__":
    main()
