"""max_response_bytes: a body is read as a stream and the read stops as soon as its decoded size
passes the limit, with `ResponseTooLargeError`; a gzip bomb costs a small multiple of the limit.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import raw_server
from _helpers import (
    MODES,
    Api,
    fake_api,
    json_response,
    make_client,
    no_wait,
    record_json,
    socket_client,
)
from edm_client import (
    APIResponseValidationError,
    ResponseTooLargeError,
)
from edm_client.testing import FakeServer

LIMIT = 1024 * 1024
BOMB_SIZE = 64 * 1024 * 1024


@functools.cache
def gzip_bomb() -> bytes:
    """64 MiB of zeros, gzip-compressed to about 64 KiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = bytes(1024 * 1024)
    return b"".join(compressor.compress(chunk) for _ in range(BOMB_SIZE // len(chunk))) + (
        compressor.flush()
    )


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that arrives in chunks, as from a socket, counting what was read."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


def _streaming(status: int, chunks: list[bytes], **headers: str) -> tuple[Any, list[Chunks]]:
    streams: list[Chunks] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stream = Chunks(chunks)
        streams.append(stream)
        return httpx.Response(status, headers=headers, stream=stream)

    return handler, streams


def _peak_during(call: Any) -> Any:
    """Run the coroutine function `call` with tracemalloc on; its peak, in bytes."""

    async def measured() -> int:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            await call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return measured


# -- the limit -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_past_the_limit_raises_response_too_large(mode: str) -> None:
    handler, streams = _streaming(200, [b"[" + b" " * 65536] * 64)
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT))

    with pytest.raises(ResponseTooLargeError) as caught:
        await api.get("per_1")

    error = caught.value
    assert isinstance(error, APIResponseValidationError)
    assert error.limit == LIMIT
    assert error.status_code == 200
    assert "max_response_bytes=1,048,576 bytes" in str(error)
    assert "raise max_response_bytes= on the client" in str(error)
    assert "GET https://edm.test/api/v1/performance/learning-records/per_1" in str(error)
    assert streams[0].read == 16  # 16 chunks of 65,537 bytes pass 1 MiB: no more was read


@pytest.mark.parametrize("mode", MODES)
async def test_a_too_large_errors_response_has_status_and_headers_but_no_body(mode: str) -> None:
    handler, _ = _streaming(200, [b" " * 65536] * 64, **{"X-Request-ID": "req_big"})
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT))

    with pytest.raises(ResponseTooLargeError) as caught:
        await api.get("per_1")

    response = caught.value.response
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req_big"
    with pytest.raises(httpx.ResponseNotRead):
        _ = response.text


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_of_exactly_the_limit_is_read(mode: str) -> None:
    body = json.dumps(record_json()).encode()
    handler, _ = _streaming(200, [body], **{"Content-Type": "application/json"})
    api = Api(make_client(mode, handler=handler, max_response_bytes=len(body)))

    assert (await api.get("per_1")).id == record_json()["id"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_content_length_past_the_limit_is_refused_before_reading(mode: str) -> None:
    handler, streams = _streaming(200, [b"x" * 10], **{"Content-Length": str(LIMIT + 1)})
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT))

    with pytest.raises(ResponseTooLargeError):
        await api.get("per_1")

    assert streams[0].read == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_an_in_memory_transport_already_read_is_checked_too(mode: str) -> None:
    api = Api(
        make_client(
            mode,
            handler=lambda request: json_response(200, record_json(title="x" * 2000)),
            max_response_bytes=1000,
        )
    )

    with pytest.raises(ResponseTooLargeError):
        await api.get("per_1")


@pytest.mark.parametrize("mode", MODES)
async def test_a_too_large_error_body_is_not_retried(mode: str) -> None:
    handler, streams = _streaming(503, [b"x" * 65536] * 32)
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT, retry_policy=no_wait()))

    with pytest.raises(ResponseTooLargeError) as caught:
        await api.list()

    assert caught.value.status_code == 503
    assert len(streams) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_the_default_limit_is_16_mib_and_pages_far_below_it_parse(mode: str) -> None:
    page = {"data": [record_json(id=f"per_{n:026d}") for n in range(100)], "next_cursor": None}
    api = Api(make_client(mode, handler=lambda request: json_response(200, page)))

    assert api.client.max_response_bytes == 16 * 1024 * 1024
    assert len(await api.list()) == 100


@pytest.mark.parametrize("mode", MODES)
async def test_max_response_bytes_is_set_on_a_with_options_copy(mode: str) -> None:
    handler, _ = _streaming(200, [b"x" * 2048])
    client = make_client(mode, handler=handler)
    api = Api(client.with_options(max_response_bytes=1024))

    with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1,024 bytes"):
        await api.get("per_1")

    assert client.max_response_bytes == 16 * 1024 * 1024


# -- compressed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_gzip_bomb_stops_at_the_limit_within_a_small_multiple_of_it_in_memory(
    mode: str,
) -> None:
    bomb = gzip_bomb()
    handler, _ = _streaming(200, [bomb], **{"Content-Encoding": "gzip"})
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT))

    async def call() -> None:
        with pytest.raises(ResponseTooLargeError):
            await api.get("per_1")

    peak = await _peak_during(call)()

    assert len(bomb) * 500 < BOMB_SIZE
    assert peak < 4 * LIMIT


@pytest.mark.parametrize("mode", MODES)
async def test_a_gzip_bomb_over_the_socket_stops_at_the_limit(mode: str) -> None:
    bomb = gzip_bomb()

    def answer(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            raw_server.head(
                "200 OK",
                {
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(bomb)),
                },
            )
            + bomb
        )

    with raw_server.serve(answer) as url:
        api = Api(socket_client(mode, url, max_response_bytes=LIMIT))

        async def call() -> None:
            with pytest.raises(ResponseTooLargeError):
                await api.get("per_1")

        peak = await _peak_during(call)()
        await api.close()

    assert peak < 4 * LIMIT


@pytest.mark.parametrize("mode", MODES)
async def test_an_endless_body_over_the_socket_is_cut_off_at_the_limit(mode: str) -> None:
    sent: list[int] = []

    def answer(conn: socket.socket, head: bytes) -> None:
        conn.sendall(raw_server.head("200 OK", {"Transfer-Encoding": "chunked"}))
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        while True:  # until the client hangs up
            conn.sendall(chunk)
            sent.append(0x10000)

    with raw_server.serve(answer) as url:
        api = Api(socket_client(mode, url, max_response_bytes=LIMIT))
        with pytest.raises(ResponseTooLargeError):
            await api.get("per_1")
        await api.close()

    assert sum(sent) < 64 * LIMIT  # the socket buffers hold a little; the client read no more


def _compressed(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # deflate, no zlib header
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_a_compressed_body_under_the_limit_decodes(mode: str, encoding: str) -> None:
    body = _compressed(encoding, json.dumps(record_json()).encode())
    header = "deflate" if encoding == "raw-deflate" else encoding
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    handler, _ = _streaming(200, chunks, **{"Content-Encoding": header})
    api = Api(make_client(mode, handler=handler))

    record = await api.get("per_1")

    assert record.id == record_json()["id"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_corrupt_gzip_body_is_a_response_validation_error(mode: str) -> None:
    handler, streams = _streaming(200, [b'{"id": "not gzip"}'], **{"Content-Encoding": "gzip"})
    api = Api(make_client(mode, handler=handler, retry_policy=no_wait()))

    with pytest.raises(APIResponseValidationError, match="not valid gzip data"):
        await api.get("per_1")

    assert len(streams) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_layered_encodings_are_decoded_by_httpx_and_still_bounded(mode: str) -> None:
    body = gzip.compress(gzip.compress(bytes(4 * LIMIT)))
    handler, _ = _streaming(200, [body], **{"Content-Encoding": "gzip, gzip"})
    api = Api(make_client(mode, handler=handler, max_response_bytes=LIMIT))

    with pytest.raises(ResponseTooLargeError):
        await api.get("per_1")


@pytest.mark.parametrize("mode", MODES)
async def test_the_client_asks_only_for_encodings_it_can_bound(
    server: FakeServer, mode: str
) -> None:
    api = fake_api(server, mode)
    await api.list()
    await api.close()

    assert server.requests[0].headers["Accept-Encoding"] == "gzip, deflate"
