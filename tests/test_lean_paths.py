"""What the speed work must not change: what `import edm_client` loads, and what each request
carries when headers and URLs are prepared once per client instead of once per call."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import httpx
import pytest

from edm_client import Client, __version__
from edm_client._config import ApiKey

RECORD = {
    "id": "per_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
    "tenant_id": "ten_demo",
    "created_at": "2026-03-01T09:30:00Z",
    "updated_at": "2026-03-01T09:30:00Z",
    "person_id": "p1",
    "title": "Kubernetes Fundamentals",
}

# Loaded only when used: the fake, the command line and its libraries, pandas, asyncio (async
# clients load it when they need it) and pydantic's model machinery (with the first resource).
LAZY_MODULES = (
    "edm_client.testing",
    "edm_client.cli",
    "edm_client._cli",
    "edm_client.__main__",
    "click",
    "rich",
    "typer",
    "pandas",
    "asyncio",
    "pydantic.main",
)


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout))


def test_import_edm_client_loads_no_lazy_part() -> None:
    baseline = _modules_after("import httpx, pydantic")
    loaded = _modules_after("import edm_client") - baseline
    lazy = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in LAZY_MODULES)]
    assert lazy == []


class Recorder:
    """A MockTransport handler that answers like the API and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            return httpx.Response(201, json=RECORD)
        if request.url.path.endswith("learning-records"):
            return httpx.Response(200, json={"data": [RECORD], "next_cursor": None})
        return httpx.Response(200, json=RECORD)


def _client(
    recorder: Recorder, api_key: ApiKey = "token-1", base_url: str = "https://edm.test"
) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    return Client(api_key=api_key, base_url=base_url, http_client=http)


def test_a_token_provider_new_token_is_sent_on_the_next_request() -> None:
    tokens = iter(["token-1", "token-2"])
    recorder = Recorder()
    with _client(recorder, api_key=lambda: next(tokens)) as client:
        client.performance.learning_records.get("a")
        client.performance.learning_records.get("b")
    assert [r.headers["Authorization"] for r in recorder.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_extra_headers_of_one_call_are_not_sent_on_the_next() -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        client.performance.learning_records.get("a", extra_headers={"X-Trace": "1"})
        client.performance.learning_records.get("b")
    assert [r.headers.get("X-Trace") for r in recorder.requests] == ["1", None]


def test_create_headers_are_not_sent_on_a_later_get() -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        client.performance.learning_records.create(person_id="p1", title="Kubernetes")
        client.performance.learning_records.get("a")
    create, get = recorder.requests
    assert create.headers["Content-Type"] == "application/json"
    assert "Idempotency-Key" in create.headers
    assert "Content-Type" not in get.headers
    assert "Idempotency-Key" not in get.headers


def test_every_create_gets_its_own_idempotency_key() -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        for _ in range(3):
            client.performance.learning_records.create(person_id="p1", title="Kubernetes")
    assert len({r.headers["Idempotency-Key"] for r in recorder.requests}) == 3


@pytest.mark.parametrize("base_url", ["https://a.edm.test", "https://b.edm.test/tenant-x/"])
def test_requests_go_to_each_client_base_url(base_url: str) -> None:
    recorder = Recorder()
    with _client(recorder, base_url=base_url) as client:
        client.performance.learning_records.create(person_id="p1", title="Kubernetes")
        client.performance.learning_records.list(limit=5)
        client.performance.learning_records.list(limit=7)
    prefix = base_url.rstrip("/")
    assert [str(r.url) for r in recorder.requests] == [
        f"{prefix}/api/v1/performance/learning-records",
        f"{prefix}/api/v1/performance/learning-records?limit=5",
        f"{prefix}/api/v1/performance/learning-records?limit=7",
    ]


def test_user_agent_names_sdk_version_python_and_platform() -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        client.performance.learning_records.get("a")
    python = ".".join(platform.python_version_tuple()[:2])
    system = platform.system().lower()
    assert recorder.requests[0].headers["User-Agent"] == (
        f"edm-client-python/{__version__} (python {python}; {system})"
    )


def test_each_get_goes_to_its_own_record_url_however_many_records() -> None:
    recorder = Recorder()
    ids = [f"per_{n}" for n in range(600)]
    with _client(recorder) as client:
        for record_id in [*ids, *ids[:3]]:
            client.performance.learning_records.get(record_id)
        client.performance.learning_records.list()
    urls = [str(r.url) for r in recorder.requests]
    expected = [f"https://edm.test/api/v1/performance/learning-records/{i}" for i in ids]
    assert urls == [
        *expected,
        *expected[:3],
        "https://edm.test/api/v1/performance/learning-records",
    ]
