"""`.with_raw_response`: status, headers and request id; the typed result is one `.parse()` away."""

from __future__ import annotations

import httpx
import pytest

from _helpers import Api, api_fixture
from edm_client import APIResponse, AsyncCursorPage, CursorPage, InvalidRequestError, NotFoundError
from edm_client.types import LearningRecord

api = api_fixture()


async def test_raw_create_gives_the_201_response_and_parses_to_the_record(api: Api) -> None:
    response = await api.raw("create", title="CKA")

    assert isinstance(response, APIResponse)
    assert response.status_code == 201
    assert isinstance(response.http_response, httpx.Response)
    assert response.headers["Location"].endswith(response.parse().id)
    assert response.request_id == response.headers["X-Request-ID"]
    record = response.parse()
    assert isinstance(record, LearningRecord)
    assert api.server.records() == [record]


async def test_raw_get_gives_the_200_response_and_parses_to_the_record(api: Api) -> None:
    created = await api.create()

    response = await api.raw("get", created.id)

    assert response.status_code == 200
    assert response.request_id is not None
    assert response.request_id.startswith("req_")
    assert response.parse() == created


async def test_raw_list_parses_to_a_page_that_can_go_on(api: Api) -> None:
    ids = [(await api.create(title=f"c{i}")).id for i in range(3)]

    response = await api.raw("list", limit=2)

    assert response.status_code == 200
    page = response.parse()
    assert isinstance(page, AsyncCursorPage if api.is_async else CursorPage)
    assert [r.id for r in page.data] == ids[:2]
    assert [r.id for r in await api.iterate(page)] == ids


async def test_parse_is_done_once_and_cached(api: Api) -> None:
    response = await api.raw("create")

    assert response.parse() is response.parse()


async def test_raw_calls_still_raise_typed_errors(api: Api) -> None:
    with pytest.raises(NotFoundError):
        await api.raw("get", "per_missing")


async def test_raw_mode_does_not_leak_into_later_plain_calls(api: Api) -> None:
    await api.raw("create")

    record = await api.create()

    assert isinstance(record, LearningRecord)


async def test_raw_create_validates_its_arguments_like_create(api: Api) -> None:
    with pytest.raises(InvalidRequestError):
        await api.raw("create", title="")


async def test_the_raw_response_describes_itself_without_the_token(api: Api) -> None:
    response = await api.raw("create")

    text = repr(response)
    assert text.startswith("<APIResponse [201] POST http")
    assert response.request_id is not None
    assert response.request_id in text
    token = response.http_response.request.headers["Authorization"].split(" ")[1]
    assert token not in text
