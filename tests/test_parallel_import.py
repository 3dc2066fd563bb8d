"""examples/parallel_import.py: a CSV sharded across worker processes, one worker killed
mid-shard, the whole job run again, and every row stored exactly once.

The workers are real processes that reach the served fake over a loopback socket with
EDM_BASE_URL and EDM_API_KEY in their environment, as they would reach the real API.
"""

from __future__ import annotations

import importlib
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import ModuleType

import pytest

from edm_client.testing import FakeServer

EXAMPLES = Path(__file__).parent.parent / "examples"
ROWS = 200
SHARD_ROWS = 50  # dying_worker.DYING_SHARD is the first line of the second shard


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the spawned workers get this sys.path too
    return importlib.import_module("parallel_import")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    with fake.serve() as base_url:
        monkeypatch.setenv("EDM_BASE_URL", base_url)
        monkeypatch.setenv("EDM_API_KEY", fake.issue_token())
        yield fake


def test_a_worker_killed_mid_shard_then_a_rerun_stores_every_row_exactly_once(
    example: ModuleType, served: FakeServer, tmp_path: Path
) -> None:
    from dying_worker import import_shard_or_die

    export = example.write_sample(tmp_path / "export.csv", ROWS)
    with pytest.raises(BrokenProcessPool):
        example.run_import(export, workers=2, shard_rows=SHARD_ROWS, task=import_shard_or_die)
    assert 0 < len(served.records()) < ROWS

    report = example.run_import(export, workers=2, shard_rows=SHARD_ROWS)

    assert (report.rows, report.failed) == (ROWS, [])
    assert report.replayed > 0
    assert report.created > 0
    stored = sorted(record.certification_ref for record in served.records())
    assert stored == sorted(f"https://lms.example.com/certificates/{n}" for n in range(ROWS))
