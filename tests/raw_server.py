"""A loopback server that answers with whatever raw bytes a test scripts: slow drips, gzip
bombs, endless bodies. (`hostile.py` answers with whole `httpx.Response`s; this one writes to
the socket byte by byte, as slowly or as badly as a test needs.)

`serve(answer)` runs `answer(connection, request_head)` for every request on a thread of its
own and yields the base URL; `answer` writes to the socket as slowly or as badly as it likes.
On exit every connection is closed and every thread has ended, so no test leaks a socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

Answer = Callable[[socket.socket, bytes], None]


@contextlib.contextmanager
def serve(answer: Answer) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    connections: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                head = _read_head(conn, stop)
                if head is None:
                    return
                answer(conn, head)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            connections.append(conn)
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in threads:
            thread.join()
        listener.close()


def _read_head(conn: socket.socket, stop: threading.Event) -> bytes | None:
    """The request line and headers (requests here carry no body), or None once closed."""
    conn.settimeout(0.05)
    head = b""
    while b"\r\n\r\n" not in head:
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            if stop.is_set():
                return None
            continue
        if not chunk:
            return None
        head += chunk
    return head


def drip(conn: socket.socket, data: bytes, every: float) -> None:
    """Send `data` one byte every `every` seconds, until it runs out or the client hangs up."""
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(every)


def head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
