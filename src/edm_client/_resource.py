"""Base classes for resources and namespaces, and the `.with_raw_response` wrappers.

A resource class names its `ResourceDefinition` and writes `create` and `list`, whose
arguments are its own, with explicit typed signatures that hand them to `_create` and `_list`
here; `get`, `create_many` and `with_raw_response` are the same for every resource and come
from the base class. The requests themselves are built in `_operations.py`. A resource never
touches httpx itself.

A namespace and its resources hold their client, and the client holds them only weakly
(`_held.py`), so that no reference cycle keeps a dropped client's sockets open.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import httpx
import pydantic
from typing_extensions import ParamSpec

from edm_client._base_client import RequestOptions, Timeout, raw_response_mode
from edm_client._bulk import (
    AdaptiveConcurrency,
    BulkCreateResult,
    ProgressCallback,
    create_many,
    create_many_async,
    created_parser,
)
from edm_client._config import NOT_GIVEN, NotGiven
from edm_client._definition import ResourceDefinition, namespace_resources, resource_classes
from edm_client._held import handed_out
from edm_client._operations import bulk_item_options, create_options, get_options, list_options
from edm_client._pagination import AsyncCursorPage, AsyncPaginator, CursorPage
from edm_client._params import IdInput
from edm_client._response import APIResponse, parse_json

if TYPE_CHECKING:
    from edm_client._base_client import AsyncAPIClient, SyncAPIClient

__all__ = [
    "AsyncAPIResource",
    "AsyncNamespace",
    "Namespace",
    "SyncAPIResource",
    "to_async_raw_response",
    "to_raw_response",
]

M = TypeVar("M", bound=pydantic.BaseModel)
B = TypeVar("B", bound=pydantic.BaseModel)
T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

_RAW_OPERATIONS = ("create", "get", "list")
_GENERIC_METHODS = ("get", "create_many")
"""The methods every resource inherits, typed with the base's `M`."""


@functools.cache
def _model_parser(model: type[M]) -> Callable[[httpx.Response], M]:
    model.model_rebuild()  # a model is built on first use (_models.py): once, here, not twice
    adapter = pydantic.TypeAdapter(model)
    what = model.__name__

    def parse(response: httpx.Response) -> M:
        return parse_json(response, adapter, what)

    return parse


def _name_the_model(cls: type, base: type, model: type) -> None:
    """Give resource class `cls` copies of `base`'s generic methods whose annotations name
    its `model` where the base says `M`.

    A type checker binds `M` through the generic base, but `inspect.signature`, `help()` and
    IDEs that introspect read the function itself. A copy (the same code, defaults and
    docstring), not a wrapper, so a call costs nothing more. A method the class, or a class
    between it and `base`, writes itself is kept."""
    for name in _GENERIC_METHODS:
        method = vars(base)[name]
        code: types.CodeType = method.__code__
        inherited: object = getattr(getattr(cls, name), "__code__", None)
        if inherited is not code:
            continue  # not `base`'s, nor a copy of it made for a parent class
        copy = types.FunctionType(
            code, method.__globals__, name, method.__defaults__, method.__closure__
        )
        copy.__kwdefaults__ = method.__kwdefaults__
        copy.__doc__ = method.__doc__
        copy.__module__ = cls.__module__
        copy.__qualname__ = f"{cls.__qualname__}.{name}"
        hints = typing.get_type_hints(method)
        # The others stay as written (strings read in the base's module), as for create and list.
        copy.__annotations__ = {
            key: _bound(hints[key], model) if _mentions_m(hints[key]) else annotation
            for key, annotation in method.__annotations__.items()
        }
        setattr(cls, name, copy)


def _mentions_m(hint: Any) -> bool:
    return hint is M or M in getattr(hint, "__parameters__", ())


def _bound(hint: Any, model: type) -> Any:
    return model if hint is M else hint[model]


def _with_cursor(options: RequestOptions, cursor: str) -> RequestOptions:
    return dataclasses.replace(options, params={**(options.params or {}), "cursor": cursor})


def _first_cursors(options: RequestOptions) -> frozenset[str]:
    cursor = (options.params or {}).get("cursor")
    return frozenset({cursor}) if cursor else frozenset()


class SyncAPIResource(Generic[M]):
    """Base of a resource's class for `Client`; `M` is its record model."""

    _definition: ClassVar[ResourceDefinition[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_definition" in vars(cls):
            _name_the_model(cls, SyncAPIResource, cls._definition.model)

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    @property
    def _record(self) -> type[M]:
        return cast("type[M]", self._definition.model)

    def _model(self, options: RequestOptions, model: type[B]) -> B:
        parser: Callable[[httpx.Response], B] = _model_parser(model)
        return self._client.request(options, parser)

    def _page(self, options: RequestOptions, item: type[M]) -> CursorPage[M]:
        pager = _Pager(self._client, options, item)
        return self._client.request(options, pager.parse)

    def _create(
        self,
        fields: Mapping[str, object],
        idempotency_key: str | None,
        timeout: Timeout | None,
        extra_headers: Mapping[str, str] | None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> M:
        options = create_options(
            self._definition,
            fields,
            idempotency_key=idempotency_key,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return self._model(options, self._record)

    def create_many(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int | AdaptiveConcurrency = 8,
        on_progress: ProgressCallback | None = None,
    ) -> BulkCreateResult[M]:
        """Create every item (a mapping of `create`'s arguments); one bad item never stops the rest.

        `items` is read as a stream (a generator over a million rows is fine): at most
        `concurrency` items are in flight or held at once. The batch adapts to the server's
        rate limit: it starts at `concurrency` in flight, halves that on a 429 and pauses as a
        whole for its `Retry-After`, sends the refused items again (same idempotency key), and
        grows back while creates succeed (see `AdaptiveConcurrency`, which may be passed as
        `concurrency` to carry the pace across calls). An item without its own
        `idempotency_key` gets one derived from its content, so running the same batch again
        after a crash creates nothing twice (within the server's 24 h idempotency window);
        identical items therefore share one record. Items the API would reject fail on the
        spot with `InvalidRequestError`, without a request. `on_progress(done, total)` is
        called in the calling thread (or task) as items finish; `total` is None when `items`
        has no `len()`. A callback taking a third argument also gets a `BulkProgress` (rate,
        concurrency, pause) and is called when the batch pauses and resumes.

        Returns a `BulkCreateResult`: `.created` (index, record) and `.failed` (index, item,
        error), both in input order, `.ok` and counts.
        """
        return create_many(
            items,
            client=self._client,
            prepare=functools.partial(bulk_item_options, self._definition),
            parser=created_parser(_model_parser(self._record)),
            concurrency=concurrency,
            on_progress=on_progress,
        )

    def get(
        self,
        record_id: IdInput,
        *,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> M:
        """Fetch one record by id (soft-deleted ones too). Raises `NotFoundError` if absent."""
        options = get_options(
            self._definition,
            record_id,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return self._model(options, self._record)

    def _list(  # noqa: PLR0917 - positional, so that a resource's list passes them in one line
        self,
        filters: Mapping[str, object],
        include_deleted: bool,
        limit: int | None,
        cursor: str | None,
        timeout: Timeout | None,
        extra_headers: Mapping[str, str] | None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> CursorPage[M]:
        options = list_options(
            self._definition,
            filters,
            include_deleted=include_deleted,
            limit=limit,
            cursor=cursor,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return self._page(options, self._record)

    @property
    def with_raw_response(self) -> Any:
        """The same methods, returning an `APIResponse` with status, headers and request id."""
        return _RawResponses(self, to_raw_response)


class AsyncAPIResource(Generic[M]):
    """Base of a resource's class for `AsyncClient`; `M` is its record model."""

    _definition: ClassVar[ResourceDefinition[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_definition" in vars(cls):
            _name_the_model(cls, AsyncAPIResource, cls._definition.model)

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    @property
    def _record(self) -> type[M]:
        return cast("type[M]", self._definition.model)

    async def _model(self, options: RequestOptions, model: type[B]) -> B:
        parser: Callable[[httpx.Response], B] = _model_parser(model)
        return await self._client.request(options, parser)

    def _page(self, options: RequestOptions, item: type[M]) -> AsyncPaginator[M]:
        pager = _AsyncPager(self._client, options, item)
        return AsyncPaginator(lambda: self._client.request(options, pager.parse))

    async def _create(
        self,
        fields: Mapping[str, object],
        idempotency_key: str | None,
        timeout: Timeout | None,
        extra_headers: Mapping[str, str] | None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> M:
        options = create_options(
            self._definition,
            fields,
            idempotency_key=idempotency_key,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return await self._model(options, self._record)

    async def create_many(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        concurrency: int | AdaptiveConcurrency = 8,
        on_progress: ProgressCallback | None = None,
    ) -> BulkCreateResult[M]:
        """The async twin of the sync class's `create_many`: the same arguments, items, pacing
        and result, with up to `concurrency` items in flight as tasks on the running loop."""
        return await create_many_async(
            items,
            client=self._client,
            prepare=functools.partial(bulk_item_options, self._definition),
            parser=created_parser(_model_parser(self._record)),
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def get(
        self,
        record_id: IdInput,
        *,
        timeout: Timeout | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> M:
        """Fetch one record by id (soft-deleted ones too). Raises `NotFoundError` if absent."""
        options = get_options(
            self._definition,
            record_id,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return await self._model(options, self._record)

    def _list(  # noqa: PLR0917 - positional, so that a resource's list passes them in one line
        self,
        filters: Mapping[str, object],
        include_deleted: bool,
        limit: int | None,
        cursor: str | None,
        timeout: Timeout | None,
        extra_headers: Mapping[str, str] | None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> AsyncPaginator[M]:
        options = list_options(
            self._definition,
            filters,
            include_deleted=include_deleted,
            limit=limit,
            cursor=cursor,
            timeout=timeout,
            extra_headers=extra_headers,
            total_timeout=total_timeout,
        )
        return self._page(options, self._record)

    @property
    def with_raw_response(self) -> Any:
        """The same methods, returning an `APIResponse` with status, headers and request id."""
        return _RawResponses(self, to_async_raw_response)


class _Pager(Generic[M]):
    """Fetches and parses the pages of one listing. A class rather than two closures that
    refer to each other: that would be a reference cycle holding the client."""

    def __init__(self, client: SyncAPIClient, options: RequestOptions, item: type[M]) -> None:
        self._client = client
        self._options = options
        self._item = item
        self._first_cursors = _first_cursors(options)

    def fetch(self, cursor: str) -> CursorPage[M]:
        return self._client.request(_with_cursor(self._options, cursor), self.parse)

    def parse(self, response: httpx.Response) -> CursorPage[M]:
        return CursorPage(
            response, self._item, self.fetch, self._first_cursors, self._client.max_empty_pages
        )


class _AsyncPager(Generic[M]):
    """The async twin of `_Pager`."""

    def __init__(self, client: AsyncAPIClient, options: RequestOptions, item: type[M]) -> None:
        self._client = client
        self._options = options
        self._item = item
        self._first_cursors = _first_cursors(options)

    async def fetch(self, cursor: str) -> AsyncCursorPage[M]:
        return await self._client.request(_with_cursor(self._options, cursor), self.parse)

    def parse(self, response: httpx.Response) -> AsyncCursorPage[M]:
        return AsyncCursorPage(
            response, self._item, self.fetch, self._first_cursors, self._client.max_empty_pages
        )


class _RawResponses:
    """`resource.with_raw_response` for a resource without typed wrappers of its own.

    Made afresh on each access and never kept by the resource, so no cycle holds the client.
    """

    def __init__(self, resource: object, wrap: Callable[[Any], Any]) -> None:
        self._resource = resource
        self._wrap = wrap

    def __getattr__(self, name: str) -> Any:
        if name not in _RAW_OPERATIONS or not hasattr(self._resource, name):
            raise AttributeError(f"with_raw_response has no method {name!r}")
        return self._wrap(getattr(self._resource, name))

    def __dir__(self) -> list[str]:
        return [name for name in _RAW_OPERATIONS if hasattr(self._resource, name)]


class RawResponseMethod(Generic[P, R]):
    """A resource method that returns the `APIResponse` (status, headers, request id) instead
    of parsing it. Made on every `with_raw_response` access, so it is kept cheap: one small
    object, no copying of the method's attributes (its signature and docstring are found
    through `__wrapped__`)."""

    def __init__(self, method: Callable[P, R]) -> None:
        self.__wrapped__ = method
        self.__doc__ = method.__doc__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        token = raw_response_mode.set(True)
        try:
            response: Any = self.__wrapped__(*args, **kwargs)
        finally:
            raw_response_mode.reset(token)
        return response  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<raw response method {getattr(self.__wrapped__, '__qualname__', '?')}>"


class AsyncRawResponseMethod(Generic[P, R]):
    """The async twin of `RawResponseMethod`."""

    def __init__(self, method: Callable[P, Awaitable[R]]) -> None:
        self.__wrapped__ = method
        self.__doc__ = method.__doc__

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        token = raw_response_mode.set(True)
        try:
            response: Any = await self.__wrapped__(*args, **kwargs)
        finally:
            raw_response_mode.reset(token)
        return response  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<raw response method {getattr(self.__wrapped__, '__qualname__', '?')}>"


to_raw_response = RawResponseMethod
to_async_raw_response = AsyncRawResponseMethod


class Namespace:
    """A group of resources on `Client`, e.g. `client.performance`.

    Its resources are typed properties (`self._resource(LearningRecords)`); a resource
    registered from elsewhere (`_definition.register`) is reached by its name too.
    """

    _namespace: ClassVar[str]
    _asynchronous: ClassVar[bool] = False

    def __init__(self, client: Any) -> None:
        self._client = client

    def _resource(self, cls: type[T]) -> T:
        """The client's `cls` resource: the same object while anything holds it."""
        return handed_out(self._client, cls, cls)

    if not TYPE_CHECKING:
        # At run time only: to a type checker an unknown attribute stays an error.
        def __getattr__(self, name: str) -> Any:
            classes = None if name.startswith("_") else resource_classes(self._namespace, name)
            if classes is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return self._resource(classes[self._asynchronous])

    def __dir__(self) -> Iterable[str]:
        return sorted({*super().__dir__(), *namespace_resources(self._namespace)})


class AsyncNamespace(Namespace):
    """A group of resources on `AsyncClient`, e.g. `client.performance`."""

    _asynchronous = True
