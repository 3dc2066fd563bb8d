"""The fake as a security boundary: hostile cursors and bodies, forged tokens, slow clients,
and web pages reaching for the served fake's control API.

Every case runs in-process and over a loopback socket where it concerns the wire.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from _helpers import COLLECTION, Api, api_fixture, raw_http
from edm_client import BadRequestError
from edm_client.testing import FakeServer

api = api_fixture()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _nested(depth: int, inside: bytes = b"") -> bytes:
    return b"[" * depth + inside + b"]" * depth


# 40,000 is what crashed the fake; 33 is one level over the limit, still easy to parse.
DEPTHS = [33, 990, 40_000]

# -- hostile JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decoded",
    [
        pytest.param(_nested(33), id="33"),
        pytest.param(_nested(990), id="990"),
        pytest.param(b"[" * 40_000, id="40000-unclosed"),
        pytest.param(b'{"after": ' + _nested(990) + b', "filters": "x"}', id="in-a-field-990"),
        pytest.param(b'{"after": ' + b"[" * 40_000, id="in-a-field-40000-unclosed"),
    ],
)
async def test_a_deeply_nested_cursor_is_a_bad_request(api: Api, decoded: bytes) -> None:
    with pytest.raises(BadRequestError, match="cursor could not be decoded") as caught:
        await api.first_page(cursor=_b64url(decoded))

    assert caught.value.status_code == 400


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda deep: deep, id="bare"),
        pytest.param(lambda deep: b'{"person_id": "p1", "title": ' + deep + b"}", id="field"),
        pytest.param(
            lambda deep: b'{"person_id": "p1", "title": "t", "x": ' + deep + b"}", id="extra"
        ),
    ],
)
def test_a_deeply_nested_create_body_is_a_400(server: FakeServer, depth: int, wrap: Any) -> None:
    with raw_http(server) as http:
        response = http.post(COLLECTION, content=wrap(_nested(depth)))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested more than 32 levels" in response.json()["detail"]
    assert server.records() == []


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    ("path", "field"),
    [("/_fake/tokens", "app_id"), ("/_fake/faults", "retry_after"), ("/_fake/faults", "status")],
)
def test_a_deeply_nested_control_body_is_a_400(
    server: FakeServer, depth: int, path: str, field: str
) -> None:
    with raw_http(server) as http:
        response = http.post(path, content=b'{"%s": %s}' % (field.encode(), _nested(depth)))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested more than 32 levels" in response.json()["detail"]


def test_a_body_nested_32_levels_deep_is_read(server: FakeServer) -> None:
    with raw_http(server) as http:
        response = http.post(
            COLLECTION, content=b'{"person_id": "p1", "title": ' + _nested(31) + b"}"
        )

    assert response.status_code == 422  # read, then refused by the rules: a title is text
    assert response.json()["errors"][0]["field"] == "title"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_in_a_body_are_not_json(server: FakeServer, constant: bytes) -> None:
    with raw_http(server) as http:
        created = http.post(
            COLLECTION, content=b'{"person_id": "p1", "title": "t", "score": %s}' % constant
        )
        token = http.post("/_fake/tokens", content=b'{"expires_in": %s}' % constant)

    assert created.status_code == token.status_code == 400
    assert "not valid JSON" in created.json()["detail"]
    assert server.records() == []


async def test_a_cursor_spelling_nan_is_a_bad_request(api: Api) -> None:
    with pytest.raises(BadRequestError, match="could not be decoded"):
        await api.first_page(cursor=_b64url(b'{"after": NaN, "filters": "x"}'))


@pytest.mark.parametrize(
    "garble",
    [
        pytest.param(lambda cursor: cursor + "!!", id="!!"),
        pytest.param(lambda cursor: cursor + "====", id="padding"),
        pytest.param(lambda cursor: cursor[:8] + "." + cursor[8:], id="a-dot-inside"),
    ],
)
async def test_a_cursor_in_a_non_canonical_encoding_is_a_bad_request(api: Api, garble: Any) -> None:
    for title in ("a", "b", "c"):
        await api.create(title=title)
    cursor = (await api.first_page(limit=1)).next_cursor
    assert cursor is not None

    with pytest.raises(BadRequestError, match="could not be decoded"):
        await api.first_page(limit=1, cursor=garble(cursor))
