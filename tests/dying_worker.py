"""A worker task for examples/parallel_import.py that dies halfway through one shard, with
creates still in flight, as a process killed by the OOM killer or a deploy would."""

from __future__ import annotations

import os

from parallel_import import Report, Shard, import_shard, to_item, worker_client

DYING_SHARD = 52
"""The first line of the shard whose worker dies: the second shard of 50 rows."""


def import_shard_or_die(shard: Shard) -> Report:
    if shard.first_line != DYING_SHARD:
        return import_shard(shard)

    def die_halfway(done: int, total: int | None) -> None:
        if done >= len(shard.rows) // 2:
            os._exit(1)

    records = worker_client().performance.learning_records
    records.create_many(map(to_item, shard.rows), concurrency=8, on_progress=die_halfway)
    raise AssertionError("the worker should have died halfway through its shard")
