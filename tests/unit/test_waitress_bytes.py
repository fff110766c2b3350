"""Large chunks of an app-iterated body under waitress are queued as they are (no temp
file): the bytes arrive whole and in order among small chunks and headers, a
Content-Length shorter than the chunks cuts them as stock waitress does, and a slow
reader still holds the app thread back at the high watermark (bounded memory)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import requests
from waitress.server import create_server

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)
from boxdrive_wsgi.servers import waitress_bytes

MIB = 1024 * 1024
BIG = os.urandom(3 * MIB + 5)
CHUNKS = [b"head", BIG[:MIB], b"x" * 100, BIG[MIB:], os.urandom(waitress_bytes.LARGE), b"tail"]
WHOLE = b"".join(CHUNKS)

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serve(app: App, **options: Any) -> Iterator[str]:
    server = create_server(app, host="127.0.0.1", port=0, threads=2, **options)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


yielded: list[int] = []


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("HTTP_X_LENGTH", len(WHOLE)))
    start_response("200 OK", [("Content-Length", str(length))])

    def body() -> Iterator[bytes]:
        for chunk in CHUNKS:
            yielded.append(len(chunk))
            yield chunk

    return body()


@pytest.fixture
def url() -> Iterator[str]:
    yield from serve(app)


def test_large_chunks_arrive_whole_and_in_order(url: str) -> None:
    for _ in range(3):  # keep-alive: the next response follows on the same connection
        got = requests.get(url, timeout=30)
        assert got.status_code == 200 and got.content == WHOLE


def test_content_length_cuts_a_large_chunk(url: str) -> None:
    cut = 4 + MIB // 2
    with socket.create_connection(
        (url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1]))
    ) as s:
        s.sendall(
            f"GET / HTTP/1.1\r\nHost: x\r\nX-Length: {cut}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(1 << 20):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert f"Content-Length: {cut}".encode() in head
    assert body == WHOLE[:cut]


MANY = 48  # MiB: more than the kernel's socket buffers hold


def many(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Length", str(MANY * MIB))])

    def body() -> Iterator[bytes]:
        for index in range(MANY):
            yielded.append(index)
            yield bytes([index]) * MIB

    return body()


def test_a_slow_reader_holds_the_app_back() -> None:
    yielded.clear()
    for base in serve(many, outbuf_high_watermark=MIB):
        host, port = base.split("//")[1].split(":")
        with socket.create_connection((host, int(port))) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(1.0)  # not reading: the app must wait at the high watermark
            assert len(yielded) < MANY // 2
            data = bytearray()
            while chunk := s.recv(1 << 20):
                data += chunk
        body = bytes(data.partition(b"\r\n\r\n")[2])
        assert body == b"".join(bytes([i]) * MIB for i in range(MANY))
        assert len(yielded) == MANY
