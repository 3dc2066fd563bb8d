"""A call's deadline (`total_timeout`) carried down to every socket wait of a pool the SDK made.

httpcore takes its read timeout once per phase (the response headers, then the whole body), so
a server trickling a byte at a time could hold one phase for as long as it likes. The drivers
set `call_deadline` around each attempt; the network streams below cut every connect, read,
write and TLS handshake to the time the call has left. A wait that starts after the deadline
gets a token millisecond: data already there is still read, and anything else fails as the
timeout httpx knows how to report.
"""

from __future__ import annotations

import contextvars
import ssl
import time
from typing import Any, Final

__all__ = ["DEADLINE", "AsyncDeadlineBackend", "SyncDeadlineBackend", "call_deadline"]

DEADLINE: Final = "edm_client.deadline"
"""The request extension that carries its call's deadline from the pipeline to the driver."""

call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "edm_client_call_deadline", default=None
)
"""When the call running in this thread or task must end, in `time.monotonic()` seconds."""

_LAST_WAIT: Final = 0.001


def _until_deadline(timeout: float | None) -> float | None:
    deadline = call_deadline.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), _LAST_WAIT)
    return left if timeout is None or left < timeout else timeout


class _SyncStream:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, _until_deadline(timeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _until_deadline(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: Any = None
    ) -> _SyncStream:
        return _SyncStream(
            self._stream.start_tls(ssl_context, server_hostname, _until_deadline(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class SyncDeadlineBackend:
    """An httpcore network backend whose every wait ends by `call_deadline`."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _SyncStream:
        return _SyncStream(
            self._backend.connect_tcp(
                host, port, _until_deadline(timeout), local_address, socket_options
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _SyncStream:
        return _SyncStream(
            self._backend.connect_unix_socket(path, _until_deadline(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncStream:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._stream.read(max_bytes, _until_deadline(timeout))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _until_deadline(timeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: Any = None
    ) -> _AsyncStream:
        return _AsyncStream(
            await self._stream.start_tls(ssl_context, server_hostname, _until_deadline(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class AsyncDeadlineBackend:
    """The async twin of `SyncDeadlineBackend`."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _AsyncStream:
        return _AsyncStream(
            await self._backend.connect_tcp(
                host, port, _until_deadline(timeout), local_address, socket_options
            )
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _AsyncStream:
        return _AsyncStream(
            await self._backend.connect_unix_socket(path, _until_deadline(timeout), socket_options)
        )

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
