"""Proxies: `trust_env` decides whether the pool the client makes honours HTTP_PROXY and
friends, and a token about to travel in clear to a proxy is warned about."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

import raw_server
from _helpers import MODES, Api
from edm_client import AsyncClient, Client, InsecureTransportWarning
from edm_client.testing import FakeServer

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A plain-HTTP proxy that answers 502 and records the request heads it was sent."""
    heads: list[bytes] = []

    def answer(conn: socket.socket, head: bytes) -> None:
        heads.append(head)
        conn.sendall(raw_server.head("502 Bad Gateway", {"Content-Length": "0"}))

    with raw_server.serve(answer) as url:
        yield url, heads


def _client(
    mode: str, base_url: str, api_key: str = "secret-token-value", **kwargs: object
) -> Client | AsyncClient:
    cls = Client if mode == "sync" else AsyncClient
    return cls(api_key=api_key, base_url=base_url, max_retries=0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
async def test_an_env_proxy_gets_the_plain_http_token_and_the_client_warns(
    mode: str, proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_url, heads = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)

    with pytest.warns(InsecureTransportWarning, match="through a proxy") as warned:
        api = Api(_client(mode, "http://127.0.0.1:9"))
    with pytest.raises(Exception, match="502"):
        await api.list()
    await api.close()

    assert "NO_PROXY" in str(warned[0].message)
    assert "trust_env=False" in str(warned[0].message)
    assert warned[0].filename == __file__
    assert heads[0].startswith(b"GET http://127.0.0.1:9/api/v1/performance/learning-records ")
    assert b"Bearer secret-token-value" in heads[0]


@pytest.mark.parametrize("mode", MODES)
async def test_trust_env_false_ignores_the_env_proxy_without_a_warning(
    mode: str, proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_url, heads = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    fake = FakeServer()

    with fake.serve() as url:
        api = Api(_client(mode, url, fake.issue_token(), trust_env=False))
        assert await api.list() == []
        await api.close()

    assert heads == []


@pytest.mark.parametrize("mode", MODES)
def test_no_proxy_for_the_host_means_no_warning(
    mode: str, proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy[0])
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    _client(mode, "http://127.0.0.1:9")  # warnings are errors in this suite


@pytest.mark.parametrize("mode", MODES)
def test_an_https_base_url_through_a_proxy_is_no_warning(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:3128")

    _client(mode, "https://edm.example.com")  # a CONNECT tunnel keeps the token encrypted


@pytest.mark.parametrize("mode", MODES)
def test_all_proxy_counts_too(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:3128")

    with pytest.warns(InsecureTransportWarning, match="through a proxy"):
        _client(mode, "http://localhost:8000")


@pytest.mark.parametrize("mode", MODES)
def test_an_http_client_with_its_own_proxy_is_warned_about(mode: str) -> None:
    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(proxy="http://proxy.example:3128")
        if mode == "sync"
        else httpx.AsyncClient(proxy="http://proxy.example:3128")
    )

    with pytest.warns(InsecureTransportWarning, match="through a proxy"):
        _client(mode, "http://127.0.0.1:8000", http_client=http)


@pytest.mark.parametrize("mode", MODES)
def test_a_remote_plain_http_url_through_a_proxy_warns_once(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")

    with pytest.warns(InsecureTransportWarning) as warned:
        _client(mode, "http://edm.example.com")

    assert len(warned) == 1
    assert "unencrypted" in str(warned[0].message)
