"""Hooks: your functions, called before each attempt, after each response and at the end.

The pipeline (`_base_client._BaseClient._attempts`) is not changed by them: `observe` wraps
its generator of steps, sees each request go out, each outcome come back and the call end,
and calls the hooks there. So both clients run them, written once, and a client without hooks
(and without tracing) pays nothing.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx

from edm_client._exceptions import HookError, InvalidRequestError
from edm_client._logging import logger

__all__ = [
    "AttemptEvent",
    "Hooks",
    "Observers",
    "OutcomeEvent",
    "ResponseEvent",
    "checked_hooks",
    "observe",
    "observers",
]


@dataclass(frozen=True)
class AttemptEvent:
    """What `before_attempt` is told: an attempt is about to be sent."""

    operation: str
    """The call, e.g. `"learning_records.create"`."""
    attempt: int
    """1 for the first attempt, 2 for the first retry, and so on."""
    request: httpx.Request
    """The request about to be sent. Its headers may be changed: `request.headers["X"] = "y"`."""
    path_template: str | None
    """The path with ids as placeholders (`/api/v1/performance/learning-records/{record_id}`)."""
    state: dict[str, Any] = field(repr=False, compare=False)
    """One dict for the whole call, the same in each of its events: keep in it what a later
    hook of the same call needs (a start time, a span). Use keys your code owns."""


@dataclass(frozen=True)
class ResponseEvent:
    """What `after_response` is told: an attempt ended, with a response or without one."""

    operation: str
    """The call, e.g. `"learning_records.create"`."""
    attempt: int
    """The number of the attempt that ended, from 1."""
    request: httpx.Request
    """The request that was sent."""
    response: httpx.Response | None
    """The response (any status), or None when none arrived."""
    error: Exception | None
    """When no response arrived: what the transport raised (e.g. `httpx.ConnectError`)."""
    elapsed: float
    """Seconds from sending the request to its outcome."""
    retry_in: float | None
    """Seconds until the call tries again, or None when this attempt was its last."""
    state: dict[str, Any] = field(repr=False, compare=False)
    """The call's dict (see `AttemptEvent.state`)."""


@dataclass(frozen=True)
class OutcomeEvent:
    """What `after_outcome` is told: the call is over."""

    operation: str
    """The call, e.g. `"learning_records.create"`."""
    attempts: int
    """How many attempts were sent (0 when the call failed before sending any)."""
    elapsed: float
    """Seconds the whole call took, retries and their waits included."""
    result: object
    """What the call returns (None when it failed)."""
    error: BaseException | None
    """Why the call failed: an `EDMError` (a `HookError` when a hook raised), or an interrupt
    or cancellation that cut it short; None when it succeeded."""
    request: httpx.Request | None
    """The last request sent, if any."""
    response: httpx.Response | None
    """The last response received, if any."""
    state: dict[str, Any] = field(repr=False, compare=False)
    """The call's dict (see `AttemptEvent.state`)."""


@dataclass(frozen=True)
class Hooks:
    """Functions to call during each API call of a client: `Client(hooks=Hooks(...))`.

    Each is optional and takes one event. They are plain functions on `AsyncClient` too
    (called in the event loop, so keep them quick). A hook that raises stops the call with a
    `HookError` wrapping its exception; `before_attempt` runs before anything of that attempt
    is sent, so a write is never half-sent.
    """

    before_attempt: Callable[[AttemptEvent], object] | None = None
    """Before each attempt is sent; may change the request's headers."""
    after_response: Callable[[ResponseEvent], object] | None = None
    """After each attempt, with its response, or the error when none arrived."""
    after_outcome: Callable[[OutcomeEvent], object] | None = None
    """Once per call, when it returns or raises, with the result or the error."""

    def __post_init__(self) -> None:
        for name in ("before_attempt", "after_response", "after_outcome"):
            hook = getattr(self, name)
            if hook is None:
                continue
            if not callable(hook):
                raise InvalidRequestError(f"{name} must be callable, not {hook!r}", param=name)
            if inspect.iscoroutinefunction(hook):
                raise InvalidRequestError(
                    f"{name} is an async function; hooks are plain functions, called without "
                    "await on AsyncClient too",
                    param=name,
                )


def checked_hooks(hooks: object) -> tuple[Hooks, ...]:
    """`hooks=` as a client takes it: a `Hooks`, several in order, or None."""
    if hooks is None:
        return ()
    if isinstance(hooks, Hooks):
        return (hooks,)
    if isinstance(hooks, Iterable) and not isinstance(hooks, str | bytes):
        given = tuple(hooks)
        if all(isinstance(h, Hooks) for h in given):
            return given
    raise InvalidRequestError(
        f"hooks must be an edm_client.Hooks or a list of them, not {hooks!r}", param="hooks"
    )


class Observers:
    """What a client runs around its calls: its hooks, and OpenTelemetry's while that has
    somewhere to send what it records, so an unconfigured one costs next to nothing."""

    __slots__ = ("_hooks", "_traced", "_tracing")

    def __init__(self, hooks: tuple[Hooks, ...], tracing: bool) -> None:
        self._hooks = hooks or None
        self._tracing = tracing
        self._traced: tuple[Hooks, ...] | None = None

    def for_call(self) -> tuple[Hooks, ...] | None:
        """The hooks to run around the call about to start; None for none."""
        make_hooks = _live_tracing() if self._tracing else None
        if make_hooks is None:
            return self._hooks
        if self._traced is None:  # made at the first traced call, from the providers set then
            self._traced = (*(self._hooks or ()), make_hooks())
        return self._traced


_PROVIDER_VARIABLES = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")
"""Where OpenTelemetry is told which providers to load when it is first asked for them."""


def observers(hooks: tuple[Hooks, ...], tracing: bool) -> Observers | None:
    """The hooks a client runs: yours, then OpenTelemetry's when `tracing` and it is installed.

    None when there are none, so that the call path can skip `observe` entirely.
    """
    if tracing and any(name in os.environ for name in _PROVIDER_VARIABLES):
        # Providers named there: OpenTelemetry is in use; load it, and them, now.
        tracing_module = _tracing()
        if tracing_module is not None:
            try:
                tracing_module.load_named_providers()
            except Exception as exc:  # what loading a named provider raised (OpenTelemetry logs it)
                logger.warning(
                    "OpenTelemetry could not load the provider named in %s (%s: %s); calls "
                    "are not traced until a provider is set.",
                    " or ".join(_PROVIDER_VARIABLES),
                    type(exc).__name__,
                    exc,
                )
    if tracing:
        return Observers(hooks, tracing=True)
    return Observers(hooks, tracing=False) if hooks else None


def _live_tracing() -> Callable[[], Hooks] | None:
    """`_tracing.tracing_hooks` while OpenTelemetry would record a call, else None."""
    # Nothing can be recorded before OpenTelemetry is imported: a provider is set, and a span
    # made current, through its API. Until something imports it, a call neither loads it nor
    # asks it (loading it is ~12 ms of a fresh process's first request).
    if sys.modules.get("opentelemetry") is None:
        return None
    tracing_module = _tracing()
    if tracing_module is None or not tracing_module.is_live():
        return None
    return tracing_module.hooks


class _Tracing(NamedTuple):
    """What `_tracing` offers the clients."""

    hooks: Callable[[], Hooks]
    is_live: Callable[[], bool]
    load_named_providers: Callable[[], None]


@functools.cache
def _tracing() -> _Tracing | None:
    """`_tracing`'s functions, or None when opentelemetry-api is not installed (asked once:
    Python does not remember a failed import, and would search sys.path again each time)."""
    try:
        from edm_client._tracing import load_named_providers, tracing_hooks, tracing_is_live
    except ImportError:
        return None
    return _Tracing(tracing_hooks, tracing_is_live, load_named_providers)


def observe(
    steps: Generator[Any, Any, Any],
    hooks: tuple[Hooks, ...],
    operation: str,
    path_template: str | None,
) -> Generator[Any, Any, Any]:
    """`steps` (the pipeline's generator) with `hooks` called as its requests go and come back.

    A request step is an attempt; the step after its outcome tells whether the call goes on:
    a float is the wait before a retry, another request or a token fetch an immediate retry.
    """
    call = _Call(hooks, operation, path_template)
    result: Any = None
    while True:
        try:
            step = steps.send(result)
        except StopIteration as done:
            call.end(done.value, None)
            return done.value
        except BaseException as error:
            call.end(None, error)
            raise
        try:
            call.before(step)
        except BaseException as error:  # a HookError, or an interrupt inside a hook
            steps.close()
            call.end(None, error, quiet=not isinstance(error, HookError))
            raise
        try:
            result = yield step
        except BaseException as error:  # the driver was cancelled or interrupted mid-step
            steps.close()
            call.end(None, error, quiet=True)
            raise
        if isinstance(step, httpx.Request):
            call.after(result)


class _Call:
    """The hooks' view of one call in progress."""

    def __init__(self, hooks: tuple[Hooks, ...], operation: str, path_template: str | None):
        self.hooks = hooks
        self.operation = operation
        self.path_template = path_template
        self.state: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.attempts = 0
        self.request: httpx.Request | None = None
        self.response: httpx.Response | None = None
        self.sent_at = 0.0
        self.pending: ResponseEvent | None = None
        self.ended = False

    def before(self, step: object) -> None:
        if self.pending is not None:
            retry_in = step if isinstance(step, float) else 0.0
            self._responded(retry_in)
        if isinstance(step, httpx.Request):
            self.attempts += 1
            self.request = step
            event = AttemptEvent(
                self.operation, self.attempts, step, self.path_template, self.state
            )
            for hooks in self.hooks:
                if hooks.before_attempt is not None:
                    self._run("before_attempt", hooks.before_attempt, event)
            self.sent_at = time.perf_counter()

    def after(self, outcome: object) -> None:
        assert self.request is not None
        response = outcome if isinstance(outcome, httpx.Response) else None
        if response is not None:
            self.response = response
        self.pending = ResponseEvent(
            self.operation,
            self.attempts,
            self.request,
            response,
            outcome if isinstance(outcome, Exception) else None,
            time.perf_counter() - self.sent_at,
            None,
            self.state,
        )

    def end(self, result: object, error: BaseException | None, *, quiet: bool = False) -> None:
        """Call the last `after_response` and every `after_outcome`; then raise the first
        `HookError` (unless `quiet`: the call is being torn down and must not be held up)."""
        if self.ended:
            return
        self.ended = True
        first: HookError | None = None
        if self.pending is not None and not quiet:
            try:
                self._responded(None)
            except HookError as hook_error:
                first = error = hook_error
                result = None
        self.pending = None
        event = OutcomeEvent(
            self.operation,
            self.attempts,
            time.perf_counter() - self.started,
            result,
            error,
            self.request,
            self.response,
            self.state,
        )
        for hooks in self.hooks:
            if hooks.after_outcome is not None:
                try:
                    self._run("after_outcome", hooks.after_outcome, event)
                except HookError as hook_error:
                    first = first or hook_error
        if first is not None and not quiet:
            raise first

    def _responded(self, retry_in: float | None) -> None:
        pending = self.pending
        assert pending is not None
        self.pending = None
        event = ResponseEvent(
            pending.operation,
            pending.attempt,
            pending.request,
            pending.response,
            pending.error,
            pending.elapsed,
            retry_in,
            self.state,
        )
        for hooks in self.hooks:
            if hooks.after_response is not None:
                self._run("after_response", hooks.after_response, event)

    def _run(self, hook: str, function: Callable[[Any], object], event: object) -> None:
        try:
            returned = function(event)
        except Exception as exc:
            raise self._error(hook, function, event, f"raised {type(exc).__name__}: {exc}") from exc
        if inspect.isawaitable(returned):
            if inspect.iscoroutine(returned):
                returned.close()  # never awaited here; closing avoids a "never awaited" warning
            raise self._error(
                hook,
                function,
                event,
                "returned an awaitable; hooks are plain functions, called without await",
            )

    def _error(
        self, hook: str, function: Callable[[Any], object], event: object, what: str
    ) -> HookError:
        name = getattr(function, "__qualname__", None) or type(function).__name__
        message = f"The {hook} hook {name} {what}; {self._consequence(event)}"
        return HookError(message, hook=hook, operation=self.operation, request=self.request)

    def _consequence(self, event: object) -> str:
        """What the hook's failure left behind, for the message."""
        if isinstance(event, AttemptEvent):
            return f"{self.operation} stopped before attempt {event.attempt}, which was not sent."
        if isinstance(event, ResponseEvent):
            if event.response is None:
                return f"{self.operation} stopped after attempt {event.attempt} got no response."
            return (
                f"{self.operation} stopped after attempt {event.attempt} was answered "
                f"{_answer(event.response)}: the server acted on that request."
            )
        assert isinstance(event, OutcomeEvent)
        if event.error is None:
            return f"{self.operation} had succeeded."
        if isinstance(event.error, HookError):
            return f"{self.operation} had already stopped on a hook."
        return f"{self.operation} had failed with {type(event.error).__name__}."


def _answer(response: httpx.Response) -> str:
    request_id = response.headers.get("x-request-id")
    return f"{response.status_code}" + (f", request id {request_id}" if request_id else "")
