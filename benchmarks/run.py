"""edm-sdk benchmarks: per-call overhead against floors, import time, memory, concurrency.

    python benchmarks/run.py            # the full run recorded in docs/performance.md
    python benchmarks/run.py --quick    # a few small rounds: proves the suite runs (< 30 s)

Everything runs in this one process (import times in fresh child processes), the overhead rows
interleaved in rounds so that machine noise cancels in the ratios. The table is printed and the
results are saved as JSON under benchmarks/results/ (git-ignored). Nothing here asserts a
timing; the table says whether each target holds.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import gc
import gzip
import importlib.util
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pydantic
import rate_limited  # the bulk rows over a served fake, next to this file
from plain import PlainRecord  # benchmarks/plain.py, next to this file
from typing_extensions import TypedDict

import edm_client
from edm_client import AsyncClient, Client
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
BASE_URL = "https://edm.bench.test"
PATH = "/api/v1/performance/learning-records"
RECORD_ID = "per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C"
RECORD_IDS = [f"per_01JD3W6Z5X6N9V7Q8R2T{n:06d}" for n in range(4096)]
"""The get rows cycle through these, so no per-URL cache can make a repeated id look cheap."""
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"
PERSON_ID = "3f0c2a4e-8d5b-4c1e-9a7f-2b6d1e0c9a85"
LATENCY = 0.020
LAZY = frozenset({"edm_client.testing", "edm_client.cli", "edm_client._cli", "pandas"})
"""Parts that `import edm_client` must not load: they are imported only when used."""
OTEL_ROW = "get, OpenTelemetry installed, no provider set (x the get row)"
FLOOR_P = "floor P: list page of 100 (httpx + TypeAdapter, plain model)"


# -- the fixed, realistic bodies the mock transport answers with ----------------------------------


def _record(n: int) -> dict[str, Any]:
    return {
        "id": f"per_01JD3W6Z5X6N9V7Q8R2T4{n:05d}",
        "tenant_id": "ten_acme",
        "app_id": None,
        "created_at": "2026-03-01T09:30:00.123456Z",
        "updated_at": "2026-03-01T09:30:00.123456Z",
        "created_by": PERSON_ID,
        "updated_by": PERSON_ID,
        "source": "edm",
        "source_type": "api",
        "is_deleted": False,
        "deleted_at": None,
        "deleted_by": None,
        "schema_version": 1,
        "person_id": PERSON_ID,
        "title": "AWS Certified Solutions Architect - Associate",
        "provider": "AWS",
        "completed_at": "2026-02-27T16:05:00Z",
        "expires_at": "2029-02-27T00:00:00Z",
        "score": 87.5,
        "passed": True,
        "certification_ref": "https://www.credly.com/badges/5f2b8c1e-0d3a-4f7b-9e61-2c4d8a9b7e10",
        "linked_cohort_id": "coh_01JD3W7A2B3C4D5E6F7G8H9J0K",
        "linked_assessment_id": None,
    }


RECORD_BODY = json.dumps(_record(0)).encode()
PAGE_BODY = json.dumps({"data": [_record(n) for n in range(100)], "next_cursor": None}).encode()
CREATE_ARGS: dict[str, Any] = {
    "person_id": PERSON_ID,
    "title": "AWS Certified Solutions Architect - Associate",
    "provider": "AWS",
    "completed_at": datetime(2026, 2, 27, 16, 5, tzinfo=timezone.utc),
    "expires_at": "2029-02-27",
    "score": 87.5,
    "passed": True,
    "certification_ref": "https://www.credly.com/badges/5f2b8c1e-0d3a-4f7b-9e61-2c4d8a9b7e10",
    "linked_cohort_id": "coh_01JD3W7A2B3C4D5E6F7G8H9J0K",
}
CREATE_BODY = json.dumps(
    {**CREATE_ARGS, "completed_at": "2026-02-27T16:05:00Z"}, separators=(",", ":")
).encode()
JSON_HEADERS = {
    "Content-Type": "application/json",
    "X-Request-ID": "req_01JD3W8B2C3D4E5F6G7H8J9K0M",
}


def _answer(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        return httpx.Response(201, headers=JSON_HEADERS, content=RECORD_BODY)
    if request.url.path == PATH:
        return httpx.Response(200, headers=JSON_HEADERS, content=PAGE_BODY)
    return httpx.Response(200, headers=JSON_HEADERS, content=RECORD_BODY)


def _streaming(content_encoding: str | None) -> httpx.MockTransport:
    """A transport that answers a get with a body to be read as a stream, as a socket's is
    (the one above hands over bodies already read), optionally compressed."""
    body = RECORD_BODY if content_encoding is None else gzip.compress(RECORD_BODY)
    headers = {**JSON_HEADERS, **({"Content-Encoding": "gzip"} if content_encoding else {})}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))

    return httpx.MockTransport(answer)


class _Envelope(TypedDict):
    data: list[LearningRecord]
    next_cursor: str | None


ENVELOPE = pydantic.TypeAdapter(_Envelope)


class _PlainEnvelope(TypedDict):
    data: list[PlainRecord]
    next_cursor: str | None


PLAIN_ENVELOPE = pydantic.TypeAdapter(_PlainEnvelope)
"""Floor P: the page as a plain pydantic model of the same fields parses it (plain.py)."""


# -- interleaved overhead rows --------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    run: Callable[[int], float]
    """Runs the operation n times, returns the seconds taken."""
    floor: str | None = None
    floor_a: str | None = None
    target: float | None = None
    floor_plain: str | None = None
    """Floor P, the plain model's, when the row has one; its target is `target_plain`."""
    target_plain: float | None = None
    n: int = 0
    samples: list[float] = field(default_factory=list)


# The overhead rows are pure CPU work (the transport answers at once), so they are timed in
# process CPU time: other programs on the machine then slow them much less than wall time.
cpu_clock = time.process_time


def _sync_bench(op: Callable[[], object]) -> Callable[[int], float]:
    def run(n: int) -> float:
        started = cpu_clock()
        for _ in range(n):
            op()
        return cpu_clock() - started

    return run


def _async_bench(
    loop: asyncio.AbstractEventLoop, op: Callable[[], Awaitable[object]]
) -> Callable[[int], float]:
    async def batch(n: int) -> float:
        started = cpu_clock()
        for _ in range(n):
            await op()
        return cpu_clock() - started

    def run(n: int) -> float:
        return loop.run_until_complete(batch(n))

    return run


def _row_with_floors(
    what: str,
    target: float,
    op: Callable[[], object],
    floor_a: Callable[[], object],
    floor_b: Callable[[], object],
    *,
    name: str | None = None,
    floor_b_parse: str = "model_validate_json",
) -> list[Bench]:
    """Floor A, floor B and the SDK's row measured against them."""
    a = f"floor A: {what} (httpx + json.loads)"
    b = f"floor B: {what} (httpx + {floor_b_parse})"
    return [
        Bench(a, _sync_bench(floor_a)),
        Bench(b, _sync_bench(floor_b)),
        Bench(name or what, _sync_bench(op), b, a, target),
    ]


def overhead_benches(loop: asyncio.AbstractEventLoop) -> tuple[list[Bench], Callable[[], None]]:
    transport = httpx.MockTransport(_answer)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    raw = httpx.Client(transport=transport, base_url=BASE_URL, headers=headers)
    araw = httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)
    # tracing=False is the path of a client without OpenTelemetry installed (the dev tools
    # install it); the OpenTelemetry row below measures what having it installed costs.
    client = Client(
        api_key=TOKEN,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=transport),
        tracing=False,
    )
    if importlib.util.find_spec("opentelemetry") is not None:
        # The OpenTelemetry row measures a process where something imported it (until then a
        # client does not load it at all); the other rows pass tracing=False.
        importlib.import_module("opentelemetry.trace")
    traced = Client(api_key=TOKEN, base_url=BASE_URL, http_client=httpx.Client(transport=transport))
    aclient = AsyncClient(
        api_key=TOKEN,
        base_url=BASE_URL,
        http_client=httpx.AsyncClient(transport=transport),
        tracing=False,
    )
    provided = Client(
        api_key=lambda: TOKEN,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=transport),
        tracing=False,
    )
    records = client.performance.learning_records
    arecords = aclient.performance.learning_records
    streamed = {
        encoding: (
            httpx.Client(transport=_streaming(encoding), base_url=BASE_URL, headers=headers),
            Client(
                api_key=TOKEN,
                base_url=BASE_URL,
                http_client=httpx.Client(transport=_streaming(encoding)),
                tracing=False,
            ),
        )
        for encoding in (None, "gzip")
    }
    record_paths = itertools.cycle([f"{PATH}/{record_id}" for record_id in RECORD_IDS])
    record_ids = itertools.cycle(RECORD_IDS)
    post_headers = {"Content-Type": "application/json"}
    list_params = {"limit": "100"}

    def floor_a_get() -> object:
        return json.loads(raw.get(next(record_paths)).content)

    def floor_b_get() -> object:
        return LearningRecord.model_validate_json(raw.get(next(record_paths)).content)

    def floor_a_create() -> object:
        return json.loads(raw.post(PATH, content=CREATE_BODY, headers=post_headers).content)

    def floor_b_create() -> object:
        response = raw.post(PATH, content=CREATE_BODY, headers=post_headers)
        return LearningRecord.model_validate_json(response.content)

    def floor_a_list() -> object:
        return sum(1 for _ in json.loads(raw.get(PATH, params=list_params).content)["data"])

    def floor_b_list() -> object:
        body = ENVELOPE.validate_json(raw.get(PATH, params=list_params).content)
        return sum(1 for _ in body["data"])

    def floor_p_list() -> object:
        body = PLAIN_ENVELOPE.validate_json(raw.get(PATH, params=list_params).content)
        return sum(1 for _ in body["data"])

    def sdk_list() -> object:
        return sum(1 for _ in records.list(limit=100))

    async def floor_b_aget() -> object:
        return LearningRecord.model_validate_json((await araw.get(next(record_paths))).content)

    def floor_b_get_x10() -> object:
        for _ in range(10):
            floor_b_get()
        return None

    def sdk_with_options_x10() -> object:
        copy = client.with_options(timeout=10.0).performance.learning_records
        for _ in range(10):
            copy.get(next(record_ids))
        return None

    def streamed_rows(encoding: str | None) -> list[Bench]:
        raw_http, sdk = streamed[encoding]
        what = "get, body streamed" + (f" ({encoding})" if encoding else "")
        floor = f"floor B: {what}"

        def floor_b() -> object:
            return LearningRecord.model_validate_json(raw_http.get(next(record_paths)).content)

        sdk_records = sdk.performance.learning_records
        return [
            Bench(floor, _sync_bench(floor_b)),
            Bench(what, _sync_bench(lambda: sdk_records.get(next(record_ids))), floor, None, 1.15),
        ]

    get_a, get_b = "floor A: get (httpx + json.loads)", "floor B: get (httpx + model_validate_json)"
    list_rows = _row_with_floors(
        "list page of 100",
        1.10,
        sdk_list,
        floor_a_list,
        floor_b_list,
        name="list page of 100, iterated",
        floor_b_parse="TypeAdapter",
    )
    floor_p = Bench(FLOOR_P, _sync_bench(floor_p_list))
    list_rows[-1].floor_plain, list_rows[-1].target_plain = FLOOR_P, 1.05
    benches = [
        *_row_with_floors(
            "get", 1.15, lambda: records.get(next(record_ids)), floor_a_get, floor_b_get
        ),
        *_row_with_floors(
            "create", 1.25, lambda: records.create(**CREATE_ARGS), floor_a_create, floor_b_create
        ),
        *list_rows[:-1],
        floor_p,
        list_rows[-1],
        Bench("floor B: async get", _async_bench(loop, floor_b_aget)),
        Bench(
            "async get",
            _async_bench(loop, lambda: arecords.get(next(record_ids))),
            "floor B: async get",
            None,
            1.15,
        ),
        Bench(
            "get, api_key=callable (asked every request)",
            _sync_bench(lambda: provided.performance.learning_records.get(next(record_ids))),
            get_b,
            get_a,
        ),
        Bench(
            "with_raw_response.get + parse()",
            _sync_bench(lambda: records.with_raw_response.get(next(record_ids)).parse()),
            get_b,
            get_a,
        ),
        *streamed_rows(None),
        *streamed_rows("gzip"),
        *(
            [
                Bench(
                    OTEL_ROW,
                    _sync_bench(lambda: traced.performance.learning_records.get(next(record_ids))),
                    "get",
                    None,
                    1.05,
                )
            ]
            if importlib.util.find_spec("opentelemetry") is not None
            else []
        ),
        Bench("floor B: 10 gets", _sync_bench(floor_b_get_x10)),
        Bench(
            "with_options(timeout=10) copy, 10 gets",
            _sync_bench(sdk_with_options_x10),
            "floor B: 10 gets",
        ),
    ]

    def close() -> None:
        raw.close()
        client.close()
        for raw_http, sdk in streamed.values():
            raw_http.close()
            sdk.close()
        traced.close()
        provided.close()
        loop.run_until_complete(araw.aclose())
        loop.run_until_complete(aclient.close())

    return benches, close


def calibrate(bench: Bench, batch_seconds: float) -> None:
    """Warm up, then pick how many operations make one batch last about `batch_seconds`."""
    bench.run(1)  # a first call may import or build what later calls reuse: not one to size by
    n = 1
    while True:
        # The fastest of three: one slow batch (a collection, a first-time build) sized a row
        # once at 27 operations a batch instead of 650, and batches that short measure slower.
        elapsed = min(bench.run(n) for _ in range(3))
        if elapsed >= batch_seconds / 10 or n >= 1_000_000:
            break
        n *= 4
    bench.n = max(1, round(n * batch_seconds / elapsed))


def run_rounds(benches: list[Bench], rounds: int) -> list[dict[str, float]]:
    """Each round runs every bench once; the order rotates so no bench always goes first."""
    per_round: list[dict[str, float]] = []
    for r in range(rounds):
        order = benches[r % len(benches) :] + benches[: r % len(benches)]
        if r % 2:
            order.reverse()
        times: dict[str, float] = {}
        for bench in order:
            gc.collect()
            per_op = bench.run(bench.n) / bench.n
            bench.samples.append(per_op)
            times[bench.name] = per_op
        per_round.append(times)
    return per_round


def overhead_rows(benches: list[Bench], per_round: list[dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for bench in benches:
        row: dict[str, Any] = {
            "operation": bench.name,
            "ops_per_batch": bench.n,
            "median_us": statistics.median(bench.samples) * 1e6,
            "min_us": min(bench.samples) * 1e6,
            "max_us": max(bench.samples) * 1e6,
            "floor": bench.floor,
            "target": bench.target,
        }
        if bench.target_plain is not None:
            row["target_plain"] = bench.target_plain
        for key, floor in (
            ("ratio", bench.floor),
            ("ratio_floor_a", bench.floor_a),
            ("ratio_plain", bench.floor_plain),
        ):
            if floor is not None:
                ratios = [times[bench.name] / times[floor] for times in per_round]
                row[key] = statistics.median(ratios)
                row[key + "_min"] = min(ratios)
                row[key + "_max"] = max(ratios)
        rows.append(row)
    return rows


# -- import time ----------------------------------------------------------------------------------

_IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import {what}; "
    "print(time.perf_counter() - t); import sys; print(' '.join(sorted(sys.modules)))"
)


def _byte_compile() -> None:
    # httpx and pydantic were byte-compiled when pip installed them, as edm_client is when
    # installed from a wheel; an editable install may have no bytecode (PYTHONDONTWRITEBYTECODE)
    # and would then compile its sources in every process. Compile them once, first.
    compileall.compile_dir(Path(edm_client.__file__).parent, quiet=1)


def _child(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `command` in a fresh process: its wall and CPU (user + system) seconds, its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stdout


def import_times(runs: int) -> dict[str, Any]:
    """`import edm_client` vs `import httpx, pydantic`, alternating fresh processes."""
    cases = {
        "edm_client": "edm_client",
        "httpx, pydantic": "httpx, pydantic",
        # What the first call adds: the resources, the models and pydantic's model machinery.
        "edm_client + resources": "edm_client.resources.performance",
    }
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    inside: dict[str, list[float]] = {k: [] for k in cases}
    modules: dict[str, set[str]] = {}
    _byte_compile()
    for _ in range(runs + 1):  # the first pair warms the file cache and is not counted
        for name, what in cases.items():
            seconds, cpu_seconds, stdout = _child(
                [sys.executable, "-c", _IMPORT_PROBE.format(what=what)], dict(os.environ)
            )
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            first, second = stdout.splitlines()
            inside[name].append(float(first))
            modules[name] = set(second.split())
    result: dict[str, Any] = {"runs": runs}
    for name in cases:
        result[name] = {
            "process_median_ms": statistics.median(wall[name][1:]) * 1e3,
            "process_min_ms": min(wall[name][1:]) * 1e3,
            "process_max_ms": max(wall[name][1:]) * 1e3,
            "process_cpu_median_ms": statistics.median(cpu[name][1:]) * 1e3,
            "import_median_ms": statistics.median(inside[name][1:]) * 1e3,
            "process_ratio": statistics.median(
                a / b for a, b in zip(wall[name][1:], wall["httpx, pydantic"][1:], strict=True)
            ),
        }
    pairs = list(zip(wall["edm_client"][1:], wall["httpx, pydantic"][1:], strict=True))
    result["process_ratio"] = statistics.median(a / b for a, b in pairs)
    pairs = list(zip(cpu["edm_client"][1:], cpu["httpx, pydantic"][1:], strict=True))
    result["process_cpu_ratio"] = statistics.median(a / b for a, b in pairs)
    pairs = list(zip(inside["edm_client"][1:], inside["httpx, pydantic"][1:], strict=True))
    result["import_ratio"] = statistics.median(a / b for a, b in pairs)
    extra = modules["edm_client"] - modules["httpx, pydantic"]
    result["modules_added"] = sorted(extra)
    result["lazy_parts_loaded"] = sorted(
        m for m in modules["edm_client"] if m.split(".")[0] in LAZY or m.rsplit(".", 1)[0] in LAZY
    )
    return result


# -- time to the first request --------------------------------------------------------------------

_FIRST_REQUEST = """\
import os
from edm_client import Client
with Client(api_key=os.environ["EDM_API_KEY"], base_url=os.environ["EDM_BASE_URL"]) as client:
    client.performance.learning_records.get(os.environ["EDM_RECORD_ID"])
"""
"""A script's first call: what a fresh process pays from `import edm_client` to its record."""
FIRST_REQUEST_CASES = {
    "edm_client": [sys.executable, "-c", _FIRST_REQUEST],
    "httpx + pydantic (plain.py)": [sys.executable, str(ROOT / "plain.py")],
}


def first_request(runs: int) -> dict[str, Any]:
    """import + `Client` + one `get` against plain.py doing the same with httpx and pydantic:
    alternating fresh processes, each fetching one record from a fake served over loopback."""
    _byte_compile()
    server = FakeServer()
    with server.serve() as url, server.client() as client:
        record = client.performance.learning_records.create(**CREATE_ARGS)
        env = {
            **os.environ,
            "EDM_BASE_URL": url,
            "EDM_API_KEY": server.issue_token(expires_in=24 * 3600.0),
            "EDM_RECORD_ID": record.id,
        }
        wall: dict[str, list[float]] = {name: [] for name in FIRST_REQUEST_CASES}
        cpu: dict[str, list[float]] = {name: [] for name in FIRST_REQUEST_CASES}
        for _ in range(runs + 1):  # the first pair warms the file cache and is not counted
            for name, command in FIRST_REQUEST_CASES.items():
                seconds, cpu_seconds, _ = _child(command, env)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
    sdk, raw = FIRST_REQUEST_CASES
    result: dict[str, Any] = {"runs": runs}
    for name in FIRST_REQUEST_CASES:
        result[name] = {
            "wall_median_ms": statistics.median(wall[name][1:]) * 1e3,
            "wall_min_ms": min(wall[name][1:]) * 1e3,
            "wall_max_ms": max(wall[name][1:]) * 1e3,
            "cpu_median_ms": statistics.median(cpu[name][1:]) * 1e3,
        }
    for key, times in (("ratio", wall), ("cpu_ratio", cpu)):
        ratios = [a / b for a, b in zip(times[sdk][1:], times[raw][1:], strict=True)]
        result[key] = statistics.median(ratios)
        result[key + "_min"], result[key + "_max"] = min(ratios), max(ratios)
    result["target"] = 1.2
    return result


# -- memory over a long listing -------------------------------------------------------------------


def _seed(server: FakeServer, count: int) -> None:
    """Store `count` records through the fake's own HTTP handling (raw httpx, no SDK)."""
    token = server.issue_token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"person_id": PERSON_ID, "title": "Kubernetes Fundamentals"}).encode()
    with httpx.Client(transport=server.transport, base_url=server.base_url) as raw:
        for _ in range(count):
            raw.post(PATH, content=body, headers=headers).raise_for_status()


def listing_peak(count: int) -> tuple[float, int]:
    """Peak bytes traced while iterating `count` records page by page, and the records seen."""
    server = FakeServer()
    _seed(server, count)
    with server.client() as client:
        gc.collect()
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            seen = 0
            for _record in client.performance.learning_records.list(limit=100):
                seen += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return (peak - base) / 1e6, seen


def memory(large: int, small: int) -> dict[str, Any]:
    small_mb, small_seen = listing_peak(small)
    large_mb, large_seen = listing_peak(large)
    return {
        "method": "tracemalloc peak over the iteration, minus what was traced when it began",
        "small_records": small_seen,
        "small_peak_mb": small_mb,
        "large_records": large_seen,
        "large_peak_mb": large_mb,
        "growth_mb": large_mb - small_mb,
        "target_mb": 10.0,
    }


# -- concurrency against a slow transport ---------------------------------------------------------


class _SlowAsyncTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(LATENCY)
        await request.aread()
        status = 201 if request.method == "POST" else 200
        return httpx.Response(status, headers=JSON_HEADERS, content=RECORD_BODY)


class _SlowTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(LATENCY)
        request.read()
        status = 201 if request.method == "POST" else 200
        return httpx.Response(status, headers=JSON_HEADERS, content=RECORD_BODY)


def concurrent_gets(
    loop: asyncio.AbstractEventLoop, total: int, concurrency: int
) -> dict[str, Any]:
    async def main() -> float:
        http = httpx.AsyncClient(transport=_SlowAsyncTransport())
        async with AsyncClient(api_key=TOKEN, base_url=BASE_URL, http_client=http) as client:
            records = client.performance.learning_records
            ids = iter(RECORD_IDS[n % len(RECORD_IDS)] for n in range(total))

            async def worker() -> None:
                for record_id in ids:  # the workers share one iterator: `total` gets in all
                    await records.get(record_id)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started

    ideal = total / concurrency * LATENCY
    seconds = [loop.run_until_complete(main()) for _ in range(3)]
    best = statistics.median(seconds)
    return {
        "requests": total,
        "concurrency": concurrency,
        "latency_s": LATENCY,
        "median_s": best,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "ideal_s": ideal,
        "ratio": best / ideal,
        "target": 1.3,
    }


def create_many(loop: asyncio.AbstractEventLoop, total: int, concurrency: int) -> dict[str, Any]:
    """The bulk create row, measured only when `create_many` exists in this SDK."""
    from edm_client.resources.performance.learning_records import LearningRecords

    if not hasattr(LearningRecords, "create_many"):
        return {"skipped": "create_many does not exist in this version of edm-sdk"}
    items = [{**CREATE_ARGS, "title": f"Course {n}"} for n in range(total)]
    ideal = total / concurrency * LATENCY

    def sync_run() -> float:
        http = httpx.Client(transport=_SlowTransport())
        with Client(api_key=TOKEN, base_url=BASE_URL, http_client=http) as client:
            started = time.perf_counter()
            records: Any = client.performance.learning_records  # create_many may not exist
            result = records.create_many(items, concurrency=concurrency)
            elapsed = time.perf_counter() - started
        if not result.ok:
            raise RuntimeError(f"create_many failed: {result!r}")
        return elapsed

    async def async_run() -> float:
        http = httpx.AsyncClient(transport=_SlowAsyncTransport())
        async with AsyncClient(api_key=TOKEN, base_url=BASE_URL, http_client=http) as client:
            started = time.perf_counter()
            records: Any = client.performance.learning_records
            result = await records.create_many(items, concurrency=concurrency)
            elapsed = time.perf_counter() - started
        if not result.ok:
            raise RuntimeError(f"create_many failed: {result!r}")
        return elapsed

    out: dict[str, Any] = {"items": total, "concurrency": concurrency, "ideal_s": ideal}
    for name, run in (("sync", sync_run), ("async", lambda: loop.run_until_complete(async_run()))):
        seconds = [run() for _ in range(3)]
        out[name] = {
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
            "ratio": statistics.median(seconds) / ideal,
            "target": 1.3,
        }
    return out


# -- FakeServer throughput ------------------------------------------------------------------------


def fake_throughput(seconds: float, rounds: int) -> dict[str, Any]:
    """create + get + a list page (limit 20, the default) through a Client, in a loop.

    Operations per second of this process's CPU time: the rate on one core, whatever else the
    machine is doing (the wall-clock rate is saved too)."""
    server = FakeServer()
    rates: list[float] = []
    wall_rates: list[float] = []
    with server.client() as client:
        records = client.performance.learning_records
        for _ in range(200):  # a store that is not empty, so list pages are full
            records.create(person_id=PERSON_ID, title="Warm-up")
        for _ in range(rounds):
            ops = 0
            started = time.perf_counter()
            cpu_started = cpu_clock()
            while cpu_clock() - cpu_started < seconds:
                created = records.create(person_id=PERSON_ID, title="Kubernetes Fundamentals")
                records.get(created.id)
                next(iter(records.list(person_id=PERSON_ID).iter_pages()))
                ops += 3
            rates.append(ops / (cpu_clock() - cpu_started))
            wall_rates.append(ops / (time.perf_counter() - started))
    return {
        "ops_per_s_median": statistics.median(rates),
        "ops_per_s_min": min(rates),
        "ops_per_s_max": max(rates),
        "wall_ops_per_s_median": statistics.median(wall_rates),
        "records_at_end": len(server.records()),
        "target_ops_per_s": 3000,
    }


# -- report ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "edm_client": edm_client.__version__,
        "httpx": httpx.__version__,
        "pydantic": pydantic.VERSION,
    }


_verdicts = True
"""Off in quick mode: a few tiny rounds say nothing about a target."""


def _verdict(ratio: float | None, target: float | None, higher_is_better: bool = False) -> str:
    if ratio is None or target is None or not _verdicts:
        return ""
    ok = ratio >= target if higher_is_better else ratio <= target
    return "meets" if ok else "MISSES"


def markdown_report(results: dict[str, Any]) -> str:
    """The same figures as tables for docs/performance.md."""
    m = results["machine"]
    out = [
        f"Run {results['date']}, `{results['command']}`, {results['rounds']} rounds, "
        f"{results['seconds']:.0f} s. Machine: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, {m['os']}; {m['implementation']} {m['python']}, "
        f"httpx {m['httpx']}, pydantic {m['pydantic']}, edm-sdk {m['edm_client']}.",
        "",
        "| operation | median µs (CPU) | min | max | x floor B | x floor A | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["overhead"]:
        ratio = f"**{row['ratio']:.3f}**" if "ratio" in row else ""
        ratio_a = f"{row['ratio_floor_a']:.3f}" if "ratio_floor_a" in row else ""
        target = (
            f"≤ {row['target']:.2f} {_verdict(row.get('ratio'), row['target'])}"
            if row["target"]
            else ""
        )
        out.append(
            f"| {row['operation']} | {row['median_us']:.1f} | {row['min_us']:.1f} | "
            f"{row['max_us']:.1f} | {ratio} | {ratio_a} | {target} |"
        )
    imp = results["import"]
    out += [
        "",
        f"| import, fresh process (median of {imp['runs']}) | wall ms | min | max | CPU ms | "
        "import statement ms | x `import httpx, pydantic` (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("edm_client", "httpx, pydantic", "edm_client + resources"):
        i = imp[name]
        out.append(
            f"| `{name}` | {i['process_median_ms']:.1f} | {i['process_min_ms']:.1f} | "
            f"{i['process_max_ms']:.1f} | {i['process_cpu_median_ms']:.1f} | "
            f"{i['import_median_ms']:.1f} | {i['process_ratio']:.3f} |"
        )
    first = results["first_request"]
    out += [
        "",
        f"| first request, fresh process (median of {first['runs']}) | wall ms | min | max | "
        "CPU ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in FIRST_REQUEST_CASES:
        f = first[name]
        out.append(
            f"| {name} | {f['wall_median_ms']:.1f} | {f['wall_min_ms']:.1f} | "
            f"{f['wall_max_ms']:.1f} | {f['cpu_median_ms']:.1f} |"
        )
    mem, con, fake = results["memory"], results["concurrency"], results["fake_throughput"]
    out += ["", "| what | measured | target |", "|---|---|---|"]
    out += [
        f"| {row['operation']} ÷ floor P (a plain pydantic model, same rounds) | "
        f"**{row['ratio_plain']:.3f}** ({row['ratio_plain_min']:.3f}-"
        f"{row['ratio_plain_max']:.3f}) | ≤ {row['target_plain']:.2f} "
        f"{_verdict(row['ratio_plain'], row['target_plain'])} |"
        for row in results["overhead"]
        if "ratio_plain" in row
    ]
    out += [
        f"| `import edm_client` ÷ `import httpx, pydantic`, whole process | "
        f"**{imp['process_ratio']:.3f}** (CPU {imp['process_cpu_ratio']:.3f}) | ≤ 1.25 "
        f"{_verdict(imp['process_ratio'], 1.25)} |",
        f"| first request (import, `Client`, one `get` over loopback) ÷ the same with httpx + "
        f"pydantic, whole process | **{first['ratio']:.3f}** (CPU {first['cpu_ratio']:.3f}) | "
        f"≤ {first['target']:.2f} {_verdict(first['ratio'], first['target'])} |",
        f"| peak memory (tracemalloc) iterating {mem['large_records']:,} vs "
        f"{mem['small_records']:,} records from the fake | {mem['large_peak_mb']:.2f} MB vs "
        f"{mem['small_peak_mb']:.2f} MB: **+{mem['growth_mb']:.2f} MB** | ≤ 10 MB "
        f"{_verdict(mem['growth_mb'], 10.0)} |",
        f"| {con['requests']:,} async gets, concurrency {con['concurrency']}, "
        f"{con['latency_s'] * 1000:.0f} ms latency (wall) | {con['median_s']:.3f} s "
        f"({con['min_s']:.3f}-{con['max_s']:.3f}), **{con['ratio']:.3f}** x ideal "
        f"{con['ideal_s']:.2f} s | ≤ 1.30 {_verdict(con['ratio'], 1.3)} |",
    ]
    bulk = results["create_many"]
    if "skipped" in bulk:
        out.append(
            f"| `create_many` of 1,000, concurrency 16 | skipped: {bulk['skipped']} | ≤ 1.30 |"
        )
    else:
        for name in ("sync", "async"):
            b = bulk[name]
            out.append(
                f"| `create_many` ({name}) of {bulk['items']:,}, concurrency "
                f"{bulk['concurrency']}, 20 ms latency | {b['median_s']:.3f} s, "
                f"**{b['ratio']:.3f}** x ideal {bulk['ideal_s']:.2f} s | ≤ 1.30 "
                f"{_verdict(b['ratio'], 1.3)} |"
            )
    out.append(
        f"| FakeServer in-process: create + get + list page, per CPU second | "
        f"**{fake['ops_per_s_median']:,.0f}** ops/s ({fake['ops_per_s_min']:,.0f}-"
        f"{fake['ops_per_s_max']:,.0f}) | ≥ 3,000 "
        f"{_verdict(fake['ops_per_s_median'], 3000, higher_is_better=True)} |"
    )
    if "bulk_rate_limited" in results:  # absent from results saved before these rows existed
        out.append(
            rate_limited.markdown(
                results["bulk_rate_limited"], results["bulk_unlimited"], _verdict
            ).rstrip("\n")
        )
    return "\n".join(out) + "\n"


def print_report(results: dict[str, Any]) -> None:
    print(f"edm-sdk benchmarks ({results['mode']})\n")
    print(markdown_report(results))
    if results["mode"] == "quick":
        print("quick mode: too few rounds for the figures to mean anything; nothing asserted.")


@dataclass(frozen=True)
class Settings:
    rounds: int
    batch_seconds: float
    import_runs: int
    memory_large: int
    memory_small: int
    concurrent_total: int
    bulk_total: int
    fake_seconds: float
    fake_rounds: int
    limited_total: int
    unlimited_total: int


FULL = Settings(25, 0.08, 21, 100_000, 1_000, 1_000, 1_000, 0.5, 5, 5_000, 2_000)
QUICK = Settings(2, 0.005, 2, 2_000, 200, 100, 64, 0.1, 2, 60, 40)
BULK_RATE_LIMIT = 200.0
"""Requests per second per tenant the served fake allows in the rate-limited bulk rows."""
BULK_CONCURRENCY = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few small rounds (< 30 s)")
    parser.add_argument("--rounds", type=int, help="rounds of the overhead rows")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    global _verdicts  # noqa: PLW0603
    _verdicts = not args.quick
    rounds = args.rounds or settings.rounds
    started = time.perf_counter()
    loop = asyncio.new_event_loop()
    try:
        benches, close = overhead_benches(loop)
        for bench in benches:
            calibrate(bench, settings.batch_seconds)
        per_round = run_rounds(benches, rounds)
        close()
        results: dict[str, Any] = {
            "mode": "quick" if args.quick else "full",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
            "machine": machine(),
            "rounds": rounds,
            "overhead": overhead_rows(benches, per_round),
            "import": import_times(settings.import_runs),
            "first_request": first_request(settings.import_runs),
            "memory": memory(settings.memory_large, settings.memory_small),
            "concurrency": concurrent_gets(loop, settings.concurrent_total, 50),
            "create_many": create_many(loop, settings.bulk_total, 16),
            "fake_throughput": fake_throughput(settings.fake_seconds, settings.fake_rounds),
            "bulk_rate_limited": rate_limited.under_rate_limit(
                settings.limited_total, BULK_RATE_LIMIT, BULK_CONCURRENCY
            ),
            "bulk_unlimited": rate_limited.without_limit(
                settings.unlimited_total, BULK_CONCURRENCY
            ),
        }
    finally:
        loop.close()
    results["seconds"] = time.perf_counter() - started
    print_report(results)
    output = args.output or RESULTS / f"{results['mode']}-{_stamp()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    (output.parent / f"latest-{results['mode']}.json").write_text(output.read_text())
    output.with_suffix(".md").write_text(markdown_report(results))
    print(f"\nresults: {output} ({results['seconds']:.1f} s)")
    return 0


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


if __name__ == "__main__":
    sys.exit(main())
