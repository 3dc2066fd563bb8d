"""Hostile and unusual input: ids are one path segment, text round-trips exactly."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from _helpers import (
    COLLECTION,
    MODES,
    Api,
    api_fixture,
    client_side_only,
    json_response,
    make_client,
    record_json,
)
from edm_client import AsyncClient, Client, EDMError, InvalidRequestError, NotFoundError

api = api_fixture()

ODD_IDS = [
    "../x",
    "../../../etc/passwd",
    "a/b",
    "per_1/../per_2",
    "%2e%2e%2fx",
    "100%",
    "with space",
    "a?b=c",
    "a#fragment",
    "a;b",
    "üñí©ødé",
    "記録",
    "🧑‍🎓",
    "line\nbreak",
    "carriage\r\nInjected: header",
    "tab\there",
    "bell\x07",
    "\\windows\\path",
    "...",
    "./x",
]


@pytest.mark.parametrize("record_id", ODD_IDS)
async def test_an_odd_id_is_sent_as_exactly_one_encoded_path_segment(
    api: Api, record_id: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await api.get(record_id)

    request = api.server.requests[-1]
    assert request.url.raw_path.decode() == f"{COLLECTION}/{quote(record_id, safe='')}"
    assert repr(record_id) in str(caught.value)


async def test_get_dot_dot_x_cannot_reach_another_path(api: Api) -> None:
    record = await api.create()

    for sneaky in ("../x", f"../learning-records/{record.id}", f"./{record.id}", f"{record.id}/"):
        with pytest.raises(NotFoundError):
            await api.get(sneaky)

    paths = [r.url.raw_path.decode() for r in api.server.requests[1:]]
    assert all(p.startswith(f"{COLLECTION}/") for p in paths)
    assert all("/" not in p.removeprefix(f"{COLLECTION}/") for p in paths)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("record_id", ["../x", "a/b", "../../admin"])
async def test_an_odd_id_never_changes_the_path_a_real_server_sees(
    mode: str, record_id: str
) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return json_response(200, record_json(id=record_id))

    api = Api(make_client(mode, handler=handler, base_url="https://edm.test/base"))

    record = await api.get(record_id)

    assert record.id == record_id
    raw_path = seen[0].raw_path.decode()
    assert raw_path == f"/base{COLLECTION}/{quote(record_id, safe='')}"
    assert raw_path.count("/") == 1 + COLLECTION.count("/") + 1


@client_side_only
@pytest.mark.parametrize("record_id", ["", " ", "\t", ".", ".."])
async def test_an_id_that_cannot_be_a_segment_is_refused_before_sending(
    api: Api, record_id: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.get(record_id)

    assert caught.value.param == "record_id"
    assert api.server.requests == []


@client_side_only
@pytest.mark.parametrize("record_id", [None, 42, b"per_1", ["per_1"]])
async def test_an_id_of_the_wrong_type_is_refused_before_sending(api: Api, record_id: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"record_id must be a str or uuid\.UUID"):
        await api.get(record_id)

    assert api.server.requests == []


@pytest.mark.parametrize(
    "value", ["a&b=c", "x+y z", "50%", "#hash", "ü/ñ", "?", "a\nb", "🧑‍🎓", "'; DROP TABLE x; --"]
)
async def test_filter_values_are_encoded_and_match_exactly(api: Api, value: str) -> None:
    mine = await api.create(person_id=value, provider=value)
    await api.create(person_id="someone else", provider="someone else")

    assert [r.id for r in await api.list(person_id=value)] == [mine.id]
    assert [r.id for r in await api.list(provider=value)] == [mine.id]


TITLES = [
    "Kubernetes für Fortgeschrittene — Zertifikat ✓",
    "機械学習の基礎",
    "مقدمة في البيانات",
    "e\u0301le\u0300ve",  # combining accents, not normalised
    "élève",
    "👩🏽‍💻 Data 🧑‍🎓 Science 🏳️‍🌈",
    "quotes \" and 'single' and \\backslashes\\",
    "tabs\tand\nnew\r\nlines",
    "<script>alert(1)</script>",
    "\u200bzero\u200dwidth\ufeff",
    "\U0001d518\U0001d52b\U0001d526 math alphanumerics",
]


@pytest.mark.parametrize("title", TITLES)
async def test_unicode_titles_round_trip_exactly(api: Api, title: str) -> None:
    created = await api.create(title=title)

    assert created.title == title
    assert (await api.get(created.id)).title == title
    assert [r.title for r in await api.list()] == [title]
    assert api.server.records()[0].title == title


@pytest.mark.parametrize(
    "title",
    ["x" * 500, "é" * 500, "🎓" * 500, "記" * 499 + "x", ("word " * 100)[:499] + "!"],
    ids=["ascii", "latin", "astral", "cjk", "words"],
)
async def test_the_longest_allowed_titles_round_trip_exactly(api: Api, title: str) -> None:
    created = await api.create(title=title)

    assert len(title) == 500
    assert (await api.get(created.id)).title == title


@client_side_only
@pytest.mark.parametrize("title", ["x" * 501, "🎓" * 501, "x" * 100_000])
async def test_a_title_over_500_characters_is_refused(api: Api, title: str) -> None:
    with pytest.raises(InvalidRequestError, match="at most 500"):
        await api.create(title=title)

    assert api.server.requests == []


async def test_a_long_certification_ref_round_trips(api: Api) -> None:
    ref = "https://badges.example/verify?" + "&".join(f"k{i}=v%20{i}" for i in range(150))
    ref = ref[:2000]

    created = await api.create(certification_ref=ref)

    assert (await api.get(created.id)).certification_ref == ref


@client_side_only
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("title", "bad \ud800 surrogate"),
        ("person_id", "\udcff"),
        ("provider", "x\udfff"),
        ("source", "\ud83c"),
    ],
)
async def test_text_that_is_not_valid_unicode_is_refused_naming_the_argument(
    api: Api, name: str, value: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(**{name: value})

    assert caught.value.param == name
    assert api.server.requests == []


@client_side_only
async def test_an_id_that_is_not_valid_unicode_is_refused_for_get_and_list(api: Api) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.get("per_\ud800")
    assert caught.value.param == "record_id"

    with pytest.raises(InvalidRequestError) as caught:
        await api.first_page(person_id="p\ud800")
    assert caught.value.param == "person_id"

    assert api.server.requests == []


@client_side_only
@pytest.mark.parametrize(
    "value",
    [
        "\uff12\uff10\uff12\uff16-03-01T09:30:00Z",
        "2026-03-01T09:30:00+\u0660\u0662:00",
        "\u0662\u0660\u0662\u0666-03-01",
    ],
    ids=["fullwidth-year", "arabic-offset", "arabic-date"],
)
async def test_datetimes_with_non_ascii_digits_are_refused(api: Api, value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(expires_at=value)

    assert caught.value.param == "expires_at"


@client_side_only
@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "clé", "line\nbreak", "tab\tkey", "\x00", " first", "last "],
    ids=["empty", "too-long", "non-ascii", "newline", "tab", "nul", "space-1", "space-2"],
)
async def test_an_unusable_idempotency_key_is_refused(api: Api, key: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(idempotency_key=key)

    assert caught.value.param == "idempotency_key"
    assert api.server.requests == []


@client_side_only
@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key"])
async def test_an_unusable_idempotency_key_in_extra_headers_is_refused_too(
    api: Api, name: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.create(extra_headers={name: " padded"})

    assert caught.value.param == "extra_headers"
    assert "printable ASCII characters" in str(caught.value)
    assert api.server.requests == []


async def test_an_idempotency_key_in_extra_headers_is_the_one_sent(api: Api) -> None:
    await api.create(extra_headers={"Idempotency-Key": "import-42"})

    assert api.server.requests[0].headers["Idempotency-Key"] == "import-42"


async def test_the_longest_idempotency_key_is_accepted(api: Api) -> None:
    key = "k" * 255

    await api.create(idempotency_key=key)

    assert api.server.requests[0].headers["Idempotency-Key"] == key


@client_side_only
@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
async def test_a_score_that_json_cannot_carry_is_refused_before_sending(
    api: Api, value: float
) -> None:
    with pytest.raises(InvalidRequestError, match="score"):
        await api.create(score=value)

    assert api.server.requests == []


@client_side_only
@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({"X-Name": "Zo\u00eb"}, "U+00EB"),
        ({"X-Trace": "a\r\nInjected: 1"}, "U+000D"),
        ({"X-Secret": "s3cr3t\u2026"}, "U+2026"),
        ({"Bad Name": "x"}, "'Bad Name'"),
        ({"X-Colon:": "x"}, "'X-Colon:'"),
        ({"X-Number": 5}, "must be a str"),
    ],
    ids=["latin", "crlf", "ellipsis", "space-in-name", "colon-in-name", "not-str"],
)
async def test_extra_headers_that_cannot_be_sent_are_refused_before_sending(
    api: Api, headers: dict[str, Any], shown: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await api.list(extra_headers=headers)

    assert caught.value.param == "extra_headers"
    assert shown in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert api.server.requests == []


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_default_headers_that_cannot_be_sent_are_refused_at_construction(cls: type) -> None:
    with pytest.raises(EDMError, match=r"default_headers: the value of X-Team contains U\+00E9"):
        cls(api_key="tok", base_url="https://edm.test", default_headers={"X-Team": "équipe"})


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_an_unusable_idempotency_key_in_default_headers_is_refused_at_construction(
    cls: type,
) -> None:
    with pytest.raises(EDMError, match=r"default_headers: the value of Idempotency-Key must be"):
        cls(api_key="tok", base_url="https://edm.test", default_headers={"Idempotency-Key": ""})
