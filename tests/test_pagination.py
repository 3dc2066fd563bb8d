"""Cursor pagination: pages, lazy fetching, empty pages that go on, and loops that must end."""

from __future__ import annotations

import gc
import pickle
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from _helpers import Api, api_fixture, fake_api, json_response, make_client, record_json
from edm_client import (
    APIResponseValidationError,
    AsyncCursorPage,
    AsyncPaginator,
    BadRequestError,
    CursorPage,
    EDMError,
)
from edm_client.testing import FakeServer

api = api_fixture()


async def _create(api: Api, count: int, **kwargs: Any) -> list[str]:
    return [(await api.create(title=f"course {i}", **kwargs)).id for i in range(count)]


def _gets(server: FakeServer) -> int:
    return sum(1 for r in server.requests if r.method == "GET")


async def test_iterating_a_listing_walks_every_page(api: Api) -> None:
    ids = await _create(api, 7)

    assert [r.id for r in await api.list(limit=3)] == ids
    assert _gets(api.server) == 3


async def test_pages_hold_limit_records_and_the_last_has_no_cursor(api: Api) -> None:
    ids = await _create(api, 7)

    pages = await api.pages(limit=3)

    assert [[r.id for r in p.data] for p in pages] == [ids[0:3], ids[3:6], ids[6:7]]
    assert [p.has_next_page() for p in pages] == [True, True, False]
    assert pages[-1].next_cursor is None
    assert all(isinstance(p.next_cursor, str) for p in pages[:-1])


async def test_a_listing_of_a_multiple_of_limit_records_ends_cleanly(api: Api) -> None:
    ids = await _create(api, 6)

    pages = await api.pages(limit=3)

    assert [r.id for p in pages for r in p.data] == ids
    assert pages[-1].next_cursor is None


async def test_get_next_page_fetches_the_following_page(api: Api) -> None:
    ids = await _create(api, 4)
    first = await api.first_page(limit=2)

    second = await api.next_page(first)

    assert [r.id for r in second.data] == ids[2:]
    assert len(second) == 2


async def test_get_next_page_can_be_asked_twice_of_the_same_page(api: Api) -> None:
    ids = await _create(api, 4)
    first = await api.first_page(limit=2)

    once = await api.next_page(first)
    twice = await api.next_page(first)

    assert [r.id for r in once.data] == [r.id for r in twice.data] == ids[2:]


async def test_get_next_page_on_the_last_page_raises_a_clear_error(api: Api) -> None:
    await _create(api, 1)
    page = await api.first_page()

    with pytest.raises(EDMError, match="last page"):
        await api.next_page(page)


async def test_the_default_page_size_is_twenty(api: Api) -> None:
    await _create(api, 21)

    page = await api.first_page()

    assert len(page.data) == 20
    assert page.has_next_page()
    assert "limit" not in api.server.requests[-1].url.params


async def test_pages_are_fetched_only_when_iteration_needs_them(api: Api) -> None:
    await _create(api, 10)
    before = _gets(api.server)

    page = await api.first_page(limit=2)
    assert _gets(api.server) == before + 1
    seen: list[str] = []
    if api.is_async:
        async for record in page:
            seen.append(record.id)
            if len(seen) == 3:
                break
    else:
        for record in page:
            seen.append(record.id)
            if len(seen) == 3:
                break

    assert len(seen) == 3
    assert _gets(api.server) == before + 2


async def test_iterating_a_later_page_yields_it_and_the_pages_after_it(api: Api) -> None:
    ids = await _create(api, 5)
    second = await api.next_page(await api.first_page(limit=2))

    assert [r.id for r in await api.iterate(second)] == ids[2:]


async def test_a_listing_resumes_from_a_cursor(api: Api) -> None:
    ids = await _create(api, 5)
    first = await api.first_page(limit=2)

    rest = await api.list(limit=2, cursor=first.next_cursor)

    assert [r.id for r in rest] == ids[2:]


async def test_filters_apply_on_every_page(api: Api) -> None:
    mine = []
    for i in range(6):
        mine.append((await api.create(person_id="p1", title=f"mine {i}")).id)
        await api.create(person_id="p2", title=f"theirs {i}")

    assert [r.id for r in await api.list(person_id="p1", limit=2)] == mine


async def test_records_created_during_a_listing_appear_once_at_its_end(api: Api) -> None:
    ids = await _create(api, 4)
    page = await api.first_page(limit=2)
    late = (await api.create(title="late")).id

    rest = await api.iterate(await api.next_page(page))

    assert [r.id for r in page.data] + [r.id for r in rest] == [*ids, late]


async def test_a_cursor_reused_with_other_filters_is_a_bad_request(api: Api) -> None:
    await _create(api, 3, person_id="p1")
    page = await api.first_page(limit=1, person_id="p1")

    with pytest.raises(BadRequestError, match="other filters"):
        await api.first_page(limit=1, person_id="p2", cursor=page.next_cursor)


async def test_a_cursor_that_cannot_be_decoded_is_a_bad_request(api: Api) -> None:
    with pytest.raises(BadRequestError, match="could not be decoded") as caught:
        await api.first_page(cursor="not-a-cursor")

    assert caught.value.status_code == 400


async def test_a_page_knows_its_request_id_and_describes_itself(api: Api) -> None:
    await _create(api, 3)

    page = await api.first_page(limit=2)

    assert page.request_id is not None
    assert page.request_id.startswith("req_")
    assert repr(page).startswith(f"<{type(page).__name__}[LearningRecord] 2 records")


async def test_sync_list_returns_a_cursor_page_and_async_list_a_paginator(api: Api) -> None:
    listing = api.records.list()
    if api.is_async:
        assert isinstance(listing, AsyncPaginator)
        assert isinstance(await listing, AsyncCursorPage)
    else:
        assert isinstance(listing, CursorPage)


# -- pickling ------------------------------------------------------------------------------


async def test_a_page_pickles_with_its_records_cursor_and_request_id(api: Api) -> None:
    await _create(api, 3)
    page = await api.first_page(limit=2)

    restored = pickle.loads(pickle.dumps(page))

    assert type(restored) is type(page)
    assert restored.data == page.data
    assert restored.next_cursor == page.next_cursor
    assert restored.request_id == page.request_id
    assert repr(restored) == repr(page)
    assert str(restored) == str(page)


async def test_pickling_a_page_leaves_the_page_able_to_fetch_on(api: Api) -> None:
    ids = await _create(api, 3)
    page = await api.first_page(limit=2)

    pickle.dumps(page)

    assert [r.id for r in (await api.next_page(page)).data] == ids[2:]


def test_a_pickled_page_keeps_its_body_whole_when_token_and_records_are_made_at_once() -> None:
    # Tokens, ids and cursors made within one millisecond: the fake's token must share no run
    # of characters with the cursor in the body, or the pickle redacts part of it (it did,
    # about one time in six, while the fake's token ids were ULIDs).
    for _ in range(30):
        server = FakeServer()
        records = server.client(server.issue_token()).performance.learning_records
        records.create(person_id="p1", title="first")
        records.create(person_id="p1", title="second")
        page = records.list(limit=1)

        restored = pickle.loads(pickle.dumps(page))
        assert restored.http_response.json() == page.http_response.json()


async def test_an_unpickled_page_cannot_fetch_on_and_its_cursor_resumes_the_listing(
    api: Api,
) -> None:
    ids = await _create(api, 3)
    restored = pickle.loads(pickle.dumps(await api.first_page(limit=2)))

    with pytest.raises(EDMError, match=r"came from a pickle.*cursor=page\.next_cursor"):
        await api.next_page(restored)

    rest = await api.list(limit=2, cursor=restored.next_cursor)
    assert [r.id for r in rest] == ids[2:]


# -- short and empty pages that still have a next_cursor -----------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_empty_pages_with_a_next_cursor_do_not_end_the_listing(mode: str) -> None:
    server = FakeServer(page_scan_limit=3)
    api = fake_api(server, mode)
    try:
        wanted = []
        for i in range(12):
            record = await api.create(person_id="p1" if i % 5 == 0 else "p2", title=f"c{i}")
            if record.person_id == "p1":
                wanted.append(record.id)

        pages = await api.pages(person_id="p1")
        listed = await api.list(person_id="p1")
    finally:
        await api.close()

    assert [r.id for r in listed] == wanted == [r.id for p in pages for r in p.data]
    assert any(p.data == [] and p.has_next_page() for p in pages)
    assert pages[-1].next_cursor is None


# -- a server that misbehaves ----------------------------------------------------------------


def _endless_empty_pages(calls: list[str]) -> Any:
    """Answers every list request with no records and a fresh next_cursor."""

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params.get("cursor", ""))
        return json_response(200, {"data": [], "next_cursor": f"c{len(calls)}"})

    return handler


async def _drain(api: Api, how: str) -> None:
    if how == "iterate":
        await api.list()
    elif api.is_async:
        await api.records.list().to_pandas()
    else:
        api.records.list().to_pandas()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("how", ["iterate", "to_pandas"])
async def test_endless_empty_pages_stop_after_the_default_of_a_hundred(mode: str, how: str) -> None:
    calls: list[str] = []
    api = Api(make_client(mode, handler=_endless_empty_pages(calls)))

    with pytest.raises(APIResponseValidationError) as caught:
        await _drain(api, how)

    assert len(calls) == 100
    assert "100 empty pages in a row" in str(caught.value)
    assert "max_empty_pages=" in str(caught.value)
    assert str(caught.value).endswith("(request id req_mock).")
    assert caught.value.body == {"data": [], "next_cursor": "c100"}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_max_empty_pages_is_set_on_the_client(mode: str) -> None:
    calls: list[str] = []
    api = Api(make_client(mode, handler=_endless_empty_pages(calls), max_empty_pages=3))

    with pytest.raises(APIResponseValidationError, match="3 empty pages in a row"):
        await api.list()

    assert len(calls) == 3


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_max_empty_pages_is_set_on_a_with_options_copy(mode: str) -> None:
    calls: list[str] = []
    client = make_client(mode, handler=_endless_empty_pages(calls))
    api = Api(client.with_options(max_empty_pages=7))

    with pytest.raises(APIResponseValidationError, match="7 empty pages in a row"):
        await api.list()

    assert len(calls) == 7
    assert client.max_empty_pages == 100


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_only_consecutive_empty_pages_count_toward_the_bound(mode: str) -> None:
    shapes = [0, 0, 1, 0, 0, 1, 0, 0, 0]  # records per page; the last page ends the listing

    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0"))
        data = [record_json(id=f"per_{n:026d}")] * shapes[n]
        cursor = None if n == len(shapes) - 1 else str(n + 1)
        return json_response(200, {"data": data, "next_cursor": cursor})

    api = Api(make_client(mode, handler=handler, max_empty_pages=3))

    assert len(await api.list()) == 2


def _looping_server() -> Any:
    """Answers every list request with one record and the same next_cursor."""
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        record = record_json(id=f"per_{calls['n']:026d}")
        return json_response(200, {"data": [record], "next_cursor": "c1"})

    return handler, calls


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_repeated_next_cursor_ends_iteration_with_a_clear_error(mode: str) -> None:
    handler, calls = _looping_server()
    api = Api(make_client(mode, handler=handler))
    seen: list[str] = []

    async def walk() -> None:
        if api.is_async:
            async for record in api.records.list():
                seen.append(record.id)
        else:
            seen.extend(r.id for r in api.records.list())

    with pytest.raises(APIResponseValidationError, match="again") as caught:
        await walk()

    assert calls["n"] == 2
    assert len(seen) == 2
    assert "'c1'" in str(caught.value)
    assert caught.value.body == {"data": [record_json(id=f"per_{2:026d}")], "next_cursor": "c1"}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_repeated_cursor_error_names_the_request_id_of_the_page_that_sent_it(
    mode: str,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = json_response(200, {"data": [], "next_cursor": "c1"})
        response.headers["X-Request-ID"] = "req_loop"
        return response

    api = Api(make_client(mode, handler=handler))

    with pytest.raises(APIResponseValidationError) as caught:
        await api.list()

    assert caught.value.request_id == "req_loop"
    assert str(caught.value).endswith("(request id req_loop).")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_next_cursor_equal_to_the_starting_cursor_is_a_loop_too(mode: str) -> None:
    handler, calls = _looping_server()
    api = Api(make_client(mode, handler=handler))

    with pytest.raises(APIResponseValidationError, match="again"):
        await api.list(cursor="c1")

    assert calls["n"] == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_cycle_of_two_cursors_is_caught(mode: str) -> None:
    cursors = iter(["a", "b", "a", "b"])

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, {"data": [], "next_cursor": next(cursors)})

    api = Api(make_client(mode, handler=handler))

    with pytest.raises(APIResponseValidationError, match="'a'"):
        await api.list()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_each_next_page_request_carries_the_cursor_and_the_filters(mode: str) -> None:
    seen: list[httpx.QueryParams] = []
    pages = iter(
        [
            {"data": [record_json(id="per_1")], "next_cursor": "c1"},
            {"data": [record_json(id="per_2")], "next_cursor": None},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        return json_response(200, next(pages))

    api = Api(make_client(mode, handler=handler))
    ids = [r.id for r in await api.list(person_id="p1", limit=1)]

    assert ids == ["per_1", "per_2"]
    assert [dict(p) for p in seen] == [
        {"person_id": "p1", "limit": "1"},
        {"person_id": "p1", "limit": "1", "cursor": "c1"},
    ]


async def test_an_async_paginator_can_be_iterated_without_awaiting(async_client: Any) -> None:
    records = async_client.performance.learning_records
    for i in range(3):
        await records.create(person_id="p1", title=f"c{i}")

    async def titles(listing: AsyncIterator[Any]) -> list[str]:
        return [r.title async for r in listing]

    assert await titles(records.list(limit=2)) == ["c0", "c1", "c2"]


async def test_walking_pages_does_not_keep_the_pages_already_walked(api: Api) -> None:
    await _create(api, 10)
    first = await api.first_page(limit=2)
    walked: list[weakref.ref[Any]] = []

    if api.is_async:
        async for page in first.iter_pages():
            walked.append(weakref.ref(page))
    else:
        for page in first.iter_pages():
            walked.append(weakref.ref(page))
    del page
    gc.collect()

    assert len(walked) == 5
    assert walked[0]() is first
    assert [ref() for ref in walked[1:]] == [None] * 4
