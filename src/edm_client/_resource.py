"""Base classes for resources, and the `.with_raw_response` wrappers.

A resource method describes its call as `RequestOptions` and hands it to the client; it never
touches httpx itself.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pydantic
from typing_extensions import ParamSpec

from edm_client._base_client import RequestOptions, raw_response_mode
from edm_client._pagination import AsyncCursorPage, AsyncPaginator, CursorPage
from edm_client._response import APIResponse, parse_json

if TYPE_CHECKING:
    from edm_client._base_client import AsyncAPIClient, SyncAPIClient

__all__ = ["AsyncAPIResource", "SyncAPIResource", "to_async_raw_response", "to_raw_response"]

M = TypeVar("M", bound=pydantic.BaseModel)
P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _model_parser(model: type[M]) -> Callable[[httpx.Response], M]:
    adapter = pydantic.TypeAdapter(model)
    what = model.__name__

    def parse(response: httpx.Response) -> M:
        return parse_json(response, adapter, what)

    return parse


def _with_cursor(options: RequestOptions, cursor: str) -> RequestOptions:
    return dataclasses.replace(options, params={**(options.params or {}), "cursor": cursor})


def _first_cursors(options: RequestOptions) -> frozenset[str]:
    cursor = (options.params or {}).get("cursor")
    return frozenset({cursor}) if cursor else frozenset()


class SyncAPIResource:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def _model(self, options: RequestOptions, model: type[M]) -> M:
        parser: Callable[[httpx.Response], M] = _model_parser(model)
        return self._client.request(options, parser)

    def _page(self, options: RequestOptions, item: type[M]) -> CursorPage[M]:
        def fetch(cursor: str) -> CursorPage[M]:
            return self._client.request(_with_cursor(options, cursor), parse)

        def parse(response: httpx.Response) -> CursorPage[M]:
            return CursorPage(
                response, item, fetch, _first_cursors(options), self._client.max_empty_pages
            )

        return self._client.request(options, parse)


class AsyncAPIResource:
    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    async def _model(self, options: RequestOptions, model: type[M]) -> M:
        parser: Callable[[httpx.Response], M] = _model_parser(model)
        return await self._client.request(options, parser)

    def _page(self, options: RequestOptions, item: type[M]) -> AsyncPaginator[M]:
        async def fetch(cursor: str) -> AsyncCursorPage[M]:
            return await self._client.request(_with_cursor(options, cursor), parse)

        def parse(response: httpx.Response) -> AsyncCursorPage[M]:
            return AsyncCursorPage(
                response, item, fetch, _first_cursors(options), self._client.max_empty_pages
            )

        return AsyncPaginator(lambda: self._client.request(options, parse))


def to_raw_response(method: Callable[P, R]) -> Callable[P, APIResponse[R]]:
    """`method`, returning the `APIResponse` (status, headers, request id) instead of parsing."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        token = raw_response_mode.set(True)
        try:
            response: Any = method(*args, **kwargs)
        finally:
            raw_response_mode.reset(token)
        return response  # type: ignore[no-any-return]

    return wrapped


def to_async_raw_response(
    method: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[APIResponse[R]]]:
    """The async twin of `to_raw_response`."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        token = raw_response_mode.set(True)
        try:
            response: Any = await method(*args, **kwargs)
        finally:
            raw_response_mode.reset(token)
        return response  # type: ignore[no-any-return]

    return wrapped
