"""`FakeServer.mock()`: route every httpx request to a base URL into the fake, built on respx.

respx patches httpcore, below every `httpx.Client` / `httpx.AsyncClient`, so clients that the
code under test builds itself (`Client()` from `EDM_BASE_URL` / `EDM_API_KEY`) reach the fake
without being changed. Requests to other URLs are left alone: another active respx mock gets
them, otherwise they go out as usual (where the pytest plugin's network guard stops them).
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

import httpx

try:
    import respx
    from respx.models import AllMockedAssertionError, PassThrough
except ImportError as exc:  # pragma: no cover - exercised by hiding respx in a test
    raise ImportError(
        "FakeServer.mock() needs respx, which comes with the testing extra: "
        "pip install 'edm-sdk[testing]'",
        name=exc.name,
    ) from exc

from edm_client._config import API_KEY_ENV, BASE_URL_ENV

if TYPE_CHECKING:
    from edm_client.testing._fake_server import FakeServer

__all__ = ["FakeMock"]

# Set while respx resolves a request from an async client, so the fake answers it with its
# async path (an injected delay then awaits instead of blocking the event loop).
_in_async_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "edm_fake_mock_async", default=False
)


class FakeMock:
    """An active `FakeServer.mock()`: every httpx request to `base_url` is served by the fake.

    `api_key` is a token the fake accepts: the static key given to `mock(api_key=...)`, or
    one minted for the caller. `environ` holds `EDM_BASE_URL` and `EDM_API_KEY` for code that
    configures its client from the environment. Works with `with` and `async with`.
    """

    def __init__(
        self,
        server: FakeServer,
        base_url: str,
        *,
        api_key: str | None,
        tenant_id: str,
        person_id: str,
        app_id: str | None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url {base_url!r} must be an http:// or https:// URL")
        self.server = server
        self.base_url = str(url).rstrip("/")
        self._prefix = url.raw_path.decode("ascii").split("?")[0].rstrip("/")
        self._claims: dict[str, Any] = {
            "tenant_id": tenant_id,
            "person_id": person_id,
            "app_id": app_id,
        }
        self._static_key = api_key.strip() if api_key else None
        self.api_key = self._static_key or server.issue_token(**self._claims)
        self._router = _FakeRouter(assert_all_called=False, assert_all_mocked=True)
        pattern: dict[str, Any] = {
            "scheme": url.scheme,
            "host": url.host,
            "port": url.port or (443 if url.scheme == "https" else 80),
        }
        if self._prefix:
            pattern["path__startswith"] = self._prefix + "/"
        self._router.route(**pattern).mock(side_effect=self._serve)

    @property
    def environ(self) -> dict[str, str]:
        """`EDM_BASE_URL` and `EDM_API_KEY` pointing at this mock, e.g. for `monkeypatch.setenv`."""
        return {BASE_URL_ENV: self.base_url, API_KEY_ENV: self.api_key}

    def start(self) -> FakeMock:
        self._router.start()
        return self

    def stop(self) -> None:
        self._router.stop()

    def __enter__(self) -> FakeMock:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeMock:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeMock(base_url={self.base_url!r}, fake={self.server.base_url!r})"

    # -- serving -------------------------------------------------------------------------

    def _serve(self, request: httpx.Request) -> Any:
        request = self._for_fake(request)
        transport = self.server.transport
        if _in_async_request.get():
            return transport.handle_async_request(request)
        return transport.handle_request(request)

    def _for_fake(self, request: httpx.Request) -> httpx.Request:
        """The request as the fake expects it: base URL path removed, static key swapped."""
        url = request.url
        if self._prefix:
            url = url.copy_with(raw_path=url.raw_path[len(self._prefix) :])
        headers = request.headers
        if self._static_key is not None:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip() == self._static_key:
                headers = headers.copy()
                headers["Authorization"] = f"Bearer {self.server.issue_token(**self._claims)}"
        if url is request.url and headers is request.headers:
            return request
        return httpx.Request(
            request.method,
            url,
            headers=headers,
            content=request.content,
            extensions=request.extensions,
        )


class _FakeRouter(respx.MockRouter):
    """A respx router that marks async requests and passes unmatched ones on.

    A request that is not for the mocked base URL goes to the next active respx router, or,
    when there is none, out through the real transport (instead of respx's "not mocked").
    """

    def handler(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handler(request)
        except AllMockedAssertionError:
            self._pass_on(request)
            raise

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        marker = _in_async_request.set(True)
        try:
            return await super().async_handler(request)
        except AllMockedAssertionError:
            self._pass_on(request)
            raise
        finally:
            _in_async_request.reset(marker)

    def _pass_on(self, request: httpx.Request) -> None:
        routers = self.Mocker.routers if self.Mocker is not None else [self]
        if routers and routers[-1] is self:  # no router after this one to try
            raise PassThrough(
                f"not for the fake: {request!r}", request=request, origin=respx.Route()
            ) from None
