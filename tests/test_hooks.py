"""Hooks: `Client(hooks=Hooks(...))` sees (and may adjust) each attempt, each response and each
call's outcome; a hook that raises stops the call with a `HookError`, never a half-sent write."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from _helpers import (
    COLLECTION,
    MODES,
    Api,
    fake_api,
    inprocess_only,
    no_wait,
    posts,
    sleeps_fixture,
)
from edm_client import (
    APIConnectionError,
    APIResponse,
    AttemptEvent,
    HookError,
    Hooks,
    InvalidRequestError,
    NotFoundError,
    OutcomeEvent,
    ResponseEvent,
)
from edm_client.testing import FakeServer

sleeps = sleeps_fixture()


class Recorder:
    """Hooks that record every event they are given, in order."""

    def __init__(self) -> None:
        self.events: list[AttemptEvent | ResponseEvent | OutcomeEvent] = []
        self.hooks = Hooks(self.events.append, self.events.append, self.events.append)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(params=MODES)
async def hooked(request: pytest.FixtureRequest, server: FakeServer) -> AsyncIterator[Any]:
    """`hooked(*hooks, **client_kwargs)`: an `Api` of the parametrized mode with those hooks."""
    made: list[Api] = []

    def make(*hooks: Hooks, **kwargs: Any) -> Api:
        api = fake_api(server, request.param, hooks=list(hooks), **kwargs)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.close()


def _boom(event: object) -> None:
    raise ValueError("boom")


# -- what hooks see ----------------------------------------------------------------------------


async def test_a_before_attempt_hook_can_add_a_header_the_server_receives(hooked: Any) -> None:
    def tag(event: AttemptEvent) -> None:
        event.request.headers["X-Tenant-Trace"] = f"{event.operation}#{event.attempt}"

    api = hooked(Hooks(before_attempt=tag))

    await api.create()

    assert api.server.requests[-1].headers["X-Tenant-Trace"] == "learning_records.create#1"


async def test_each_operation_is_named_with_its_path_template(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)

    record = await api.create()
    await api.get(record.id)
    await api.first_page()

    assert [(e.operation, e.path_template) for e in recorder.of(AttemptEvent)] == [
        ("learning_records.create", COLLECTION),
        ("learning_records.get", COLLECTION + "/{record_id}"),
        ("learning_records.list", COLLECTION),
    ]


async def test_events_come_in_order_for_one_call(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)

    record = await api.create()

    attempt, response, outcome = recorder.events
    assert isinstance(attempt, AttemptEvent)
    assert isinstance(response, ResponseEvent)
    assert isinstance(outcome, OutcomeEvent)
    assert response.response is not None
    assert response.response.status_code == 201
    assert response.request is attempt.request
    assert (response.error, response.retry_in) == (None, None)
    assert (outcome.result, outcome.error, outcome.attempts) == (record, None, 1)
    assert outcome.response is response.response


async def test_hooks_time_each_attempt_and_the_whole_call(hooked: Any, sleeps: list[float]) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)
    api.server.inject_fault(status=503, times=2)

    await api.create()

    responses = recorder.of(ResponseEvent)
    (outcome,) = recorder.of(OutcomeEvent)
    assert all(r.elapsed >= 0 for r in responses)
    assert outcome.elapsed >= sum(r.elapsed for r in responses)
    assert outcome.attempts == 3


async def test_each_retried_attempt_says_when_the_call_tries_again(
    hooked: Any, sleeps: list[float]
) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)
    api.server.inject_fault(status=503, times=2)

    await api.create()

    responses = recorder.of(ResponseEvent)
    assert [e.attempt for e in recorder.of(AttemptEvent)] == [1, 2, 3]
    assert [r.response.status_code for r in responses] == [503, 503, 201]
    assert [r.retry_in for r in responses] == [*sleeps, None]
    keys = {e.request.headers["Idempotency-Key"] for e in recorder.of(AttemptEvent)}
    assert len(keys) == 1


async def test_the_outcome_of_a_failed_call_carries_its_error(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)

    with pytest.raises(NotFoundError) as caught:
        await api.get("per_missing")

    (response,) = recorder.of(ResponseEvent)
    (outcome,) = recorder.of(OutcomeEvent)
    assert response.response is not None
    assert response.response.status_code == 404
    assert response.retry_in is None
    assert outcome.error is caught.value
    assert (outcome.result, outcome.attempts) == (None, 1)


async def test_a_raw_response_call_hands_the_api_response_to_the_outcome(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)

    raw = await api.raw("create")

    (outcome,) = recorder.of(OutcomeEvent)
    assert isinstance(outcome.result, APIResponse)
    assert outcome.result is raw


async def test_each_page_of_a_listing_is_one_call(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)
    for n in range(5):
        await api.create(title=f"Course {n}")
    recorder.events.clear()

    pages = await api.pages(limit=2)

    outcomes = recorder.of(OutcomeEvent)
    assert len(outcomes) == len(pages) == 3
    assert {o.operation for o in outcomes} == {"learning_records.list"}


async def test_the_state_dict_is_shared_within_a_call_and_fresh_for_the_next(
    hooked: Any, sleeps: list[float]
) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)
    api.server.inject_fault(status=503)

    first = await api.create()
    await api.get(first.id)

    states = [id(e.state) for e in recorder.events]
    assert len(set(states[:5])) == 1  # attempt, response, attempt, response, outcome
    assert set(states[5:]).isdisjoint(states[:5])


async def test_several_hooks_run_in_the_order_given(hooked: Any) -> None:
    order: list[str] = []

    def named(name: str) -> Hooks:
        return Hooks(
            before_attempt=lambda e: order.append(f"{name}.before"),
            after_outcome=lambda e: order.append(f"{name}.outcome"),
        )

    api = hooked(named("a"), named("b"))

    await api.create()

    assert order == ["a.before", "b.before", "a.outcome", "b.outcome"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_token_refresh_after_401_is_an_immediate_retry(
    server: FakeServer, mode: str
) -> None:
    tokens = iter([server.issue_token(expires_in=-1), server.issue_token()])
    recorder = Recorder()
    api = fake_api(server, mode, lambda: next(tokens), hooks=recorder.hooks)  # type: ignore[arg-type]

    await api.create()
    await api.close()

    responses = recorder.of(ResponseEvent)
    assert [(r.response.status_code, r.retry_in) for r in responses] == [(401, 0.0), (201, None)]


# -- hooks that raise ----------------------------------------------------------------------------


async def test_a_raising_before_attempt_hook_sends_nothing(hooked: Any) -> None:
    api = hooked(Hooks(before_attempt=_boom))

    with pytest.raises(HookError) as caught:
        await api.create()

    assert api.server.requests == []
    assert api.server.records() == []
    assert caught.value.hook == "before_attempt"
    assert caught.value.operation == "learning_records.create"
    assert isinstance(caught.value.__cause__, ValueError)
    assert "before_attempt hook _boom raised ValueError: boom" in str(caught.value)
    assert "attempt 1, which was not sent" in str(caught.value)


async def test_a_before_attempt_hook_raising_on_a_retry_stops_before_the_retry_is_sent(
    hooked: Any, sleeps: list[float]
) -> None:
    def fail_on_retry(event: AttemptEvent) -> None:
        if event.attempt > 1:
            raise RuntimeError("no retries today")

    api = hooked(Hooks(before_attempt=fail_on_retry))
    api.server.inject_fault(status=503)

    with pytest.raises(HookError, match="attempt 2, which was not sent"):
        await api.create()

    assert len(posts(api.server)) == 1
    assert api.server.records() == []


async def test_a_raising_after_response_hook_says_the_server_acted(hooked: Any) -> None:
    api = hooked(Hooks(after_response=_boom))

    with pytest.raises(HookError) as caught:
        await api.create()

    (stored,) = api.server.records()
    assert len(posts(api.server)) == 1
    assert caught.value.hook == "after_response"
    assert "was answered 201" in str(caught.value)
    assert "the server acted on that request" in str(caught.value)
    assert stored.title == "Kubernetes Administrator"


async def test_a_raising_after_response_hook_stops_the_retries(
    hooked: Any, sleeps: list[float]
) -> None:
    api = hooked(Hooks(after_response=_boom))
    api.server.inject_fault(status=503, times=None)

    with pytest.raises(HookError, match="was answered 503"):
        await api.get("per_1")

    assert len(api.server.requests) == 1


async def test_a_raising_after_outcome_hook_replaces_the_result(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(Hooks(after_outcome=_boom), recorder.hooks)

    with pytest.raises(HookError, match=r"learning_records\.create had succeeded") as caught:
        await api.create()

    assert caught.value.hook == "after_outcome"
    assert len(api.server.records()) == 1
    (outcome,) = recorder.of(OutcomeEvent)  # the hooks after the failing one still ran
    assert outcome.error is None


async def test_every_outcome_hook_hears_of_a_hook_failure(hooked: Any) -> None:
    recorder = Recorder()
    api = hooked(Hooks(before_attempt=_boom), recorder.hooks)

    with pytest.raises(HookError) as caught:
        await api.create()

    (outcome,) = recorder.of(OutcomeEvent)
    assert outcome.error is caught.value
    assert outcome.attempts == 1
    assert recorder.of(ResponseEvent) == []


async def test_a_hook_returning_a_coroutine_is_an_error_not_a_silent_skip(hooked: Any) -> None:
    async def later(event: object) -> None:
        raise AssertionError("never run")

    def schedule(event: object) -> object:
        return later(event)

    api = hooked(Hooks(before_attempt=schedule))

    with pytest.raises(HookError, match="returned an awaitable"):
        await api.create()

    gc.collect()  # a coroutine left unawaited would warn here, and warnings are errors
    assert api.server.requests == []


async def test_a_hook_error_message_never_shows_the_token(hooked: Any) -> None:
    def leak(event: AttemptEvent) -> None:
        raise ValueError(f"header was {event.request.headers['Authorization']}")

    api = hooked(Hooks(before_attempt=leak))

    with pytest.raises(HookError) as caught:
        await api.create()

    token = api.client._api_key
    assert isinstance(token, str)
    assert token not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@inprocess_only
async def test_a_cancelled_call_still_reaches_the_outcome_hooks(server: FakeServer) -> None:
    recorder = Recorder()
    sent = asyncio.Event()
    hooks = Hooks(before_attempt=lambda e: sent.set())
    api = fake_api(server, "async", hooks=[hooks, recorder.hooks])
    server.inject_fault(delay=30)

    task = asyncio.ensure_future(api.get("per_1"))
    await sent.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await api.close()

    (outcome,) = recorder.of(OutcomeEvent)
    assert isinstance(outcome.error, asyncio.CancelledError)


# -- configuration -------------------------------------------------------------------------------


def test_an_async_function_is_refused_as_a_hook() -> None:
    async def hook(event: AttemptEvent) -> None:
        return None

    with pytest.raises(InvalidRequestError, match="before_attempt is an async function") as caught:
        Hooks(before_attempt=hook)

    assert caught.value.param == "before_attempt"


def test_a_hook_that_is_not_callable_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="after_outcome must be callable"):
        Hooks(after_outcome="print")  # type: ignore[arg-type]


@pytest.mark.parametrize("hooks", ["x", 3, [Hooks(), print], {"before_attempt": print}])
def test_hooks_must_be_hooks_objects(server: FakeServer, hooks: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"hooks must be an edm_client\.Hooks") as caught:
        server.client(hooks=hooks)

    assert caught.value.param == "hooks"


def test_with_options_keeps_the_hooks_or_replaces_them(server: FakeServer) -> None:
    first, second = Hooks(), Hooks()
    with server.client(hooks=first) as client:
        assert client.hooks == (first,)
        assert client.with_options(timeout=5).hooks == (first,)
        assert client.with_options(hooks=second).hooks == (second,)
        assert client.with_options(hooks=[*client.hooks, second]).hooks == (first, second)
        assert client.with_options(hooks=[]).hooks == ()


async def test_hooks_given_to_with_options_run_on_the_copy_only(
    server: FakeServer, sleeps: list[float]
) -> None:
    recorder = Recorder()
    with server.client() as client:
        copy = client.with_options(hooks=recorder.hooks, retry_policy=no_wait())
        copy.performance.learning_records.create(person_id="p1", title="Go")
        client.performance.learning_records.create(person_id="p1", title="Rust")

    assert len(recorder.of(OutcomeEvent)) == 1


@inprocess_only
async def test_a_connection_error_reaches_the_hooks_as_the_transport_error(
    hooked: Any, sleeps: list[float]
) -> None:
    recorder = Recorder()
    api = hooked(recorder.hooks)
    api.server.inject_fault(exception=httpx.ConnectError, times=None)

    with pytest.raises(APIConnectionError) as caught:
        await api.get("per_1")

    responses = recorder.of(ResponseEvent)
    assert [type(r.error) for r in responses] == [httpx.ConnectError] * 3
    assert [r.response for r in responses] == [None] * 3
    assert [r.retry_in for r in responses] == [*sleeps, None]
    (outcome,) = recorder.of(OutcomeEvent)
    assert outcome.error is caught.value
