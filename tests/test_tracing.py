"""OpenTelemetry: one CLIENT span per operation with the HTTP client semantic conventions,
a span event per retry, the W3C trace context on each request, two metrics, and nothing secret
in any of them; with OpenTelemetry absent (or `tracing=False`) nothing of it is loaded.

Each test gets fresh global providers (an in-memory span exporter and metric reader), put back
as they were afterwards, since a client traces through the globally configured ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once

from _helpers import (
    COLLECTION,
    MODES,
    Api,
    fake_api,
    inprocess_only,
    iter_strings,
    record_json,
    sleeps_fixture,
)
from edm_client import APIConnectionError, Client, EDMError, HookError, Hooks, NotFoundError
from edm_client.testing import FakeServer

sleeps = sleeps_fixture()

DURATION = "edm.client.operation.duration"
RETRIES = "edm.client.operation.retries"


class Telemetry:
    """The spans and metrics recorded during one test."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        (span,) = self.spans()
        return span

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


def _unset_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The global providers as in a fresh process, put back as they were after the test.

    They can be set once per process; OpenTelemetry's own tests reset them the same way.
    """
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
    # The stand-in for an unset meter provider binds to the first provider set, once.
    monkeypatch.setattr(
        metrics_internal, "_PROXY_METER_PROVIDER", metrics_internal._ProxyMeterProvider()
    )


def _set_providers() -> Telemetry:
    """Global providers recording in memory."""
    recorded = Telemetry()
    trace.set_tracer_provider(recorded.tracer_provider)
    metrics.set_meter_provider(recorded.meter_provider)
    return recorded


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    _unset_providers(monkeypatch)
    recorded = _set_providers()
    yield recorded
    recorded.tracer_provider.shutdown()
    recorded.meter_provider.shutdown()


@pytest.fixture(params=MODES)
async def traced(
    request: pytest.FixtureRequest, server: FakeServer, telemetry: Telemetry
) -> AsyncIterator[Api]:
    """An `Api` of the parametrized mode, made after the providers are in place."""
    api = fake_api(server, request.param)
    yield api
    await api.close()


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# -- spans ---------------------------------------------------------------------------------------


async def test_an_operation_is_one_client_span_with_http_attributes(
    traced: Api, telemetry: Telemetry
) -> None:
    raw = await traced.raw("create")

    span = telemetry.span()
    sent = traced.server.requests[-1]
    assert span.name == "learning_records.create"
    assert span.kind is SpanKind.CLIENT
    assert _attributes(span) == {
        "http.request.method": "POST",
        "server.address": sent.url.host,
        "server.port": sent.url.port or 443,
        "url.template": COLLECTION,
        "http.response.status_code": 201,
        "edm.attempts": 1,
        "edm.request_id": raw.request_id,
        "edm.idempotency_key": sent.headers["Idempotency-Key"],
    }
    assert span.status.status_code is StatusCode.UNSET


def test_a_request_id_with_control_characters_is_recorded_as_request_id_shows_it(
    telemetry: Telemetry, hostile: Callable[..., Client]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"X-Request-ID": "req_\x1b[2J\x1b[31m" + "x" * 300}
        return httpx.Response(200, json=record_json(), headers=headers)

    raw = hostile(answer).performance.learning_records.with_raw_response.get("per_1")

    recorded = _attributes(telemetry.span())["edm.request_id"]
    assert recorded == raw.request_id
    assert recorded.startswith(r"req_\x1b[2J")
    assert len(recorded) <= 128


async def test_the_url_template_holds_a_placeholder_never_the_id(
    traced: Api, telemetry: Telemetry
) -> None:
    record = await traced.create()

    await traced.get(record.id)

    span = telemetry.spans()[-1]
    assert span.name == "learning_records.get"
    assert _attributes(span)["url.template"] == COLLECTION + "/{record_id}"
    assert record.id not in str(_attributes(span))


async def test_each_request_carries_the_span_as_w3c_traceparent(
    traced: Api, telemetry: Telemetry
) -> None:
    await traced.create()

    context = telemetry.span().context
    assert traced.server.requests[-1].headers["traceparent"] == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )


async def test_the_operation_span_is_a_child_of_the_callers_span(
    traced: Api, telemetry: Telemetry
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("the-app")

    with tracer.start_as_current_span("nightly-import") as parent:
        await traced.create()

    operation = telemetry.spans()[0]
    assert operation.parent is not None
    assert operation.parent.span_id == parent.get_span_context().span_id
    assert operation.context.trace_id == parent.get_span_context().trace_id


async def test_retries_are_span_events_with_cause_and_delay(
    traced: Api, telemetry: Telemetry, sleeps: list[float]
) -> None:
    traced.server.inject_fault(status=503, times=2)

    await traced.create()

    span = telemetry.span()
    assert _attributes(span)["edm.attempts"] == 3
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        ("edm.retry", {"edm.retry.attempt": n, "edm.retry.delay": delay, "error.type": "503"})
        for n, delay in zip((1, 2), sleeps, strict=True)
    ]
    headers = {r.headers["traceparent"] for r in traced.server.requests}
    assert len(headers) == 1  # every attempt of the operation joins the same span


async def test_a_status_error_sets_the_span_status_and_error_type(
    traced: Api, telemetry: Telemetry
) -> None:
    with pytest.raises(NotFoundError):
        await traced.get("per_missing")

    span = telemetry.span()
    attributes = _attributes(span)
    assert (attributes["http.response.status_code"], attributes["error.type"]) == (404, "404")
    assert attributes["edm.request_id"].startswith("req_")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "404"


@inprocess_only
async def test_a_connection_error_is_named_by_its_type(
    traced: Api, telemetry: Telemetry, sleeps: list[float]
) -> None:
    traced.server.inject_fault(exception=httpx.ConnectError, times=None)

    with pytest.raises(APIConnectionError):
        await traced.get("per_1")

    span = telemetry.span()
    attributes = _attributes(span)
    assert attributes["error.type"] == "edm_client.APIConnectionError"
    assert "http.response.status_code" not in attributes
    assert [dict(e.attributes or {})["error.type"] for e in span.events] == [
        "httpx.ConnectError"
    ] * 2


async def test_a_listing_is_one_span_per_page(traced: Api, telemetry: Telemetry) -> None:
    for n in range(5):
        await traced.create(title=f"Course {n}")

    pages = await traced.pages(limit=2)

    listed = [s for s in telemetry.spans() if s.name == "learning_records.list"]
    assert len(listed) == len(pages) == 3


async def test_a_call_on_a_closed_client_is_a_failed_span_without_attempts(
    traced: Api, telemetry: Telemetry
) -> None:
    await traced.close()

    with pytest.raises(EDMError, match="is closed"):
        await traced.get("per_1")

    span = telemetry.span()
    assert _attributes(span) == {"edm.attempts": 0, "error.type": "edm_client.EDMError"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_hook_failure_ends_the_span_as_an_error(
    server: FakeServer, telemetry: Telemetry, mode: str
) -> None:
    def fail(event: object) -> None:
        raise ValueError("nope")

    api = fake_api(server, mode, hooks=Hooks(before_attempt=fail))
    with pytest.raises(HookError):
        await api.create()
    await api.close()

    assert _attributes(telemetry.span())["error.type"] == "edm_client.HookError"
    assert server.requests == []


async def test_no_token_query_value_or_body_reaches_a_span_or_metric(
    traced: Api, telemetry: Telemetry, sleeps: list[float]
) -> None:
    secrets = {"person-7f3a", "Confidential Course Title", "Vendor-X9"}
    for _ in range(3):
        await traced.create(
            person_id="person-7f3a", title="Confidential Course Title", provider="Vendor-X9"
        )
    traced.server.inject_fault(status=503)
    await traced.pages(person_id="person-7f3a", provider="Vendor-X9", limit=1)
    token = traced.server.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    cursors = {r.url.params["cursor"] for r in traced.server.requests if "cursor" in r.url.params}

    recorded = [
        *(
            (s.name, _attributes(s), [(e.name, dict(e.attributes or {})) for e in s.events])
            for s in telemetry.spans()
        ),
        *(s.status.description for s in telemetry.spans()),
        *(dict(p.attributes) for name in (DURATION, RETRIES) for p in telemetry.points(name)),
    ]
    text = " ".join(iter_strings(json.loads(json.dumps(recorded, default=str))))
    assert cursors
    for secret in (*secrets, *cursors, token):
        assert secret not in text


async def test_tracing_false_records_nothing_and_sends_no_traceparent(
    server: FakeServer, telemetry: Telemetry
) -> None:
    with server.client(tracing=False) as client:
        client.performance.learning_records.create(person_id="p1", title="Go")
        copy = client.with_options(timeout=5)

    assert telemetry.spans() == []
    assert telemetry.points(DURATION) == []
    assert "traceparent" not in server.requests[-1].headers
    assert copy.tracing is False


@pytest.mark.parametrize("mode", MODES)
async def test_providers_set_after_the_client_was_made_are_used(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    _unset_providers(monkeypatch)
    api = fake_api(server, mode)
    await api.create()  # nothing configured yet: nothing recorded, no traceparent
    telemetry = _set_providers()

    await api.create()
    await api.close()

    assert [s.name for s in telemetry.spans()] == ["learning_records.create"]
    assert len(telemetry.points(DURATION)) == 1
    assert [("traceparent" in r.headers) for r in server.requests] == [False, True]


# -- metrics -------------------------------------------------------------------------------------


async def test_each_operation_is_measured_by_operation_and_outcome(
    traced: Api, telemetry: Telemetry
) -> None:
    record = await traced.create()
    await traced.get(record.id)
    with pytest.raises(NotFoundError):
        await traced.get("per_missing")

    measured = {
        tuple(sorted(dict(p.attributes).items())): (p.count, p.sum)
        for p in telemetry.points(DURATION)
    }
    assert {key: count for key, (count, _) in measured.items()} == {
        (("edm.operation", "learning_records.create"), ("edm.outcome", "success")): 1,
        (("edm.operation", "learning_records.get"), ("edm.outcome", "success")): 1,
        (
            ("edm.operation", "learning_records.get"),
            ("edm.outcome", "error"),
            ("error.type", "404"),
        ): 1,
    }
    assert all(total >= 0 for _, total in measured.values())


async def test_retries_are_counted_by_cause(
    traced: Api, telemetry: Telemetry, sleeps: list[float]
) -> None:
    traced.server.inject_fault(status=503)
    traced.server.inject_fault(status=429, retry_after=0)

    await traced.create()

    counted = {
        tuple(sorted(dict(p.attributes).items())): p.value for p in telemetry.points(RETRIES)
    }
    create = ("edm.operation", "learning_records.create")
    assert counted == {(create, ("error.type", "503")): 1, (create, ("error.type", "429")): 1}


# -- without OpenTelemetry -----------------------------------------------------------------------

_PROBE = """
import json, sys
{block}
import httpx
from edm_client import Client

seen = []
def answer(request):
    seen.append(dict(request.headers))
    return httpx.Response(200, json={{"data": [], "next_cursor": None}})

client = Client(api_key="t0ken-for-probe", base_url="https://edm.test", {options}
                http_client=httpx.Client(transport=httpx.MockTransport(answer)))
{after}
list(client.performance.learning_records.list())
loaded = [m for m, mod in sys.modules.items()
          if mod is not None and (m.startswith("opentelemetry") or m == "edm_client._tracing")]
print(json.dumps({{"loaded": loaded, "traceparent": "traceparent" in seen[0]}}))
"""


def _probe(block: str = "", options: str = "", after: str = "") -> dict[str, Any]:
    code = textwrap.dedent(_PROBE).format(block=block, options=options, after=after)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_without_opentelemetry_installed_nothing_of_it_is_loaded() -> None:
    # `None` in sys.modules makes every import of the package fail, as if it were not installed.
    result = _probe(block="sys.modules['opentelemetry'] = None")

    assert result == {"loaded": [], "traceparent": False}


def test_with_tracing_off_opentelemetry_is_not_loaded() -> None:
    result = _probe(options="tracing=False,")

    assert result == {"loaded": [], "traceparent": False}


def test_with_opentelemetry_in_use_a_client_traces_by_default() -> None:
    result = _probe(block="import opentelemetry.trace")

    assert "edm_client._tracing" in result["loaded"]


def test_with_opentelemetry_installed_but_never_imported_a_call_does_not_load_it() -> None:
    result = _probe()

    assert result == {"loaded": [], "traceparent": False}


def test_a_provider_named_in_the_environment_is_traced_to_though_nothing_imported_it() -> None:
    result = _probe(
        block="import os; os.environ['OTEL_PYTHON_TRACER_PROVIDER'] = 'sdk_tracer_provider'"
    )

    assert result["traceparent"] is True


def test_a_provider_named_in_the_environment_that_cannot_be_loaded_leaves_calls_untraced() -> None:
    result = _probe(
        block="import os; os.environ['OTEL_PYTHON_TRACER_PROVIDER'] = 'no-such-provider'"
    )

    assert result["traceparent"] is False  # the client was made and its call went through


def test_a_provider_set_after_the_client_was_made_is_traced_to() -> None:
    after = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())"
    )

    result = _probe(after=after)

    assert "edm_client._tracing" in result["loaded"]
    assert result["traceparent"] is True
