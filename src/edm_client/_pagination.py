"""Cursor pages: `{"data": [...], "next_cursor": "..." | null}`.

Only `next_cursor: null` ends a listing; an empty page with a cursor goes on. A cursor the
server already gave once, or more than `max_empty_pages` empty pages in a row, ends iteration
with `APIResponseValidationError` instead of looping.
Iterating a page walks every later page too, holding one page in memory at a time.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
import pydantic
from typing_extensions import NotRequired, TypedDict

from edm_client._exceptions import APIResponseValidationError, EDMError
from edm_client._response import decode_body, parse_json, request_id_of, secrets_of_response
from edm_client._sanitize import identifier

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

__all__ = ["DEFAULT_MAX_EMPTY_PAGES", "AsyncCursorPage", "AsyncPaginator", "CursorPage"]

DEFAULT_MAX_EMPTY_PAGES = 100
"""Consecutive empty pages (each with a next_cursor) a listing follows before it gives up."""

# A string bound: evaluating `pydantic.BaseModel` would import pydantic's model machinery, and
# `_display` / `_dataframe` are imported where they are used, for the same reason: `import
# edm_client` stays light (docs/performance.md).
T = TypeVar("T", bound="BaseModel")
PageT = TypeVar("PageT", bound="_BasePage[Any]")


class _Envelope(TypedDict, Generic[T]):
    data: list[T]
    next_cursor: NotRequired[str | None]


@functools.cache
def _envelope_adapter(item: type[T]) -> pydantic.TypeAdapter[_Envelope[T]]:
    # Built first, the model's schema is reused here rather than made again (_models.py).
    item.model_rebuild()
    return pydantic.TypeAdapter(_Envelope[item])  # type: ignore[valid-type]


class _BasePage(Generic[T]):
    data: list[T]
    """The records on this page (possibly none, even when more pages follow)."""
    next_cursor: str | None
    """The cursor of the next page; None on the last page."""

    def __init__(
        self,
        response: httpx.Response,
        item: type[T],
        fetch: Callable[[str], Any],
        used_cursors: frozenset[str] = frozenset(),
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
    ) -> None:
        body = parse_json(response, _envelope_adapter(item), f"page of {item.__name__}")
        self.data = body["data"]
        self.next_cursor = body.get("next_cursor")
        self.http_response = response
        self._item = item
        self._fetch = fetch
        # Every cursor this listing has followed, with the depth of the page it fetched; shared
        # by all pages of one listing, so a repeat is found in O(1) however long the listing.
        self._trail = dict.fromkeys(used_cursors, 0)
        self._depth = 0
        self._empty_run = 0 if self.data else 1
        """Empty pages in a row up to and including this one."""
        self._max_empty_pages = max_empty_pages

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.http_response)

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def _checked_next_cursor(self) -> str:
        cursor = self.next_cursor
        if cursor is None:
            raise EDMError("This is the last page; check has_next_page() before get_next_page().")
        fetched_depth = self._trail.get(cursor)
        # Fetching the same next page twice is fine; a cursor that led to this page or an
        # earlier one means the server is sending us round in a loop.
        if fetched_depth is not None and fetched_depth <= self._depth:
            raise self._endless(
                f"The server sent next_cursor {_shown_cursor(cursor, self.http_response)} again "
                "after it was already used; "
                "stopping here instead of fetching the same pages forever"
            )
        if self._empty_run >= self._max_empty_pages:
            # Empty pages with a cursor are legal, but a server that sends nothing else would
            # keep a loop over the listing running forever.
            raise self._endless(
                f"The server sent {self._empty_run} empty pages in a row, each with a "
                "next_cursor; stopping here instead of following empty pages without end. If "
                "the listing really has longer gaps, raise max_empty_pages= on the client"
            )
        return cursor

    def _endless(self, message: str) -> APIResponseValidationError:
        request_id = self.request_id
        return APIResponseValidationError(
            message + (f" (request id {request_id})." if request_id else "."),
            response=self.http_response,
            body=decode_body(self.http_response),
            request_id=request_id,
        )

    def _follows(self, previous: _BasePage[T], cursor: str) -> None:
        self._trail = previous._trail
        self._depth = previous._depth + 1
        self._trail[cursor] = self._depth
        self._empty_run = 0 if self.data else previous._empty_run + 1

    def __len__(self) -> int:
        return len(self.data)

    def __getstate__(self) -> dict[str, Any]:
        # A pickle holds neither the client (a loaded page cannot fetch more) nor the token.
        from edm_client._sanitize import redacted_response

        response = redacted_response(self.http_response)
        return {**self.__dict__, "http_response": response, "_fetch": _fetch_after_unpickling}

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}[{self._item.__name__}] {len(self.data)} records,"
            f" next_cursor={self.next_cursor!r}>"
        )

    def __str__(self) -> str:
        from edm_client._display import models_text

        return models_text(self.data, item=self._item, caption=self._caption())

    def _repr_html_(self) -> str:
        from edm_client._display import models_html

        return models_html(self.data, item=self._item, caption=self._caption())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython in a terminal: the text table rather than the one-line repr.
        printer.text(repr(self) if cycle else str(self))

    def _caption(self) -> str:
        count = len(self.data)
        what = f"{count} {self._item.__name__} record{'' if count == 1 else 's'} on this page"
        more = "more pages follow" if self.has_next_page() else "last page"
        return f"{type(self).__name__}: {what}, {more}"


def _fetch_after_unpickling(cursor: str) -> Any:
    raise EDMError(
        "This page came from a pickle (or a copy), so it has no client to fetch the next "
        "page with; call list(..., cursor=page.next_cursor) on a client in this process."
    )


class CursorPage(_BasePage[T]):
    """One page of a listing. Iterate it to get every record of this and all later pages.

    A page pickles (and copies) with its records, `next_cursor` and response, the token
    redacted, but without its client: fetching a further page from such a copy raises
    `EDMError`; pass its `next_cursor` as `cursor=` to `list()` to go on.
    """

    def get_next_page(self) -> CursorPage[T]:
        """Fetch the page after this one."""
        cursor = self._checked_next_cursor()
        page: CursorPage[T] = self._fetch(cursor)
        page._follows(self, cursor)
        return page

    def iter_pages(self) -> Iterator[CursorPage[T]]:
        """This page and every later one, fetched as you go."""
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        # chain, not `yield from`: the records then reach the caller without passing through
        # a Python generator frame each (~1% of iterating a page of 100).
        return itertools.chain.from_iterable(page.data for page in self.iter_pages())

    def to_pandas(self) -> pd.DataFrame:
        """Every record of this and all later pages as a `pandas.DataFrame`.

        One column per field (fields newer than this SDK included), in field order: datetimes
        as `datetime64[us, UTC]`, text as `string`, optional numbers and booleans as the
        nullable `Float64`, `Int64` and `boolean`. Needs `pip install 'edm-sdk[pandas]'`.
        """
        from edm_client._dataframe import FrameBuilder

        builder = FrameBuilder(self._item)
        for page in self.iter_pages():
            builder.add(page.data)
        return builder.build()


class AsyncCursorPage(_BasePage[T]):
    """One page of a listing. `async for` over it gets every record of this and later pages.

    Pickles and copies as `CursorPage` does: without its client, so such a copy cannot fetch
    further pages.
    """

    async def get_next_page(self) -> AsyncCursorPage[T]:
        """Fetch the page after this one."""
        cursor = self._checked_next_cursor()
        page: AsyncCursorPage[T] = await self._fetch(cursor)
        page._follows(self, cursor)
        return page

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        """This page and every later one, fetched as you go."""
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    async def to_pandas(self) -> pd.DataFrame:
        """Every record of this and all later pages as a `pandas.DataFrame` (see
        `CursorPage.to_pandas`). Needs `pip install 'edm-sdk[pandas]'`."""
        from edm_client._dataframe import FrameBuilder

        builder = FrameBuilder(self._item)
        async for page in self.iter_pages():
            builder.add(page.data)
        return builder.build()


class AsyncPaginator(Generic[T]):
    """What async `list()` returns: `await` it for the first page, or `async for` every record."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncCursorPage[T]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncCursorPage[T]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item

    async def to_pandas(self) -> pd.DataFrame:
        """Every matching record as a `pandas.DataFrame`: `await client...list().to_pandas()`.

        The columns and dtypes are those of `CursorPage.to_pandas`. Needs
        `pip install 'edm-sdk[pandas]'`; without it this raises `ImportError` before any
        request is sent.
        """
        from edm_client._dataframe import require_pandas

        require_pandas()
        page = await self._first_page()
        return await page.to_pandas()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: await it for the first page, or `async for` every record>"

    def __reduce__(self) -> Any:
        raise TypeError(
            "An AsyncPaginator cannot be pickled: it is a request not yet sent. "
            "Await it and pickle the page it returns."
        )


def _shown_cursor(cursor: str, response: httpx.Response) -> str:
    """A server's cursor as an error quotes it: scrubbed, escaped and clipped, as a request
    id is (a cursor is opaque and may be any length)."""
    return f"'{identifier(cursor, secrets_of_response(response), limit=80)}'"
