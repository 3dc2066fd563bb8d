"""Text a server sends reaches the terminal and the logs escaped, never raw.

A request id of `req_\\x1b[31m…\\x07` must not colour the terminal, and a `\\n` in a body's
request id must not forge a log line. Messages, log lines and reprs show control characters
as escapes; the raw values stay on the error's attributes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from edm_client import (
    APIStatusError,
    AsyncClient,
    Client,
    EDMError,
    NotFoundError,
    RetryPolicy,
    UnprocessableEntityError,
)
from edm_client.testing import FakeServer

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters that drive a terminal, break a line or reorder what is shown."""
TERMINAL_ESCAPE = "\x1b]0;owned\x07\x1b[2J\x1b[31m"
"""Set the window title, clear the screen, turn red."""


def raised(call: Callable[[], Any]) -> EDMError:
    with pytest.raises(EDMError) as caught:
        call()
    return caught.value


def printed(error: EDMError) -> str:
    return f"{error} | {error!r} | {getattr(error, 'request_id', '')}"


def not_found(**extra: Any) -> Callable[[httpx.Request], httpx.Response]:
    headers = extra.pop("headers", {})

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"title": "Not Found", "status": 404, "detail": "no such record", **extra}
        return httpx.Response(404, json=body, headers=headers)

    return answer


def test_a_request_id_header_with_terminal_escapes_is_written_escaped(
    hostile: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")
    client = hostile(not_found(headers={"X-Request-ID": f"req_{TERMINAL_ESCAPE}1"}))
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, NotFoundError)
    assert error.request_id == r"req_\x1b]0;owned\x07\x1b[2J\x1b[31m1"
    assert str(error).endswith(rf"(request id {error.request_id})")
    assert not CONTROL.search(printed(error))
    assert not any(CONTROL.search(r.getMessage()) for r in caplog.records)


def test_the_raw_request_id_stays_on_the_response(hostile: Callable[..., Client]) -> None:
    client = hostile(not_found(headers={"X-Request-ID": f"req_{TERMINAL_ESCAPE}1"}))
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert isinstance(error, APIStatusError)
    assert error.response.headers["x-request-id"] == f"req_{TERMINAL_ESCAPE}1"


def test_a_c1_control_sent_as_a_raw_header_byte_is_written_escaped(
    hostile: Callable[..., Client],
) -> None:
    # 0x9b is CSI on many terminals, and HTTP allows it in a header value (obs-text).
    answer = not_found(headers=[(b"X-Request-ID", b"req_\x9b31m1")])
    error = raised(lambda: hostile(answer).performance.learning_records.get("x"))
    assert isinstance(error, NotFoundError)
    assert error.request_id == r"req_\x9b31m1"


def test_a_line_break_in_a_body_request_id_cannot_forge_a_log_line(
    hostile: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")
    forged = "req_1\n2030-01-01 00:00:00 edm_client INFO payment approved\r"
    error = raised(
        lambda: hostile(not_found(request_id=forged)).performance.learning_records.get("x")
    )
    assert isinstance(error, NotFoundError)
    assert error.request_id == r"req_1\n2030-01-01 00:00:00 edm_client INFO payment approved\r"
    assert error.body["request_id"] == forged
    assert "\n" not in str(error)


def test_a_request_id_is_clipped_to_128_characters(hostile: Callable[..., Client]) -> None:
    answer = not_found(headers={"X-Request-ID": "req_" + "7" * 5000})
    error = raised(lambda: hostile(answer).performance.learning_records.get("x"))
    assert isinstance(error, NotFoundError)
    assert error.request_id is not None
    assert len(error.request_id) == 128
    assert error.request_id.endswith("7…")
    assert len(str(error)) < 400


@pytest.mark.parametrize(
    "body",
    [
        {"detail": f"no such record {TERMINAL_ESCAPE}"},
        {"title": "Gone\u202eevil\u2066", "detail": None},
        {"error": {"message": f"nope\x07\x07\x07{TERMINAL_ESCAPE}"}},
        {"detail": "line one\r\nline two\x85\u2028line three"},
    ],
    ids=["detail", "title with bidi overrides", "error.message", "line breaks"],
)
def test_problem_text_with_control_characters_is_written_escaped(
    hostile: Callable[..., Client], body: dict[str, Any]
) -> None:
    answer = not_found(**body)
    error = raised(lambda: hostile(answer).performance.learning_records.get("x"))
    assert isinstance(error, NotFoundError)
    assert not CONTROL.search(printed(error))
    assert error.body == {"title": "Not Found", "status": 404, "detail": "no such record", **body}


def test_escapes_show_what_the_server_sent(hostile: Callable[..., Client]) -> None:
    error = raised(
        lambda: hostile(
            not_found(detail=f"bad {TERMINAL_ESCAPE}")
        ).performance.learning_records.get("x")
    )
    assert r"bad \x1b]0;owned\x07\x1b[2J\x1b[31m" in str(error)


def test_field_names_and_codes_of_a_422_are_written_escaped(
    hostile: Callable[..., Client],
) -> None:
    broken = {"field": f"score{TERMINAL_ESCAPE}", "code": "bad\x1b[5m", "message": "m\x07"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"errors": [broken]})

    error = raised(
        lambda: hostile(answer).performance.learning_records.create(person_id="p", title="t")
    )
    assert isinstance(error, UnprocessableEntityError)
    assert not CONTROL.search(printed(error))
    assert error.errors == [broken]


def test_a_reason_phrase_with_control_characters_is_written_escaped() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, extensions={"reason_phrase": b"Not\x1b[31mFound"})

    client = Client(
        api_key="test-token-0123456789",
        base_url="https://edm.test",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    error = raised(lambda: client.performance.learning_records.get("x"))
    assert str(error).startswith(r"404 Not\x1b[31mFound: ")


def test_a_redirect_location_with_control_characters_is_never_written_raw(
    hostile: Callable[..., Client],
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"https://evil.example/{TERMINAL_ESCAPE}"})

    error = raised(lambda: hostile(answer).performance.learning_records.get("x"))
    assert not CONTROL.search(printed(error))


def test_request_ids_of_successful_responses_are_escaped_too(
    hostile: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edm_client")

    def answer(request: httpx.Request) -> httpx.Response:
        page = {"data": [], "next_cursor": None}
        return httpx.Response(200, json=page, headers={"X-Request-ID": f"req_{TERMINAL_ESCAPE}"})

    records = hostile(answer).performance.learning_records
    page = records.list()
    raw = records.with_raw_response.list()
    assert page.request_id == raw.request_id == r"req_\x1b]0;owned\x07\x1b[2J\x1b[31m"
    assert not CONTROL.search(repr(raw) + repr(page))
    assert not any(CONTROL.search(r.getMessage()) for r in caplog.records)


def test_a_page_printed_as_a_table_escapes_the_records_text(hostile: Callable[..., Client]) -> None:
    record = FakeServer().client().performance.learning_records.create(person_id="p", title="t")
    shown = {**record.model_dump(mode="json"), "title": f"Red {TERMINAL_ESCAPE}title"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [shown], "next_cursor": None})

    page = hostile(answer).performance.learning_records.list()
    assert r"Red \x1b]0;owned\x07" in str(page)
    assert not CONTROL.search(str(page).replace("\n", ""))
    assert page.data[0].title == f"Red {TERMINAL_ESCAPE}title"


def test_ordinary_text_is_written_as_sent(hostile: Callable[..., Client]) -> None:
    detail = "Aucun enregistrement « per_1 » — 記録がありません; C:\\temp\\x1b is a path"
    answer = not_found(detail=detail, headers={"X-Request-ID": "req_01HZX3J9-abc.def:42"})
    error = raised(lambda: hostile(answer).performance.learning_records.get("x"))
    assert str(error) == f"404 Not Found: {detail} (request id req_01HZX3J9-abc.def:42)"


async def test_async_errors_escape_the_request_id_too() -> None:
    answer = not_found(headers={"X-Request-ID": f"req_{TERMINAL_ESCAPE}"})
    async with AsyncClient(
        api_key="test-token-0123456789",
        base_url="https://edm.test",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        retry_policy=RetryPolicy(max_retries=0),
    ) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.performance.learning_records.get("x")
    assert caught.value.request_id == r"req_\x1b]0;owned\x07\x1b[2J\x1b[31m"
