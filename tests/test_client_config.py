"""Client construction: environment, token providers, options, copies, closing and repr."""

from __future__ import annotations

import asyncio
import platform
from typing import Any

import httpx
import pytest

from _helpers import Api, fake_api, make_client, sleeps_fixture
from edm_client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
    AuthenticationError,
    Client,
    EDMError,
    Hooks,
    InternalServerError,
    InvalidRequestError,
    RetryEvent,
    RetryPolicy,
    __version__,
)
from edm_client.testing import FakeServer

sleeps = sleeps_fixture()

CLIENTS = [Client, AsyncClient]
MODES = ["sync", "async"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDM_API_KEY", raising=False)
    monkeypatch.delenv("EDM_BASE_URL", raising=False)


def _http_for(cls: type[Client] | type[AsyncClient], server: FakeServer) -> Any:
    if cls is Client:
        return httpx.Client(transport=server.transport)
    return httpx.AsyncClient(transport=server.transport)


# -- configuration from the environment ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_api_key_and_base_url_come_from_the_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    token = server.issue_token()
    monkeypatch.setenv("EDM_API_KEY", token)
    monkeypatch.setenv("EDM_BASE_URL", server.base_url)
    cls = Client if mode == "sync" else AsyncClient

    api = Api(cls(http_client=_http_for(cls, server)))
    await api.list()
    await api.close()

    assert str(api.client.base_url).rstrip("/") == server.base_url
    assert server.requests[0].headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("mode", MODES)
async def test_arguments_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("EDM_API_KEY", "from-env")
    monkeypatch.setenv("EDM_BASE_URL", "https://env.example")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    api = Api(
        make_client(mode, handler=handler, api_key="from-arg", base_url="https://arg.example")
    )
    await api.list()

    assert seen[0].url.host == "arg.example"
    assert seen[0].headers["Authorization"] == "Bearer from-arg"


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("env", "kwargs", "named"),
    [
        ({}, {}, [("api_key", "EDM_API_KEY"), ("base_url", "EDM_BASE_URL")]),
        ({"EDM_BASE_URL": "https://edm.test"}, {}, [("api_key", "EDM_API_KEY")]),
        ({"EDM_API_KEY": "tok"}, {}, [("base_url", "EDM_BASE_URL")]),
        ({}, {"base_url": "https://edm.test"}, [("api_key", "EDM_API_KEY")]),
        ({}, {"api_key": "tok"}, [("base_url", "EDM_BASE_URL")]),
        ({"EDM_API_KEY": "", "EDM_BASE_URL": "https://edm.test"}, {}, [("api_key", "EDM_API_KEY")]),
    ],
    ids=["nothing", "no-key", "no-url", "arg-url-only", "arg-key-only", "empty-env-key"],
)
def test_missing_configuration_names_the_parameter_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    cls: type[Client],
    env: dict[str, str],
    kwargs: dict[str, str],
    named: list[tuple[str, str]],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(EDMError) as caught:
        cls(**kwargs)

    message = str(caught.value)
    for param, variable in named:
        assert f"{param}=" in message
        assert variable in message
    for _, variable in {("api_key", "EDM_API_KEY"), ("base_url", "EDM_BASE_URL")} - set(named):
        assert variable not in message


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("api_key", ["", "   ", "tok\nen", "tok\r\nInjected: 1", "a\x00b"])
def test_an_empty_or_multiline_api_key_is_refused(cls: type[Client], api_key: str) -> None:
    with pytest.raises(EDMError, match="api_key"):
        cls(api_key=api_key, base_url="https://edm.test")


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("api_key", "codepoint"),
    [("eyJhbGci.payload.sig\u2026", "U+2026"), ("\u201ceyJhbGci.payload.sig\u201d", "U+201C")],
    ids=["ellipsis", "smart-quotes"],
)
def test_a_token_with_a_character_no_token_has_is_refused_without_showing_it(
    cls: type[Client], api_key: str, codepoint: str
) -> None:
    with pytest.raises(EDMError) as caught:
        cls(api_key=api_key, base_url="https://edm.test")

    assert codepoint in str(caught.value)
    assert "payload" not in str(caught.value)


@pytest.mark.parametrize("cls", CLIENTS)
def test_an_api_key_that_is_neither_a_string_nor_callable_is_refused(cls: type[Client]) -> None:
    with pytest.raises(EDMError, match="callable"):
        cls(api_key=42, base_url="https://edm.test")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "base_url", ["edm.example.com", "ftp://edm.example.com", "https://", "http://[::1"]
)
def test_an_unusable_base_url_is_refused_with_an_example(cls: type[Client], base_url: str) -> None:
    with pytest.raises(EDMError, match="base_url"):
        cls(api_key="tok", base_url=base_url)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "base_url",
    [
        "https://edm.example/edm?x=1",
        "https://edm.example/edm?",
        "https://edm.example/edm#frag",
        "https://edm.example/edm#",
        "https://edm.example?tenant=a",
    ],
)
def test_a_base_url_with_a_query_or_fragment_is_refused_at_construction(
    cls: type[Client], base_url: str
) -> None:
    with pytest.raises(InvalidRequestError, match=r"query .* or fragment") as caught:
        cls(api_key="tok", base_url=base_url)

    assert caught.value.param == "base_url"
    assert "https://edm.example.com/edm" in str(caught.value)


def test_a_percent_encoded_question_mark_in_the_base_url_path_is_kept() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    with Client(
        api_key="tok",
        base_url="https://edm.example/what%3F",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    ) as client:
        client.performance.learning_records.list()

    assert seen[0].raw_path == b"/what%3F/api/v1/performance/learning-records"


@pytest.mark.parametrize("mode", MODES)
async def test_requests_go_under_the_base_url_path(mode: str) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    api = Api(make_client(mode, handler=handler, base_url="https://gateway.example/edm/"))
    await api.list()

    assert str(seen[0]) == "https://gateway.example/edm/api/v1/performance/learning-records"


@pytest.mark.parametrize("cls", CLIENTS)
def test_an_http_client_of_the_wrong_kind_is_refused(cls: type[Client]) -> None:
    wrong: Any = httpx.AsyncClient() if cls is Client else httpx.Client()

    with pytest.raises(EDMError, match="http_client"):
        cls(api_key="tok", base_url="https://edm.test", http_client=wrong)


# -- headers and timeouts --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_every_request_carries_the_contracts_headers(server: FakeServer, mode: str) -> None:
    api = fake_api(server, mode)
    await api.create()
    await api.list()
    await api.close()

    python = ".".join(platform.python_version_tuple()[:2])
    for request in server.requests:
        assert request.headers["User-Agent"].startswith(
            f"edm-client-python/{__version__} (python {python}; "
        )
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Authorization"].startswith("Bearer ")
    assert server.requests[0].headers["Content-Type"] == "application/json"
    assert "Content-Type" not in server.requests[1].headers


@pytest.mark.parametrize("mode", MODES)
async def test_default_headers_are_sent_and_extra_headers_add_per_call(
    server: FakeServer, mode: str
) -> None:
    api = fake_api(server, mode, default_headers={"X-Team": "hr", "X-Trace": "client"})

    await api.list(extra_headers={"X-Trace": "call"})
    await api.close()

    sent = server.requests[0].headers
    assert sent["X-Team"] == "hr"
    assert sent["X-Trace"] == "call"


def test_the_default_timeout_is_thirty_seconds_and_five_to_connect() -> None:
    client = Client(api_key="tok", base_url="https://edm.test")

    assert client.timeout == DEFAULT_TIMEOUT
    assert client.timeout == httpx.Timeout(30.0, connect=5.0)
    assert client.max_retries == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("client_timeout", "call_timeout", "expected"),
    [
        (None, None, {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}),
        (10.0, None, {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}),
        (
            httpx.Timeout(3.0, read=60.0),
            None,
            {"connect": 3.0, "read": 60.0, "write": 3.0, "pool": 3.0},
        ),
        (None, 2.5, {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}),
        (
            10.0,
            httpx.Timeout(1.0, connect=0.5),
            {"connect": 0.5, "read": 1.0, "write": 1.0, "pool": 1.0},
        ),
    ],
    ids=["default", "client-float", "client-timeout", "call-float", "call-timeout"],
)
async def test_timeouts_per_client_and_per_call_reach_the_request(
    mode: str, client_timeout: Any, call_timeout: Any, expected: dict[str, float]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    kwargs = {} if client_timeout is None else {"timeout": client_timeout}
    api = Api(make_client(mode, handler=handler, **kwargs))

    await api.list(timeout=call_timeout)

    assert seen[0].extensions["timeout"] == expected


# -- callable api_key -------------------------------------------------------------------------


class TokenSource:
    """A provider that hands out the tokens it is given, in order, counting calls."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.calls = 0

    def __call__(self) -> str:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        return token


@pytest.mark.parametrize("mode", MODES)
async def test_a_token_provider_is_asked_before_every_attempt(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    source = TokenSource([server.issue_token(), server.issue_token(), server.issue_token()])
    api = fake_api(server, mode, source)
    server.inject_fault(status=503, times=2)

    await api.list()
    await api.list()
    await api.close()

    assert source.calls == 4
    sent = [r.headers["Authorization"] for r in server.requests]
    assert sent == [f"Bearer {t}" for t in source.tokens] + [f"Bearer {source.tokens[-1]}"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_401_refreshes_the_token_once_and_succeeds(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    source = TokenSource([server.issue_token(expires_in=-1), server.issue_token()])
    api = fake_api(server, mode, source)

    record = await api.create()
    await api.close()

    assert server.records() == [record]
    assert source.calls == 2
    assert len(server.requests) == 2
    assert sleeps == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_second_401_after_the_refresh_is_raised(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    source = TokenSource([server.issue_token(expires_in=-1)])
    api = fake_api(server, mode, source)

    with pytest.raises(AuthenticationError):
        await api.get("per_1")
    await api.close()

    assert source.calls == 2
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_the_refresh_is_once_per_call_not_once_per_client(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    expired = server.issue_token(expires_in=-1)
    source = TokenSource([expired, server.issue_token(), expired, server.issue_token()])
    api = fake_api(server, mode, source)

    await api.list()
    await api.list()
    await api.close()

    assert source.calls == 4


@pytest.mark.parametrize("mode", MODES)
async def test_a_refresh_and_retries_combine(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    expired = server.issue_token(expires_in=-1)
    source = TokenSource([expired, expired, server.issue_token()])
    api = fake_api(server, mode, source)
    server.inject_fault(status=503)

    await api.list()
    await api.close()

    # 503 (retry after a sleep), then 401 (refresh at once), then 200.
    assert [r.headers["Authorization"] for r in server.requests] == [
        f"Bearer {token}" for token in source.tokens
    ]
    assert source.calls == 3
    assert len(sleeps) == 1


async def test_an_async_client_accepts_an_async_token_provider(server: FakeServer) -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return server.issue_token()

    async with server.async_client(provider) as client:  # type: ignore[arg-type]
        await client.performance.learning_records.create(person_id="p1", title="CKA")

    assert calls == 1


def test_a_sync_client_refuses_an_async_token_provider(server: FakeServer) -> None:
    async def provider() -> str:
        return server.issue_token()

    with server.client(provider) as client, pytest.raises(EDMError, match="AsyncClient"):  # type: ignore[arg-type]
        client.performance.learning_records.list()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("returned", [None, 42, "", "  "])
async def test_a_token_provider_returning_no_token_is_an_error(
    server: FakeServer, mode: str, returned: object
) -> None:
    api = fake_api(server, mode, lambda: returned)  # type: ignore[arg-type]

    with pytest.raises(EDMError, match="api_key callable"):
        await api.list()
    await api.close()

    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("returned", ["", "  "], ids=["empty", "blank"])
async def test_a_token_provider_returning_an_empty_string_is_told_so(
    server: FakeServer, mode: str, returned: str
) -> None:
    api = fake_api(server, mode, lambda: returned)

    with pytest.raises(EDMError, match="api_key callable returned an empty string"):
        await api.list()
    await api.close()


@pytest.mark.parametrize("cls", CLIENTS)
def test_an_api_key_with_a_nul_character_is_refused_naming_it(cls: type[Client]) -> None:
    with pytest.raises(EDMError, match="NUL") as caught:
        cls(api_key="s3cr3t\x00value", base_url="https://edm.test")

    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "returned", ["tok\nInjected: 1", "tok\u2026en"], ids=["line-break", "non-ascii"]
)
async def test_a_token_provider_returning_an_unusable_token_is_refused_before_sending(
    server: FakeServer, mode: str, returned: str
) -> None:
    api = fake_api(server, mode, lambda: returned)

    with pytest.raises(EDMError, match="api_key callable") as caught:
        await api.list()
    await api.close()

    assert returned not in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_an_exception_from_the_token_provider_propagates(
    server: FakeServer, mode: str
) -> None:
    def provider() -> str:
        raise PermissionError("vault is sealed")

    api = fake_api(server, mode, provider)  # type: ignore[arg-type]

    with pytest.raises(PermissionError, match="vault is sealed"):
        await api.list()
    await api.close()


# -- with_options -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_with_options_returns_a_configured_copy_and_leaves_the_original(
    server: FakeServer, mode: str
) -> None:
    api = fake_api(server, mode, default_headers={"X-Team": "hr"})
    original = api.client

    copy = original.with_options(timeout=3.0, max_retries=5, default_headers={"X-Trace": "copy"})

    assert type(copy) is type(original)
    assert copy is not original
    assert copy.timeout == httpx.Timeout(3.0)
    assert copy.max_retries == 5
    assert original.timeout == DEFAULT_TIMEOUT
    assert original.max_retries == 2
    assert copy.base_url == original.base_url
    await Api(copy).list()
    assert server.requests[-1].headers["X-Team"] == "hr"
    assert server.requests[-1].headers["X-Trace"] == "copy"
    await api.list()
    assert "X-Trace" not in server.requests[-1].headers
    await api.close()


@pytest.mark.parametrize("mode", MODES)
async def test_with_options_copies_share_the_connection_pool(server: FakeServer, mode: str) -> None:
    api = fake_api(server, mode)
    copies = [api.client.with_options(max_retries=n) for n in range(3)]

    for copy in copies:
        await Api(copy).close()
    assert not api.client.is_closed
    await api.list()

    await api.close()
    assert all(copy.is_closed for copy in copies)


@pytest.mark.parametrize("mode", MODES)
async def test_with_options_keeps_the_token_provider(server: FakeServer, mode: str) -> None:
    source = TokenSource([server.issue_token()])
    api = fake_api(server, mode, source)

    await Api(api.client.with_options(timeout=5.0)).list()
    await api.close()

    assert source.calls == 1


@pytest.mark.parametrize("mode", MODES)
async def test_with_options_accepts_a_retry_policy(
    server: FakeServer, sleeps: list[float], mode: str
) -> None:
    api = fake_api(server, mode)
    copy = Api(api.client.with_options(retry_policy=RetryPolicy(max_retries=4, jitter=0.0)))
    server.inject_fault(status=503, times=None)

    with pytest.raises(InternalServerError):
        await copy.list()
    await api.close()

    assert len(server.requests) == 5
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


# -- lifecycle and repr -----------------------------------------------------------------------


def test_a_client_closes_at_the_end_of_its_with_block(server: FakeServer) -> None:
    with server.client() as client:
        client.performance.learning_records.list()
        assert not client.is_closed

    assert client.is_closed


async def test_an_async_client_closes_at_the_end_of_its_async_with_block(
    server: FakeServer,
) -> None:
    async with server.async_client() as client:
        await client.performance.learning_records.list()

    assert client.is_closed


async def test_aclose_closes_an_async_client(server: FakeServer) -> None:
    client = server.async_client()

    await client.aclose()

    assert client.is_closed


def test_close_twice_is_harmless(server: FakeServer) -> None:
    client = server.client()

    client.close()
    client.close()

    assert client.is_closed


def test_a_client_builds_its_own_http_client_when_none_is_given() -> None:
    with Client(api_key="tok", base_url="https://edm.test") as client:
        assert not client.is_closed
    assert client.is_closed


@pytest.mark.parametrize("cls", CLIENTS)
def test_repr_shows_the_settings_and_never_the_token(cls: type[Client]) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.secret-claims.secret-signature"

    client = cls(
        api_key=token,
        base_url="https://edm.example.com",
        timeout=12.0,
        max_retries=4,
        default_headers={"X-Team": "hr"},
    )

    text = repr(client)
    assert text.startswith(f"{cls.__name__}(base_url='https://edm.example.com'")
    assert "max_retries=4" in text
    assert "12.0" in text
    assert "X-Team" in text
    assert token not in text
    assert "secret" not in text
    assert token not in str(client)


@pytest.mark.parametrize("cls", CLIENTS)
def test_repr_of_a_client_with_a_token_provider_does_not_call_it(cls: type[Client]) -> None:
    def provider() -> str:
        raise AssertionError("repr must not fetch a token")

    text = repr(cls(api_key=provider, base_url="https://edm.test"))

    assert "provider" not in text


def test_the_performance_namespace_and_resource_are_cached(client: Client) -> None:
    assert client.performance is client.performance
    assert client.performance.learning_records is client.performance.learning_records


@pytest.mark.parametrize("mode", MODES)
async def test_a_closed_client_refuses_calls_with_a_clear_error(
    server: FakeServer, mode: str
) -> None:
    api = fake_api(server, mode)
    copy = Api(api.client.with_options(max_retries=0))
    await api.close()

    for closed in (api, copy):
        with pytest.raises(EDMError, match="is closed"):
            await closed.list()

    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_closed_while_a_call_waits_to_retry_ends_it_with_the_closed_error(
    server: FakeServer, mode: str, sleeps: list[float]
) -> None:
    closing: list[Any] = []

    def close_now(event: RetryEvent) -> None:  # as another thread or task would, mid-call
        closed = api.client.close()
        if closed is not None:
            closing.append(asyncio.ensure_future(closed))

    api = fake_api(server, mode, retry_policy=RetryPolicy(on_retry=close_now))
    server.inject_fault(status=503, times=1)

    with pytest.raises(EDMError, match="is closed"):
        await api.get("per_1")

    await asyncio.gather(*closing)
    assert len(server.requests) == 1


def test_a_client_closed_just_before_an_attempt_is_sent_raises_the_closed_error(
    server: FakeServer,
) -> None:
    client = server.client(hooks=Hooks(before_attempt=lambda event: client.close()))

    with pytest.raises(EDMError, match="is closed"):
        client.performance.learning_records.get("per_1")

    assert server.requests == []


def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(EDMError, match="must not contain a user name or password") as caught:
        Client(api_key="token", base_url="https://alice:s3cret@edm.example.com")
    assert "s3cret" not in str(caught.value)


def test_negative_max_retries_is_an_invalid_request_error() -> None:
    with pytest.raises(InvalidRequestError, match="max_retries must be 0 or more"):
        Client(api_key="token", base_url="https://edm.example.com", max_retries=-1)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("timeout", ["30", -1, float("nan"), float("inf"), True])
def test_an_unusable_client_timeout_is_refused_at_construction(
    cls: type[Client] | type[AsyncClient], timeout: Any
) -> None:
    with pytest.raises(InvalidRequestError, match="timeout") as caught:
        cls(api_key="token", base_url="https://edm.example.com", timeout=timeout)

    assert caught.value.param == "timeout"


def test_with_options_refuses_an_unusable_timeout() -> None:
    with (
        Client(api_key="token", base_url="https://edm.example.com") as client,
        pytest.raises(InvalidRequestError, match="timeout"),
    ):
        client.with_options(timeout=-3)


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_retry_policy_of_the_wrong_type_is_refused(cls: type[Client] | type[AsyncClient]) -> None:
    with pytest.raises(
        InvalidRequestError, match=r"retry_policy must be an edm_client\.RetryPolicy"
    ):
        cls(
            api_key="token",
            base_url="https://edm.example.com",
            retry_policy={"max_retries": 3},  # type: ignore[arg-type]
        )


UNUSABLE_SETTINGS = [
    *(("max_empty_pages", v) for v in (0, -1, 2.5, "100", True)),
    *(("max_response_bytes", v) for v in (0, -5, 1.5, "1024", False)),
    *(("total_timeout", v) for v in (0, -1, float("nan"), float("inf"), "10", True)),
]


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(("setting", "value"), UNUSABLE_SETTINGS)
def test_an_unusable_limit_is_refused_naming_it_on_the_client_and_in_with_options(
    cls: type[Client], setting: str, value: Any
) -> None:
    with pytest.raises(InvalidRequestError, match=setting) as caught:
        cls(api_key="tok", base_url="https://edm.test", **{setting: value})
    assert caught.value.param == setting

    client = cls(api_key="tok", base_url="https://edm.test")
    with pytest.raises(InvalidRequestError, match=setting):
        client.with_options(**{setting: value})


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_empty_pages", None), ("max_response_bytes", None), ("trust_env", None)],
)
def test_a_limit_that_has_no_off_switch_refuses_none(
    cls: type[Client], setting: str, value: Any
) -> None:
    with pytest.raises(InvalidRequestError, match=setting):
        cls(api_key="tok", base_url="https://edm.test", **{setting: value})


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("value", [0, "false"])
def test_trust_env_must_be_true_or_false(cls: type[Client], value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="trust_env") as caught:
        cls(api_key="tok", base_url="https://edm.test", trust_env=value)

    assert caught.value.param == "trust_env"
