"""OpenTelemetry for every call, built as hooks: one CLIENT span per operation, two metrics,
and the W3C trace context sent with each request.

Imported only when a client is made with `tracing=True` (the default) and opentelemetry-api is
installed; without it, nothing here (or of OpenTelemetry) is ever loaded. Spans and metrics
carry no token, query value or body: operation, method, host, port, path template, status,
attempts, request id, idempotency key and error type only.
"""

from __future__ import annotations

import sys
from typing import Final, NamedTuple

from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from edm_client._exceptions import APIStatusError, EDMError
from edm_client._hooks import AttemptEvent, Hooks, OutcomeEvent, ResponseEvent
from edm_client._response import request_id_of
from edm_client._version import __version__

__all__ = ["error_type", "load_named_providers", "tracing_hooks", "tracing_is_live"]

_SPAN: Final = "edm_client.span"
_NOT_FOUND: Final = object()
_IDLE_TRACER_PROVIDERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
# The HTTP client duration buckets of the semantic conventions, and longer ones for retries.
_DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    30.0,
    60.0,
)


class _Instruments(NamedTuple):
    meter_provider: metrics.MeterProvider
    duration: metrics.Histogram
    retries: metrics.Counter


_instruments: list[_Instruments] = []


def _current_instruments() -> _Instruments:
    """The instruments of the global meter provider, made again only when it changes.

    Made once, not per client: with no provider set yet, OpenTelemetry keeps every meter and
    instrument asked of it (to bind them to a provider set later), so asking per client would
    grow without end. (Tracers it does not keep, so each client asks for its own.)
    """
    meter_provider = metrics.get_meter_provider()
    cached = _instruments[0] if _instruments else None
    if cached is not None and cached.meter_provider is meter_provider:
        return cached
    meter = meter_provider.get_meter("edm_client", __version__)
    made = _Instruments(
        meter_provider,
        meter.create_histogram(
            "edm.client.operation.duration",
            unit="s",
            description="Duration of EDM API operations, retries and their waits included.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        ),
        meter.create_counter(
            "edm.client.operation.retries",
            unit="{retry}",
            description="Retries of EDM API operations, by cause.",
        ),
    )
    _instruments[:] = [made]
    return made


def tracing_is_live() -> bool:
    """Whether a call's span, metrics or trace context would go anywhere: a tracer or meter
    provider is configured, or the caller is inside a valid span whose context should travel
    on. When not, the call runs without the tracing hooks (OpenTelemetry would drop it all)."""
    # Asked before every call. While no provider is set, OpenTelemetry's getters look for an
    # environment variable each time (a KeyError raised and caught: 1.5 us of 2.6), so the
    # globals they return are read directly, None meaning not set; providers named in the
    # environment are loaded when a client is made (`load_named_providers`). Where a global
    # is not found (another OpenTelemetry), the getter is asked.
    tracer_provider = getattr(trace, "_TRACER_PROVIDER", _NOT_FOUND)
    if tracer_provider is _NOT_FOUND:
        tracer_provider = trace.get_tracer_provider()
    if tracer_provider is not None and not isinstance(tracer_provider, _IDLE_TRACER_PROVIDERS):
        return True
    meter_state = sys.modules.get("opentelemetry.metrics._internal")
    meter_provider = getattr(meter_state, "_METER_PROVIDER", _NOT_FOUND)
    if meter_provider is _NOT_FOUND:
        meter_provider = metrics.get_meter_provider()
        if type(meter_provider).__name__ == "_ProxyMeterProvider":  # what an unset global is
            meter_provider = None
    if meter_provider is not None and not isinstance(meter_provider, metrics.NoOpMeterProvider):
        return True
    return trace.get_current_span().get_span_context().is_valid


def load_named_providers() -> None:
    """Load the providers `OTEL_PYTHON_TRACER_PROVIDER` and `OTEL_PYTHON_METER_PROVIDER`
    name, as OpenTelemetry does when first asked for them."""
    trace.get_tracer_provider()
    metrics.get_meter_provider()


def tracing_hooks() -> Hooks:
    """Hooks that trace and measure each call through the globally configured providers.

    Made per client, so a provider configured later (or replaced, as tests do) is the one used.
    """
    tracer = trace.get_tracer("edm_client", __version__)
    _, duration, retries = _current_instruments()

    def before_attempt(event: AttemptEvent) -> None:
        span: Span | None = event.state.get(_SPAN)
        if span is None:
            span = tracer.start_span(
                event.operation, kind=SpanKind.CLIENT, attributes=_request_attributes(event)
            )
            event.state[_SPAN] = span
        propagate.inject(event.request.headers, context=trace.set_span_in_context(span))

    def after_response(event: ResponseEvent) -> None:
        if event.retry_in is None:
            return
        if event.response is not None:
            cause = str(event.response.status_code)
        else:
            cause = error_type(event.error) if event.error is not None else "unknown"
        retries.add(1, {"edm.operation": event.operation, "error.type": cause})
        span: Span | None = event.state.get(_SPAN)
        if span is not None and span.is_recording():
            span.add_event(
                "edm.retry",
                {
                    "edm.retry.attempt": event.attempt,
                    "edm.retry.delay": event.retry_in,
                    "error.type": cause,
                },
            )

    def after_outcome(event: OutcomeEvent) -> None:
        span: Span | None = event.state.pop(_SPAN, None)
        if span is None:  # the call failed before its first attempt
            span = tracer.start_span(event.operation, kind=SpanKind.CLIENT)
        error = event.error
        measured: dict[str, AttributeValue] = {
            "edm.operation": event.operation,
            "edm.outcome": "success" if error is None else "error",
        }
        if error is not None:
            measured["error.type"] = error_type(error)
        duration.record(event.elapsed, measured)
        if span.is_recording():
            span.set_attributes(_outcome_attributes(event))
            if error is not None:
                # The type, not the message: a message may quote the URL and its query values.
                span.set_status(Status(StatusCode.ERROR, error_type(error)))
        span.end()

    return Hooks(before_attempt, after_response, after_outcome)


def _request_attributes(event: AttemptEvent) -> dict[str, AttributeValue]:
    url = event.request.url
    attributes: dict[str, AttributeValue] = {
        "http.request.method": event.request.method,
        "server.address": url.host,
        "server.port": url.port or _DEFAULT_PORTS.get(url.scheme, 443),
    }
    if event.path_template:
        attributes["url.template"] = event.path_template
    key = event.request.headers.get("idempotency-key")
    if key:
        attributes["edm.idempotency_key"] = key
    return attributes


def _outcome_attributes(event: OutcomeEvent) -> dict[str, AttributeValue]:
    error = event.error
    attributes: dict[str, AttributeValue] = {"edm.attempts": event.attempts}
    response = event.response
    if error is None and response is not None:
        attributes["http.response.status_code"] = response.status_code
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        attributes["http.response.status_code"] = status
    if error is None:
        # As `.request_id` shows it: escaped, clipped and scrubbed, as on the error path.
        request_id = request_id_of(response) if response is not None else None
    else:  # the last response may be an earlier attempt's, so only the error's own id counts
        request_id = getattr(error, "request_id", None)
    if isinstance(request_id, str) and request_id:
        attributes["edm.request_id"] = request_id
    if error is not None:
        attributes["error.type"] = error_type(error)
    return attributes


def error_type(error: BaseException) -> str:
    """A name for a failure with few distinct values, as the semantic conventions ask: the
    status code of a status error, else the class as users import it
    (`edm_client.APITimeoutError`, `httpx.ConnectError`)."""
    if isinstance(error, APIStatusError):
        return str(error.status_code)
    cls = type(error)
    module = "edm_client" if isinstance(error, EDMError) else cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
