"""Import a large CSV from several processes at once: each row is stored exactly once, even
when a worker dies halfway and the whole job is run again.

The parent reads the CSV (an LMS export, as in `import_lms_export.py`) and hands shards of
rows to a `ProcessPoolExecutor`. Each worker process builds its own `Client` from
EDM_BASE_URL and EDM_API_KEY, since a client holds open sockets and the token and is never
passed between processes, and calls `create_many` on its shard. `create_many` derives every
row's idempotency key from the row's content, so after a crash the same job, run again,
replays the rows already stored instead of storing them twice. See docs/scaling.md.

    EDM_BASE_URL=... EDM_API_KEY=... python examples/parallel_import.py export.csv

Without a file it imports a generated export (`--sample-rows`, default 2,000 rows). Without
EDM_BASE_URL and EDM_API_KEY it serves an embedded fake EDM server on a loopback port for the
workers to reach, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import itertools
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from import_lms_export import to_item  # one LMS row as `create` arguments

from edm_client import Client


@dataclass(frozen=True)
class Shard:
    """Consecutive rows of the CSV: the unit of work one worker process imports."""

    first_line: int
    rows: list[dict[str, str]]


@dataclass
class Report:
    """What a shard, or the whole job, did."""

    rows: int = 0
    created: int = 0
    replayed: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    """(line, why) of each row that was not stored."""

    def add(self, other: Report) -> None:
        self.rows += other.rows
        self.created += other.created
        self.replayed += other.replayed
        self.failed += other.failed


# -- in each worker process ------------------------------------------------------------------


@functools.cache
def worker_client() -> Client:
    """This process's client, made on first use in the process: never inherited, never sent."""
    return Client()  # EDM_BASE_URL and EDM_API_KEY from the environment


def import_shard(shard: Shard) -> Report:
    records = worker_client().performance.learning_records
    result = records.create_many((to_item(row) for row in shard.rows), concurrency=8)
    return Report(
        rows=len(shard.rows),
        created=result.created_count - result.replayed_count,
        replayed=result.replayed_count,
        failed=[(shard.first_line + f.index, str(f.error)) for f in result.failed],
    )


# -- in the parent ---------------------------------------------------------------------------


def read_shards(path: Path, shard_rows: int) -> Iterator[Shard]:
    """The CSV's rows, `shard_rows` at a time, read as they are needed."""
    with path.open(encoding="utf-8", newline="") as stream:
        rows = csv.DictReader(stream)
        line = 2  # the header is line 1
        while shard := list(itertools.islice(rows, shard_rows)):
            yield Shard(line, shard)
            line += len(shard)


def run_import(
    path: Path,
    *,
    workers: int = 4,
    shard_rows: int = 500,
    task: Callable[[Shard], Report] = import_shard,
) -> Report:
    """Import `path` with `workers` processes, each running `task` on one shard at a time.

    Raises `BrokenProcessPool` when a worker process died: run the job again.
    """
    report = Report()
    # "spawn" starts each worker as a fresh interpreter, on every OS: nothing of the parent,
    # a client least of all, is inherited. Only shards and reports cross between processes.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        running: set[Future[Report]] = set()
        for shard in read_shards(path, shard_rows):
            if len(running) >= 2 * workers:  # a few shards ahead: memory stays flat
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    report.add(future.result())
            running.add(pool.submit(task, shard))
        for future in running:
            report.add(future.result())
    return report


def write_sample(path: Path, rows: int) -> Path:
    """An LMS export of `rows` distinct completions, as `import_lms_export.py` reads."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(sample_row(0)))
        writer.writeheader()
        writer.writerows(sample_row(n) for n in range(rows))
    return path


def sample_row(n: int) -> dict[str, str]:
    completed = datetime(2026, 1, 5, 9, 0) + timedelta(minutes=17 * n)
    return {
        "Employee ID": f"emp-{n % 250:04d}",
        "Employee Name": f"Learner {n % 250}",
        "Course Title": f"Course {n % 40}",
        "Vendor": "Acme LMS",
        "Completion Date": f"{completed:%Y-%m-%d %H:%M}",
        "Score (%)": str(50 + n % 50),
        "Result": "Pass",
        "Certificate URL": f"https://lms.example.com/certificates/{n}",
        "Valid Until": "",
    }


def summarize(report: Report) -> None:
    print(
        f"  {report.rows} rows: {report.created} created, {report.replayed} already imported, "
        f"{len(report.failed)} failed"
    )
    for line, why in sorted(report.failed)[:10]:
        print(f"  line {line}: {why}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Import a large CSV from several processes.")
    parser.add_argument("file", nargs="?", type=Path, help="the CSV export (default: generated)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--shard-rows", type=int, default=500, help="rows per shard (500)")
    parser.add_argument("--sample-rows", type=int, default=2000, help="rows generated (2000)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if not (os.environ.get("EDM_BASE_URL") and os.environ.get("EDM_API_KEY")):
            from edm_client.testing import FakeServer

            print("EDM_BASE_URL and EDM_API_KEY are not set: serving an embedded fake EDM server.")
            fake = FakeServer()
            # What the workers get: settings in their environment, never a client.
            os.environ["EDM_BASE_URL"] = stack.enter_context(fake.serve())
            os.environ["EDM_API_KEY"] = fake.issue_token()
        path: Path = args.file or write_sample(
            Path(stack.enter_context(tempfile.TemporaryDirectory())) / "export.csv",
            args.sample_rows,
        )

        for attempt in ("Importing", "Importing it again, as after a crash (nothing twice)"):
            print(f"{attempt}: {path.name} with {args.workers} worker processes")
            try:
                summarize(run_import(path, workers=args.workers, shard_rows=args.shard_rows))
            except BrokenProcessPool:
                print(
                    "A worker process died before its shard was done. Run the same command "
                    "again: rows already stored are replayed, not stored twice.",
                    file=sys.stderr,
                )
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
