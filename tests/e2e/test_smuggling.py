"""A request framed two ways (Content-Length and Transfer-Encoding: chunked) is refused.

Behind a proxy that frames requests by Content-Length, the bytes after the chunked
body are still body to the proxy, but would be a second request to a server that
frames by the chunked encoding and keeps the connection: a request smuggled past
the proxy. The server must answer 400 and close the connection, so that nothing
after the first request's headers is ever answered.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import SERVERS, RunningServer, running_shipped

SMUGGLED = b"GET /-/health/live HTTP/1.1\r\nHost: smuggled\r\n\r\n"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@pytest.fixture(params=SERVERS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    with running_shipped(request.param, tmp_path / "data", tmp_path) as server:
        yield server


def exchange(server: RunningServer, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass  # the connection stayed open: the status lines below tell
        return received


def test_content_length_with_chunked_is_refused_and_nothing_smuggled(
    target: RunningServer,
) -> None:
    body = b"0\r\n\r\n" + SMUGGLED
    head = (
        b"PUT /bucket/key HTTP/1.1\r\n"
        + f"Host: {target.host}:{target.port}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    received = exchange(target, head + body)
    statuses = STATUS_LINE.findall(received)
    assert statuses == [b"400"], received[:2000]


def test_chunked_alone_is_still_served(target: RunningServer) -> None:
    """The refusal is narrow: a chunked request without Content-Length gets its answer."""
    head = (
        b"PUT /bucket/key HTTP/1.1\r\n"
        + f"Host: {target.host}:{target.port}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    received = exchange(target, head + b"2\r\nhi\r\n0\r\n\r\n")
    statuses = STATUS_LINE.findall(received)
    assert len(statuses) == 1 and statuses[0] != b"400", received[:2000]
