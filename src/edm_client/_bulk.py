"""`create_many`: many creates through a window that adapts to the server's rate limit.

Written once for both clients: `_Batch` prepares items, derives idempotency keys, paces the
sends with an `AdaptiveConcurrency`, re-queues items answered 429, records outcomes and reports
progress, without any I/O. The drivers only hand it what finished and ask it what to send: the
sync one runs sends on a thread pool, the async one in worker tasks. Items are pulled from the
caller's iterable only as a send can start, so few are held at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeAlias, TypeVar

import httpx
import pydantic

from edm_client._adaptive import AdaptiveConcurrency
from edm_client._base_client import RequestOptions
from edm_client._exceptions import EDMError, InvalidRequestError, RateLimitError
from edm_client._retry import RetryEvent, RetryPolicy

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Future

    from edm_client._base_client import AsyncAPIClient, SyncAPIClient

__all__ = [
    "AdaptiveConcurrency",
    "BulkCreateResult",
    "BulkCreated",
    "BulkFailure",
    "BulkProgress",
    "ProgressCallback",
    "create_many",
    "create_many_async",
    "derived_idempotency_key",
]

M = TypeVar("M", bound=pydantic.BaseModel)

REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEY_PREFIX: Final = "edm-bulk-v1-"


@dataclass(frozen=True)
class BulkCreated(Generic[M]):
    """An item that was stored: its position in the input and the record the server returned."""

    index: int
    """Position of the item in the input, from 0."""
    record: M
    """The record as stored."""
    replayed: bool = False
    """True when the server answered with a replay: an earlier run already created it."""


@dataclass(frozen=True)
class BulkFailure:
    """An item that was not stored, and why."""

    index: int
    """Position of the item in the input, from 0."""
    item: Any
    """The item exactly as it was given."""
    error: EDMError
    """The typed error: `InvalidRequestError` (nothing was sent) or an `APIError`."""


@dataclass
class BulkCreateResult(Generic[M]):
    """What `create_many` did: every item is in exactly one of `created` and `failed`."""

    created: list[BulkCreated[M]] = field(default_factory=list)
    """Stored items, in input order."""
    failed: list[BulkFailure] = field(default_factory=list)
    """Items that were not stored, in input order."""

    @property
    def ok(self) -> bool:
        """True when every item was stored."""
        return not self.failed

    @property
    def total(self) -> int:
        """How many items were read from the input."""
        return len(self.created) + len(self.failed)

    @property
    def created_count(self) -> int:
        """How many items are stored (including replays of an earlier run)."""
        return len(self.created)

    @property
    def replayed_count(self) -> int:
        """How many of the stored items an earlier run had already created."""
        return sum(1 for c in self.created if c.replayed)

    @property
    def failed_count(self) -> int:
        """How many items were not stored."""
        return len(self.failed)

    @property
    def records(self) -> list[M]:
        """The stored records, in input order."""
        return [c.record for c in self.created]

    def __repr__(self) -> str:
        return (
            f"<BulkCreateResult {self.created_count} created "
            f"({self.replayed_count} replayed), {self.failed_count} failed>"
        )


def derived_idempotency_key(path: str, content: bytes | None) -> str:
    """A key that depends only on what is sent, so the same item always gets the same key."""
    body = json.loads(content) if content else None
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(f"POST {path}\n{canonical}".encode()).hexdigest()
    return _KEY_PREFIX + digest[:48]


def prepare_item(
    item: object,
    arguments: Collection[str],
    build: Callable[[Mapping[str, Any]], RequestOptions],
) -> RequestOptions:
    """The request for one item (a mapping of `create` arguments), keyed by its content.

    Raises `InvalidRequestError` for anything `create` would refuse, before any request.
    """
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            "each item must be a mapping of create() arguments, such as a dict (for a pandas "
            f"DataFrame, pass df.to_dict('records')), not {type(item).__name__}"
        )
    for name in item:
        if name not in arguments:
            raise InvalidRequestError(
                f"{name!r} is not an argument of create(); an item may hold {', '.join(arguments)}",
                param=str(name),
            )
    options = build({name: item.get(name) for name in arguments})
    if item.get("idempotency_key") is None:
        key = derived_idempotency_key(options.path, options.content)
        options = dataclasses.replace(options, idempotency_key=key)
    return options


def created_parser(
    parse: Callable[[httpx.Response], M],
) -> Callable[[httpx.Response], tuple[M, bool]]:
    """`parse`, also noting whether the server replayed an earlier create."""

    def parse_created(response: httpx.Response) -> tuple[M, bool]:
        replayed = response.headers.get(REPLAYED_HEADER, "").lower() == "true"
        return parse(response), replayed

    return parse_created


@dataclass(frozen=True)
class BulkProgress:
    """Where a `create_many` batch stands: the third argument of `on_progress`, if it takes one."""

    done: int
    """Items finished so far, created or failed."""
    total: int | None
    """`len(items)`, or None when `items` has no length."""
    concurrency: int
    """How many creates the batch allows in flight now (it adapts: see `AdaptiveConcurrency`)."""
    in_flight: int
    """Creates sent and not yet answered."""
    rate: float
    """Items finished per second over the last few seconds."""
    paused_for: float
    """Seconds the batch still waits, after a 429, before it sends again; 0.0 while it sends."""
    rate_limited: int
    """429 answers so far in this call (each such item is sent again after the pause)."""


ProgressCallback: TypeAlias = (
    Callable[[int, int | None], object] | Callable[[int, int | None, BulkProgress], object]
)
"""`on_progress(done, total)`: items finished so far, and the total when `items` has a `len()`;
`on_progress(done, total, progress)` also gets a `BulkProgress` and hears of pauses."""


@dataclass(eq=False)
class _Ticket:
    """One item on its way: sent, or waiting to be sent again after a 429."""

    index: int
    item: Any
    options: RequestOptions
    epoch: int = 0
    """The pacer's epoch when it was last sent."""
    attempts: int = 0
    """How many times the batch has sent it (each may hold the pipeline's own retries)."""


_Outcome: TypeAlias = "tuple[Any, bool] | BaseException"
_RATE_WINDOW: Final = 5.0
"""Seconds over which `BulkProgress.rate` is measured."""
_PAUSE_TICK: Final = 1.0
"""While pausing, progress is reported at least this often (seconds)."""


class _Batch(Generic[M]):
    """A bulk create without its I/O: drivers `take()` what to send and `settle()` what finished.

    `take()` hands out an item while the pacer allows one more in flight; `wait_hint()` says how
    long a driver with nothing to send may wait before asking again. Items are pulled from the
    caller's iterable only when a send can start, so at most `maximum` items are held at once.
    """

    def __init__(
        self,
        items: Iterable[Any],
        prepare: Callable[[object], RequestOptions],
        concurrency: int | AdaptiveConcurrency,
        on_progress: ProgressCallback | None,
        policy: RetryPolicy,
    ) -> None:
        self.pacer = (
            concurrency
            if isinstance(concurrency, AdaptiveConcurrency)
            else AdaptiveConcurrency(concurrency)
        )
        if hasattr(items, "to_dict") and hasattr(items, "columns"):
            raise InvalidRequestError(
                "items is a DataFrame, whose iteration yields column names; pass "
                "df.to_dict('records') instead",
                param="items",
            )
        if not isinstance(items, Iterable) or isinstance(items, (str, bytes, Mapping)):
            raise InvalidRequestError(
                "items must be an iterable of mappings (e.g. a list of dicts or a generator), "
                f"not {type(items).__name__}",
                param="items",
            )
        self.total = len(items) if isinstance(items, Sized) else None
        self._result: BulkCreateResult[M] = BulkCreateResult()
        self.policy = policy
        self.send_policy = dataclasses.replace(policy, statuses=policy.statuses - {429})
        """The pipeline's policy for bulk sends: a 429 comes back to the batch, which paces."""
        self._resend_throttled = 429 in policy.statuses and policy.max_retries > 0
        self._source = enumerate(items)
        self._prepare = prepare
        self._on_item, self._on_state = _reporters(on_progress)
        self._again: deque[_Ticket] = deque()
        self._drained = False
        self._gave_up: RateLimitError | None = None
        self._in_flight = 0
        self._done = 0
        self._finished_at: deque[float] = deque()
        self._started = self.pacer.clock()
        self._rate_limited = 0
        self._pausing = False
        self._ticked_at = -math.inf

    def done(self) -> bool:
        """Every item has its outcome."""
        return self._in_flight == 0 and self._drained and not self._again

    def take(self) -> _Ticket | None:
        """The next item to send now, or None (pausing, the window is full, or nothing left)."""
        if self.pacer.paused_for():
            return None
        if self._pausing:
            self._pausing = False
            self._report_state()
        if self._in_flight >= self.pacer.limit:
            return None
        ticket = self._next()
        if ticket is not None:
            ticket.epoch = self.pacer.epoch
            ticket.attempts += 1
            self._in_flight += 1
        return ticket

    def wait_hint(self) -> float | None:
        """How long a driver with nothing to send waits for a send to finish before asking
        again: the pause left (reported about once a second), else None (no limit)."""
        paused = self.pacer.paused_for()
        return min(paused, _PAUSE_TICK) if paused else None

    def settle(self, ticket: _Ticket, outcome: _Outcome) -> None:
        """Record a finished send: created, failed, or queued to be sent again after a 429."""
        self._in_flight -= 1
        if isinstance(outcome, RateLimitError) and self._gave_up is None:
            self._rate_limited += 1
            handled = self._throttled(ticket, outcome)
            if self.pacer.paused_for():
                self._pausing = True
                self._report_state()
            if handled:
                return
        elif isinstance(outcome, tuple):
            self.pacer.succeeded()
        self._finish(ticket.index, ticket.item, outcome)

    def tick(self) -> None:
        """While pausing, report progress (a countdown) about once a second."""
        if self._pausing and self.pacer.clock() - self._ticked_at >= _PAUSE_TICK:
            self._report_state()

    def result(self) -> BulkCreateResult[M]:
        """What the batch did, in input order."""
        self._result.created.sort(key=lambda c: c.index)
        self._result.failed.sort(key=lambda f: f.index)
        return self._result

    def _next(self) -> _Ticket | None:
        """The next item to send: one refused with 429 first, then the next valid input item."""
        if self._again:
            return self._again.popleft()
        while not self._drained:
            entry = next(self._source, None)
            if entry is None:
                self._drained = True
                break
            index, item = entry
            try:
                options = self._prepare(item)
            except EDMError as error:
                self._finish(index, item, error)
                continue
            if self._gave_up is not None:
                self._finish(index, item, self._gave_up)
                continue
            return _Ticket(index, item, options)
        return None

    def _throttled(self, ticket: _Ticket, error: RateLimitError) -> bool:
        """Pace the batch after a 429; True when the item was dealt with here (queued to be
        sent again, or failed by `on_retry`), False when it fails with this 429."""
        pause = _pause_after(error, self.policy, self.pacer.pauses_in_a_row)
        if not self.pacer.throttled(ticket.epoch, pause, patience=self.policy.max_retry_after):
            self._give_up(error)
            return False
        if not self._resend_throttled:
            return False
        if self.policy.on_retry is not None:
            event = RetryEvent(ticket.attempts, self.pacer.paused_for(), None, error.response)
            try:
                self.policy.on_retry(event)
            except EDMError as stop:  # on_retry raising stops this item's retries
                self._finish(ticket.index, ticket.item, stop)
                return True
        self._again.append(ticket)
        return True

    def _give_up(self, error: RateLimitError) -> None:
        """The server kept refusing: every item not yet sent fails with its last answer."""
        self._gave_up = error
        while self._again:
            ticket = self._again.popleft()
            self._finish(ticket.index, ticket.item, error)

    def _finish(self, index: int, item: Any, outcome: tuple[M, bool] | BaseException) -> None:
        if isinstance(outcome, tuple):
            record, replayed = outcome
            self._result.created.append(BulkCreated(index, record, replayed))
        elif isinstance(outcome, EDMError):
            self._result.failed.append(BulkFailure(index, item, outcome))
        else:
            raise outcome  # a bug or an interrupt, not a bad item: stop the batch
        self._done += 1
        if self._on_item is not None:  # the rate is kept only for someone who reads it
            now = self.pacer.clock()
            self._finished_at.append(now)
            self._on_item(self._progress(now))

    def _report_state(self) -> None:
        if self._on_state is not None:
            now = self._ticked_at = self.pacer.clock()
            self._on_state(self._progress(now))

    def _progress(self, now: float) -> BulkProgress:
        while self._finished_at and self._finished_at[0] < now - _RATE_WINDOW:
            self._finished_at.popleft()
        span = min(_RATE_WINDOW, now - self._started)
        return BulkProgress(
            done=self._done,
            total=self.total,
            concurrency=self.pacer.limit,
            in_flight=self._in_flight,
            rate=len(self._finished_at) / span if span > 0 else 0.0,
            paused_for=self.pacer.paused_for(),
            rate_limited=self._rate_limited,
        )


def _pause_after(error: RateLimitError, policy: RetryPolicy, pauses_in_a_row: int) -> float:
    """How long the batch pauses after this 429: its `Retry-After` (capped at the policy's
    `max_retry_after`), else the policy's backoff for the pauses so far."""
    if error.retry_after is not None:
        return min(error.retry_after, policy.max_retry_after)
    return policy.delay(pauses_in_a_row)


def _reporters(
    on_progress: ProgressCallback | None,
) -> tuple[Callable[[BulkProgress], None] | None, Callable[[BulkProgress], None] | None]:
    """What to call when an item finishes, and when the batch pauses or resumes.

    A callback that declares a third positional parameter gets the `BulkProgress` too, and
    hears of pauses; `on_progress(done, total)` is called once per item, as it always was.
    """
    if on_progress is None:
        return None, None
    callback: Any = on_progress
    if _positional_parameters(callback) >= 3:

        def report(progress: BulkProgress) -> None:
            callback(progress.done, progress.total, progress)

        return report, report

    def report_count(progress: BulkProgress) -> None:
        callback(progress.done, progress.total)

    return report_count, None


def _positional_parameters(function: Callable[..., object]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: the two-argument form
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in positional)


def _outcome(future: Future[Any] | asyncio.Future[Any]) -> tuple[Any, bool] | BaseException:
    error = future.exception()
    return future.result() if error is None else error


def create_many(
    items: Iterable[Any],
    *,
    client: SyncAPIClient,
    prepare: Callable[[object], RequestOptions],
    parser: Callable[[httpx.Response], tuple[M, bool]],
    concurrency: int | AdaptiveConcurrency,
    on_progress: ProgressCallback | None,
) -> BulkCreateResult[M]:
    """Run the batch's sends on a pool of `maximum` threads sharing the client's connections.

    The calling thread hands out the sends and records what finished, in input order within
    one wake-up, so `on_progress` runs in it.
    """
    # Here, not at the top, as asyncio below: a resource imports this module, and a process
    # that never bulk-creates should not load them (docs/performance.md).
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    batch: _Batch[M] = _Batch(items, prepare, concurrency, on_progress, client.retry_policy)
    sender = client.with_options(retry_policy=batch.send_policy)
    pool = ThreadPoolExecutor(batch.pacer.maximum, thread_name_prefix="edm-bulk")
    sent: dict[Future[tuple[M, bool]], _Ticket] = {}
    try:
        while not batch.done():
            while (ticket := batch.take()) is not None:
                sent[pool.submit(sender.request, ticket.options, parser)] = ticket
            if sent:
                finished, _ = wait(sent, timeout=batch.wait_hint(), return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: sent[f].index):
                    batch.settle(sent.pop(future), _outcome(future))
            elif not batch.done():  # pausing with nothing in flight
                time.sleep(batch.wait_hint() or 0.0)
            batch.tick()
    except BaseException:
        # Ctrl-C or a bug: return at once; sends already under way finish in the background.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return batch.result()


async def create_many_async(
    items: Iterable[Any],
    *,
    client: AsyncAPIClient,
    prepare: Callable[[object], RequestOptions],
    parser: Callable[[httpx.Response], tuple[M, bool]],
    concurrency: int | AdaptiveConcurrency,
    on_progress: ProgressCallback | None,
) -> BulkCreateResult[M]:
    """Run the batch's sends from `maximum` worker tasks on the running loop.

    Each worker takes an item, sends it, records the outcome (so `on_progress` is called as
    each item finishes) and takes the next at once; a worker with nothing to send waits until
    another one's send finishes, or a pause ends.
    """
    import asyncio

    batch: _Batch[M] = _Batch(items, prepare, concurrency, on_progress, client.retry_policy)
    sender = client.with_options(retry_policy=batch.send_policy)
    loop = asyncio.get_running_loop()
    changed = loop.create_future()
    # When settle() raises (on_progress failed), the other workers let their create in flight
    # finish instead of being cancelled mid-request: a cancelled create leaves its outcome
    # unknown, and httpx can leave the cancelled connection's socket open.
    stopped: list[Exception] = []

    def notify() -> None:
        """Wake the workers waiting for a free slot or the end of a pause."""
        nonlocal changed
        changed.set_result(None)
        changed = loop.create_future()

    async def worker() -> None:
        while not stopped and not batch.done():
            try:
                ticket = batch.take()
            except Exception as error:  # the iterable or on_progress failed
                stopped.append(error)
                break
            if ticket is None:
                if batch.done():  # that take() found the input at its end
                    break
                await asyncio.wait({changed}, timeout=batch.wait_hint())
                batch.tick()
                continue
            try:
                outcome: _Outcome = await sender.request(ticket.options, parser)
            except Exception as error:  # sorted out by settle(): only EDMErrors are per item
                outcome = error
            try:
                batch.settle(ticket, outcome)
            except Exception as error:
                stopped.append(error)
            notify()
        notify()  # a worker leaving may be what the others wait for

    workers = [asyncio.ensure_future(worker()) for _ in range(batch.pacer.maximum)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if stopped:
        raise stopped[0]
    return batch.result()
