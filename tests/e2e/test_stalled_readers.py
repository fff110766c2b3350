"""Clients that ask for a large object and never read must not lock the server out.

Each stalled reader is a raw socket with a tiny receive buffer that sends a signed GET
of an object larger than every socket buffer on the way, then reads nothing. With the
body streamed by an app thread, one such client per thread (8 under waitress, 8 per
gunicorn worker) leaves no thread for anyone else. The object's file goes to the
server's file wrapper instead (boxdrive_wsgi.web.file_response), so other requests still
get their answer at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from boxdrive_wsgi.servers.gunicorn_sendfile import HAND_OVER_MIN_BYTES

from .conftest import make_client, unique_bucket_name
from .raw import sign_headers
from .servers import SERVERS, RunningServer, running_shipped

STALLED_READERS = 32
SMALL_GETS = 100
#: Far more than a loopback connection buffers (socket buffers autotune to a few MB).
LARGE_OBJECT = 64 * 1024 * 1024
SMALL_GET_SECONDS = 1.0
STOP_SECONDS = 5.0


@pytest.fixture(params=SERVERS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    with running_shipped(request.param, tmp_path / "data", tmp_path) as server:
        yield server


def raw_get(server: RunningServer, path: str, *, receive_buffer: int = 4096) -> socket.socket:
    """A connection that has sent a GET of ``path`` and has read nothing yet; by
    default with a small receive window, as a stalled reader has (0: the system's)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # before connect: it sets the window
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((server.host, server.port))
    headers = sign_headers(server, "GET", server.endpoint + path, body=b"")
    headers["Host"] = f"{server.host}:{server.port}"
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall((head + "\r\n").encode("latin-1"))
    return sock


@pytest.mark.parametrize(
    "stalled_size",
    # A large object, and one just too small to leave the request thread under gunicorn
    # (it must fit in the socket buffers, or a stalled reader holds the thread).
    [LARGE_OBJECT, HAND_OVER_MIN_BYTES - 1],
    ids=["large", "below-hand-over"],
)
def test_stalled_readers_leave_the_server_answering(
    target: RunningServer, stalled_size: int
) -> None:
    s3 = make_client(target)
    bucket = unique_bucket_name("stall")
    s3.create_bucket(Bucket=bucket)
    # Few distinct bytes, so the upload is quick; the server still sends all of them.
    s3.put_object(Bucket=bucket, Key="large", Body=b"\0" * stalled_size)
    s3.put_object(Bucket=bucket, Key="small", Body=b"small object")
    stalled = [raw_get(target, f"/{bucket}/large") for _ in range(STALLED_READERS)]
    try:
        time.sleep(1.0)  # every stalled GET reaches the app and fills its socket buffers
        url = f"{target.endpoint}/{bucket}/small"
        slowest = 0.0
        for _ in range(SMALL_GETS):
            started = time.monotonic()
            with requests.Session() as session:  # a new connection each time
                resp = session.get(
                    url,
                    headers=sign_headers(target, "GET", url, body=b""),
                    timeout=SMALL_GET_SECONDS * 5,
                )
            elapsed = time.monotonic() - started
            assert resp.status_code == 200 and resp.content == b"small object"
            slowest = max(slowest, elapsed)
        assert slowest < SMALL_GET_SECONDS, f"slowest small GET took {slowest:.2f} s"
    finally:
        for sock in stalled:
            sock.close()


def test_small_file_bodies_keep_the_connection(target: RunningServer) -> None:
    """Small GETs stay on one keep-alive connection (only large bodies leave it)."""
    s3 = make_client(target)
    bucket = unique_bucket_name("keep")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="small", Body=b"x" * 4096)
    url = f"{target.endpoint}/{bucket}/small"
    with requests.Session() as session:
        for _ in range(3):
            resp = session.get(url, headers=sign_headers(target, "GET", url, body=b""))
            assert resp.status_code == 200 and len(resp.content) == 4096
            assert resp.headers.get("Connection", "").lower() != "close"


def test_file_bodies_are_whole_and_ranges_exact(target: RunningServer) -> None:
    """The server's file path sends exactly the object, or exactly the range."""
    s3 = make_client(target)
    bucket = unique_bucket_name("fileb")
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == data
    for header, expected in [
        ("bytes=0-0", data[:1]),
        ("bytes=1000-2000000", data[1000:2000001]),
        ("bytes=-17", data[-17:]),
        (f"bytes={len(data) - 1}-", data[-1:]),
    ]:
        got = s3.get_object(Bucket=bucket, Key="obj", Range=header)
        assert got["ContentLength"] == len(expected)
        assert got["Body"].read() == expected, header
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_gunicorn_sends_files_to_the_end_when_it_stops(tmp_path: Path) -> None:
    """A graceful stop (SIGTERM) waits for the sender thread's transfers, as gunicorn
    waits for requests in progress: a download under way is not cut short."""
    with running_shipped("gunicorn", tmp_path / "data", tmp_path) as server:
        s3 = make_client(server)
        bucket = unique_bucket_name("stop")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="large", Body=b"\1" * LARGE_OBJECT)
        sock = raw_get(server, f"/{bucket}/large", receive_buffer=0)
        sock.settimeout(30)
        received = bytearray(sock.recv(1024 * 1024))
        server.proc.terminate()
        # Let the worker stop while the body is on its way: without waiting for its
        # transfers, gunicorn is gone well within this time, and the body with it.
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=STOP_SECONDS)
        while chunk := sock.recv(1024 * 1024):
            received += chunk
        sock.close()
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert len(body) == LARGE_OBJECT
