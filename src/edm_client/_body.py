"""Reading a response body as a stream, so that a huge, endless or trickling one costs a bounded
amount of memory and time.

The read stops as soon as the *decoded* size passes `max_response_bytes`, or the call's
deadline passes between two chunks (`total_timeout`). httpx would inflate
each compressed chunk whole (a 64 KiB chunk of a gzip bomb is 64 MiB), so the encodings the
SDK asks for, gzip and deflate, are inflated here with zlib's output bound instead; anything
else (only a server ignoring `Accept-Encoding` sends it) is left to httpx and counted.
"""

from __future__ import annotations

import time
import zlib
from typing import Final

import httpx

from edm_client._exceptions import APIResponseValidationError, ResponseTooLargeError
from edm_client._response import request_id_of

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BodyReader",
    "check_read_body",
    "store_body",
    "too_large",
]

ACCEPT_ENCODING: Final = "gzip, deflate"
DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024

_WBITS: Final = {
    "gzip": zlib.MAX_WBITS | 16,
    "x-gzip": zlib.MAX_WBITS | 16,
    "deflate": zlib.MAX_WBITS,  # zlib-wrapped, as RFC 9110 says; raw deflate is tried after
}
_IDENTITY: Final = frozenset({"", "identity"})


class BodyReader:
    """Collects one response's body from the chunks a driver reads, within the size limit.

    Drivers iterate `response.iter_raw()` when `raw` (this reader decodes), else
    `response.iter_bytes()`, pass each chunk to `feed`, then store `body()`."""

    __slots__ = (
        "_deadline",
        "_inflater",
        "_limit",
        "_parts",
        "_raw_deflate",
        "_response",
        "_size",
        "raw",
    )

    def __init__(self, response: httpx.Response, limit: int, deadline: float | None) -> None:
        self._response = response
        self._limit = limit
        self._deadline = deadline
        if deadline is not None:
            _read_timeout_until(response.request, deadline)
        self._parts: list[bytes] = []
        self._size = 0
        self._inflater: zlib._Decompress | None = None
        self._raw_deflate = False
        encoding = response.headers.get("content-encoding", "").strip().lower()
        self.raw = encoding in _IDENTITY or encoding in _WBITS
        if encoding in _WBITS:
            self._inflater = zlib.decompressobj(_WBITS[encoding])
            self._raw_deflate = encoding == "deflate"
        elif encoding in _IDENTITY:
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large(response, limit)  # known before a byte of it is read

    def feed(self, chunk: bytes) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise httpx.ReadTimeout(
                "total_timeout passed while the body was arriving", request=self._response.request
            )
        if self._inflater is None:
            self._add(chunk)
            return
        while chunk:
            # At most one byte past the limit comes out of zlib, however much `chunk` inflates
            # to; the rest of the input waits in unconsumed_tail.
            room = self._limit - self._size + 1
            try:
                out = self._inflater.decompress(chunk, room)
            except zlib.error as exc:
                if not self._raw_deflate:
                    raise self._corrupt(exc) from None
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without zlib header
                self._raw_deflate = False
                continue
            self._raw_deflate = False
            self._add(out)
            chunk = self._inflater.unconsumed_tail

    def body(self) -> bytes:
        if self._inflater is not None:
            try:
                self._add(self._inflater.flush())
            except zlib.error as exc:
                raise self._corrupt(exc) from None
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise too_large(self._response, self._limit)
        self._parts.append(data)

    def _corrupt(self, exc: zlib.error) -> APIResponseValidationError:
        response = self._response
        request_id = request_id_of(response)
        encoding = response.headers.get("content-encoding")
        return APIResponseValidationError(
            f"The server answered {response.status_code} but its body is not valid "
            f"{encoding} data ({exc})" + (f" (request id {request_id})" if request_id else ""),
            response=response,
            request_id=request_id,
        )


def _read_timeout_until(request: httpx.Request, deadline: float) -> None:
    """Cut the read timeout of the body phase to the time left. httpcore takes it once, when
    the body starts, from the extensions it shares with `request`; a pool the SDK made also
    cuts every single wait (`_http_pool.call_deadline`), a caller's pool only this."""
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        left = max(deadline - time.monotonic(), 0.001)
        read = timeouts.get("read")
        if read is None or read > left:
            request.extensions["timeout"] = {**timeouts, "read": left}


def check_read_body(response: httpx.Response, limit: int) -> None:
    """For a response an in-memory transport already read whole: its size, after the fact."""
    if len(response.content) > limit:
        raise too_large(response, limit)


def store_body(response: httpx.Response, body: bytes) -> None:
    """Give `response` the body read for it, as `httpx.Response.read()` does with its own."""
    response._content = body


def too_large(response: httpx.Response, limit: int) -> ResponseTooLargeError:
    request = response.request
    request_id = request_id_of(response)
    return ResponseTooLargeError(
        f"The response to {request.method} {request.url} is larger than "
        f"max_response_bytes={limit:,} bytes once decoded, so reading stopped there. If the "
        "server's answers are really this large, raise max_response_bytes= on the client"
        + (f" (request id {request_id})." if request_id else "."),
        response=response,
        request_id=request_id,
        limit=limit,
    )
