"""The bulk rows of benchmarks/run.py: `create_many` over a served fake, with and without a limit.

The fake runs as its own process (`python -m edm_client.testing serve`), as a server would, so
client and server do not share an interpreter lock. Everything is counted on the server, through
its control API: records stored (lost or doubled items), and POSTs received (429s answered).

- Under a rate limit (a token bucket per tenant, e.g. 200 requests/s, bursts of 200): the
  adaptive `create_many`, sync and async, and the fixed-concurrency sends `create_many` made
  before it adapted (a pool of `concurrency` threads, each 429 retried by the pipeline after
  its `Retry-After`). The ideal is what the bucket allows for this many items:
  `(items - burst) / rate` seconds.
- Without a limit: `create_many` against the served fake's own capacity for the same requests,
  measured with the lightest client there is (`http.client` connections, bodies encoded
  beforehand), with the CPU seconds each process spent, to say what bounds the rate.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from edm_client import AsyncClient, Client, EDMError

PATH = "/api/v1/performance/learning-records"
PERSON_ID = "3f0c2a4e-8d5b-4c1e-9a7f-2b6d1e0c9a85"


@contextmanager
def served_fake(rate: float | None) -> Iterator[dict[str, Any]]:
    """A fresh fake in its own process; yields its ready line (`base_url`, `token`, ...)."""
    command = [sys.executable, "-m", "edm_client.testing", "serve", "--json"]
    if rate is not None:
        command += ["--rate-limit", f"{rate:g}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake did not start: {process.communicate()[1]}")
        ready: dict[str, Any] = json.loads(line)
        ready["pid"] = process.pid
        yield ready
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        if process.returncode:
            raise RuntimeError(f"the fake exited with {process.returncode}: {errors}")


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far; 0.0 where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _counted(ready: dict[str, Any], titles: list[str]) -> dict[str, int]:
    """What the server stored and received, against the titles sent."""
    with httpx.Client(base_url=ready["base_url"], trust_env=False, timeout=60) as http:
        records = http.get("/_fake/records").json()["data"]
        received = http.get("/_fake/requests").json()["data"]
    stored = Counter(r["title"] for r in records)
    posts = sum(1 for r in received if r["method"] == "POST")
    return {
        "stored": len(records),
        "lost": sum(1 for title in titles if title not in stored),
        "doubled": sum(count - 1 for count in stored.values() if count > 1),
        "posts": posts,
        "refused": posts - len(records),  # no other fault is injected: every other POST is 429
    }


def _items(total: int) -> list[dict[str, Any]]:
    return [{"person_id": PERSON_ID, "title": f"Course {n}", "score": 87.5} for n in range(total)]


def _sync_adaptive(ready: dict[str, Any], items: list[dict[str, Any]], concurrency: int) -> int:
    http = httpx.Client(trust_env=False)
    with Client(api_key=ready["token"], base_url=ready["base_url"], http_client=http) as client:
        result = client.performance.learning_records.create_many(items, concurrency=concurrency)
    return result.failed_count


def _async_adaptive(ready: dict[str, Any], items: list[dict[str, Any]], concurrency: int) -> int:
    async def main() -> int:
        http = httpx.AsyncClient(trust_env=False)
        async with AsyncClient(
            api_key=ready["token"], base_url=ready["base_url"], http_client=http
        ) as client:
            records = client.performance.learning_records
            result = await records.create_many(items, concurrency=concurrency)
        return result.failed_count

    return asyncio.run(main())


def _fixed(ready: dict[str, Any], items: list[dict[str, Any]], concurrency: int) -> int:
    """What `create_many` did before it adapted: a fixed pool; the pipeline retries each 429."""
    http = httpx.Client(trust_env=False)
    with Client(api_key=ready["token"], base_url=ready["base_url"], http_client=http) as client:
        records = client.performance.learning_records

        def create(item: dict[str, Any]) -> bool:
            try:
                records.create(**item)
            except EDMError:
                return False
            return True

        with ThreadPoolExecutor(concurrency) as pool:
            created = sum(pool.map(create, items))
    return len(items) - created


def _raw(ready: dict[str, Any], items: list[dict[str, Any]], concurrency: int) -> int:
    """The same POSTs from the lightest client: one `http.client` connection per thread."""
    url = urlsplit(ready["base_url"])
    bodies = iter([json.dumps(item).encode() for item in items])
    lock = threading.Lock()
    failed = 0

    def worker(number: int) -> None:
        nonlocal failed
        connection = http.client.HTTPConnection(url.hostname or "", url.port)
        headers = {
            "Authorization": f"Bearer {ready['token']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        sent = 0
        while True:
            with lock:
                body = next(bodies, None)
            if body is None:
                break
            sent += 1
            headers["Idempotency-Key"] = f"raw-{number}-{sent}"
            connection.request("POST", PATH, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                with lock:
                    failed += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


_Runner = Callable[[dict[str, Any], list[dict[str, Any]], int], int]


def _measure(ready: dict[str, Any], run: _Runner, total: int, concurrency: int) -> dict[str, Any]:
    """One run against the served fake, emptied first (records, keys, requests, buckets)."""
    httpx.post(ready["control_url"] + "reset", trust_env=False).raise_for_status()
    items = _items(total)
    server_cpu = _server_cpu(ready["pid"])
    client_cpu = time.process_time()
    started = time.perf_counter()
    failed = run(ready, items, concurrency)
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = _server_cpu(ready["pid"]) - server_cpu
    counts = _counted(ready, [item["title"] for item in items])
    return {
        "items": total,
        "concurrency": concurrency,
        "seconds": seconds,
        "items_per_s": total / seconds,
        "failed": failed,
        "client_cpu_s": client_cpu,
        "server_cpu_s": server_cpu,
        **counts,
        "refused_share": counts["refused"] / max(counts["posts"], 1),
    }


_LIMITED_RUNS: list[tuple[str, _Runner, int]] = [
    ("adaptive_sync", _sync_adaptive, 1),
    ("adaptive_async", _async_adaptive, 1),
    ("fixed_sync", _fixed, 1),
    ("adaptive_sync_wide", _sync_adaptive, 4),
    ("fixed_sync_wide", _fixed, 4),
]
"""Each run under the limit: its name, what it runs, and its concurrency as a multiple of the
row's (the wide runs show what a larger window does to the 429s)."""


def under_rate_limit(total: int, rate: float, concurrency: int) -> dict[str, Any]:
    """Adaptive (sync, async) and fixed `create_many` against a fake limited to `rate`/s."""
    burst = math.ceil(rate)  # the fake's default: one second's worth
    ideal = max(total - burst, 0) / rate
    out: dict[str, Any] = {
        "items": total,
        "rate": rate,
        "burst": burst,
        "concurrency": concurrency,
        "ideal_s": ideal,
    }
    with served_fake(rate) as ready:
        for name, run, wider in _LIMITED_RUNS:
            row = _measure(ready, run, total, concurrency * wider)
            row["of_allowed"] = ideal / row["seconds"] if ideal else None
            out[name] = row
    return out


def without_limit(total: int, concurrency: int) -> dict[str, Any]:
    """`create_many` (sync, async) against the served fake's capacity for the same POSTs."""
    out: dict[str, Any] = {"items": total, "concurrency": concurrency}
    with served_fake(None) as ready:
        for name, run in (
            ("capacity_raw", _raw),
            ("adaptive_sync", _sync_adaptive),
            ("adaptive_async", _async_adaptive),
        ):
            out[name] = _measure(ready, run, total, concurrency)
    capacity = out["capacity_raw"]["items_per_s"]
    for name in ("adaptive_sync", "adaptive_async"):
        out[name]["of_capacity"] = out[name]["items_per_s"] / capacity
    return out


def markdown(limited: dict[str, Any], free: dict[str, Any], verdict: Callable[..., str]) -> str:
    """The rows for the report, with `verdict(value, target, higher_is_better)`."""
    lines = [
        "",
        f"| `create_many` of {limited['items']:,} over the served socket, fake limited to "
        f"{limited['rate']:g}/s per tenant (burst {limited['burst']}) | s | items/s | "
        f"x ideal {limited['ideal_s']:.1f} s | 429s / POSTs | lost / doubled | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    names = {
        "adaptive_sync": "adaptive (sync)",
        "adaptive_async": "adaptive (async)",
        "fixed_sync": "fixed, pipeline retries each 429 (before)",
        "adaptive_sync_wide": "adaptive (sync)",
        "fixed_sync_wide": "fixed, pipeline retries each 429 (before)",
    }
    for key, what in names.items():
        row = limited.get(key)
        if row is None:  # results saved before this row existed
            continue
        target = (
            f"≥ 0.90 {verdict(row['of_allowed'], 0.9, True)}, ≤ 5 % "
            f"{verdict(row['refused_share'], 0.05)}"
            if key in ("adaptive_sync", "adaptive_async") and row["of_allowed"] is not None
            else ""
        )
        label = f"{what}, concurrency {row['concurrency']}"
        of_allowed = f"**{row['of_allowed']:.3f}**" if row["of_allowed"] is not None else "-"
        failed = f", {row['failed']} failed" if row["failed"] else ""
        lines.append(
            f"| {label} | {row['seconds']:.2f} | {row['items_per_s']:.0f} | {of_allowed} | "
            f"{row['refused']} / {row['posts']} (**{100 * row['refused_share']:.1f} %**) | "
            f"{row['lost']} / {row['doubled']}{failed} | {target} |"
        )
    lines += [
        "",
        f"| {free['items']:,} creates over the served socket, no limit, concurrency "
        f"{free['concurrency']} | s | items/s | x capacity | CPU s: client / fake | "
        "lost / doubled |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = {
        "capacity_raw": "the fake's capacity: `http.client`, bodies pre-encoded (the ideal)",
        "adaptive_sync": "`create_many` (sync)",
        "adaptive_async": "`create_many` (async)",
    }
    for key, label in names.items():
        row = free[key]
        ratio = f"**{row['of_capacity']:.3f}**" if "of_capacity" in row else "1"
        lines.append(
            f"| {label} | {row['seconds']:.2f} | {row['items_per_s']:.0f} | {ratio} | "
            f"{row['client_cpu_s']:.1f} / {row['server_cpu_s']:.1f} | "
            f"{row['lost']} / {row['doubled']} |"
        )
    return "\n".join(lines) + "\n"
