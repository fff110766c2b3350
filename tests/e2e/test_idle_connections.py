"""Idle connections do not lock ``boxdrive-wsgi serve`` out.

waitress stops accepting at ``connection_limit`` open connections and closes an idle one
only after ``channel_timeout``; with its defaults (100, 120 s) a client holding 100
sockets that each sent half a request line kept everyone else waiting for two minutes or
more. ``serve`` raises the limit (cli/serve.py), so a normal request still gets its answer.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import make_client, unique_bucket_name
from .raw import sign_headers
from .servers import RunningServer, running_shipped

#: More than waitress's default connection_limit (100).
IDLE_CONNECTIONS = 150
#: Generous: the request answers in milliseconds; the old defaults made it wait 120 s+.
ANSWER_TIMEOUT = 20.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RunningServer]:
    with running_shipped("waitress", tmp_path / "data", tmp_path) as server:
        yield server


def half_request(server: RunningServer) -> socket.socket:
    """A connection that has sent part of a request line, and then nothing."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(b"GET /idle-bucket/idle-key HT")
    return sock


def test_idle_connections_leave_room_for_a_request(served: RunningServer) -> None:
    s3 = make_client(served)
    bucket = unique_bucket_name("idle")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="small", Body=b"small object")
    idle = [half_request(served) for _ in range(IDLE_CONNECTIONS)]
    try:
        url = f"{served.endpoint}/{bucket}/small"
        with requests.Session() as session:  # a connection of its own, opened after the idle ones
            resp = session.get(
                url, headers=sign_headers(served, "GET", url, body=b""), timeout=ANSWER_TIMEOUT
            )
        assert resp.status_code == 200 and resp.content == b"small object"
        for sock in idle:  # still open: the server did not simply drop them
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in idle:
            sock.close()


def test_idle_connections_are_closed_after_the_channel_timeout(tmp_path: Path) -> None:
    """BOXDRIVE_CHANNEL_TIMEOUT reaches waitress: a half-sent request is dropped after it
    (the generous wait is not a measurement, it only bounds a hang)."""
    extra = {"BOXDRIVE_CHANNEL_TIMEOUT": "2"}
    with running_shipped("waitress", tmp_path / "data", tmp_path, extra_env=extra) as server:
        sock = half_request(server)
        sock.settimeout(ANSWER_TIMEOUT)
        try:
            assert sock.recv(1024) == b""  # closed by the server, nothing answered
        except ConnectionResetError:
            pass  # closed with unread bytes pending: an RST, closed all the same
        finally:
            sock.close()
