"""`create_many`: many creates through a bounded window, safe to run again after a crash.

Written once for both clients: `_Batch` prepares items, derives idempotency keys, records
outcomes and reports progress; the sync driver runs sends on a thread pool and the async one on
tasks, and those two short loops are the only difference. Items are pulled from the caller's
iterable only as a slot in the window frees up, so at most `concurrency` items are held at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeAlias, TypeVar

import httpx
import pydantic

from edm_client._base_client import RequestOptions
from edm_client._exceptions import EDMError, InvalidRequestError

__all__ = [
    "BulkCreateResult",
    "BulkCreated",
    "BulkFailure",
    "ProgressCallback",
    "create_many",
    "create_many_async",
    "derived_idempotency_key",
]

M = TypeVar("M", bound=pydantic.BaseModel)
M_co = TypeVar("M_co", bound=pydantic.BaseModel, covariant=True)

ProgressCallback: TypeAlias = Callable[[int, "int | None"], None]
"""`on_progress(done, total)`: items finished so far, and the total when `items` has a `len()`."""

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


class _Outcome(Protocol[M_co]):
    """A finished send: a thread pool's or an asyncio future."""

    def exception(self) -> BaseException | None: ...

    def result(self) -> tuple[M_co, bool]: ...


class _Batch(Generic[M]):
    """The I/O-free part of a bulk create, shared by the sync and async drivers."""

    def __init__(
        self,
        items: Iterable[Any],
        prepare: Callable[[object], RequestOptions],
        concurrency: int,
        on_progress: ProgressCallback | None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequestError(
                f"concurrency must be an int of at least 1, not {concurrency!r}",
                param="concurrency",
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
        self.concurrency = concurrency
        self.total = len(items) if isinstance(items, Sized) else None
        self.result: BulkCreateResult[M] = BulkCreateResult()
        self._items = items
        self._prepare = prepare
        self._on_progress = on_progress
        self._done = 0
        self.in_flight: dict[Any, tuple[int, Any]] = {}

    def requests(self) -> Iterable[tuple[int, Any, RequestOptions]]:
        """The items that pass client-side checks, as requests; the others fail on the spot."""
        for index, item in enumerate(self._items):
            try:
                options = self._prepare(item)
            except EDMError as error:
                self.finish(index, item, error)
                continue
            yield index, item, options

    @property
    def full(self) -> bool:
        return len(self.in_flight) >= self.concurrency

    def settle(self, futures: Iterable[_Outcome[M]]) -> None:
        """Record finished sends, in input order within one wake-up."""
        for future in sorted(futures, key=lambda f: self.in_flight[f][0]):
            index, item = self.in_flight.pop(future)
            error = future.exception()
            self.finish(index, item, future.result() if error is None else error)

    def finish(self, index: int, item: Any, outcome: tuple[M, bool] | BaseException) -> None:
        if isinstance(outcome, tuple):
            record, replayed = outcome
            self.result.created.append(BulkCreated(index, record, replayed))
        elif isinstance(outcome, EDMError):
            self.result.failed.append(BulkFailure(index, item, outcome))
        else:
            raise outcome  # a bug or an interrupt, not a bad item: stop the batch
        self._done += 1
        if self._on_progress is not None:
            self._on_progress(self._done, self.total)

    def close(self) -> BulkCreateResult[M]:
        self.result.created.sort(key=lambda c: c.index)
        self.result.failed.sort(key=lambda f: f.index)
        return self.result


def create_many(
    items: Iterable[Any],
    *,
    prepare: Callable[[object], RequestOptions],
    send: Callable[[RequestOptions], tuple[M, bool]],
    concurrency: int,
    on_progress: ProgressCallback | None,
) -> BulkCreateResult[M]:
    """Send every item through a pool of `concurrency` threads, at most that many in flight."""
    # Here, not at the top, as asyncio below: a resource imports this module on first use, and a
    # process that never bulk-creates should not pay for them (docs/performance.md).
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    batch: _Batch[M] = _Batch(items, prepare, concurrency, on_progress)
    pool = ThreadPoolExecutor(batch.concurrency, thread_name_prefix="edm-bulk")
    try:
        for index, item, options in batch.requests():
            if batch.full:
                batch.settle(wait(batch.in_flight, return_when=FIRST_COMPLETED).done)
            batch.in_flight[pool.submit(send, options)] = (index, item)
        batch.settle(wait(batch.in_flight).done)
    except BaseException:
        # Ctrl-C or a bug: return at once; sends already under way finish in the background.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return batch.close()


async def create_many_async(
    items: Iterable[Any],
    *,
    prepare: Callable[[object], RequestOptions],
    send: Callable[[RequestOptions], Awaitable[tuple[M, bool]]],
    concurrency: int,
    on_progress: ProgressCallback | None,
) -> BulkCreateResult[M]:
    """Send every item from `concurrency` worker tasks that take turns pulling the next item."""
    import asyncio

    batch: _Batch[M] = _Batch(items, prepare, concurrency, on_progress)
    requests = iter(batch.requests())  # shared: only one task runs at a time, so no lock

    # When finish() raises (on_progress failed), the other workers let their create in flight
    # finish instead of being cancelled mid-request: a cancelled create leaves its outcome
    # unknown, and httpx can leave the cancelled connection's socket open.
    stopped: list[Exception] = []

    async def worker() -> None:
        for index, item, options in requests:
            try:
                outcome: tuple[M, bool] | BaseException = await send(options)
            except Exception as error:  # sorted out by finish(): only EDMErrors are per item
                outcome = error
            try:
                batch.finish(index, item, outcome)
            except Exception as error:
                stopped.append(error)
            if stopped:
                return

    workers = [asyncio.ensure_future(worker()) for _ in range(batch.concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if stopped:
        raise stopped[0]
    return batch.close()
