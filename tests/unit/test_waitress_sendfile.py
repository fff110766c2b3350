"""Object files under waitress go out with sendfile(2) from its I/O loop, whole and
from the right offset; a content file shorter than its index entry closes the
connection rather than sending fewer bytes than Content-Length promised."""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import requests
from waitress.server import create_server
from waitress.wasyncore import _DISCONNECTED

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)
from boxdrive_wsgi import create_app
from boxdrive_wsgi.servers import waitress_sendfile
from boxdrive_wsgi.stores.filesystem import FilesystemStore

MIB = 1024 * 1024


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[int]]]:
    """A waitress server over a filesystem store (anonymous), and the sendfile calls."""
    calls: list[int] = []
    sendfile = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        calls.append(count)
        return sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(os, "sendfile", counting)
    # Every body in a content file (small ones would be inline): these tests are about files.
    store = FilesystemStore(tmp_path / "data", inline_max=-1)
    app = create_app(store, anonymous=True, access_log="off")
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", calls
    finally:
        server.close()


def test_object_files_are_sent_with_sendfile(served: tuple[str, list[int]]) -> None:
    url, calls = served
    data = os.urandom(5 * MIB + 3)
    assert requests.put(url + "/sent", timeout=10).status_code == 200
    assert requests.put(url + "/sent/obj", data=data, timeout=30).status_code == 200
    calls.clear()
    got = requests.get(url + "/sent/obj", timeout=30)
    assert got.status_code == 200 and got.content == data
    assert calls  # the file went out through sendfile
    ranged = requests.get(url + "/sent/obj", headers={"Range": "bytes=1000-2999999"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == data[1000:3000000]
    # a listing (not a file) is sent the stock way
    calls.clear()
    assert b"<Key>obj</Key>" in requests.get(url + "/sent", timeout=10).content
    assert calls == []


def test_a_short_content_file_is_refused_not_truncated(
    served: tuple[str, list[int]], tmp_path: Path
) -> None:
    """waitress sends what the file holds and rewrites Content-Length to match: a damaged
    content file would go out as a complete 200 of the wrong bytes."""
    url, _ = served
    data = os.urandom(3 * MIB)
    requests.put(url + "/short", timeout=10)
    requests.put(url + "/short/obj", data=data, timeout=30)
    (content,) = [p for p in (tmp_path / "data" / "objects").rglob("*") if p.is_file()]
    os.truncate(content, MIB)  # damaged behind the index's back
    got = requests.get(url + "/short/obj", timeout=10)
    assert got.status_code == 500
    assert b"<Code>InternalError</Code>" in got.content


def test_small_bodies_go_out_with_the_headers(
    served: tuple[str, list[int]], tmp_path: Path
) -> None:
    """Up to INLINE_LIMIT the app reads the bytes itself: no file hand-over, no sendfile."""
    url, calls = served
    data = os.urandom(4096)
    requests.put(url + "/small", timeout=10)
    requests.put(url + "/small/obj", data=data, timeout=10)
    calls.clear()
    got = requests.get(url + "/small/obj", timeout=10)
    assert got.status_code == 200 and got.content == data
    assert got.headers["Content-Length"] == "4096"
    ranged = requests.get(url + "/small/obj", headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == data[10:20]
    assert calls == []
    (content,) = [p for p in (tmp_path / "data" / "objects").rglob("*") if p.is_file()]
    os.truncate(content, 100)  # damaged behind the index's back
    assert requests.get(url + "/small/obj", timeout=10).status_code == 500


class FakeChannel:
    """What ``_sendfile`` uses of a waitress channel: its socket, logger and closing."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock
        self.logger = logging.getLogger("test")
        self.will_close = False
        self.closed = 0

    def handle_close(self) -> None:
        self.closed += 1


class FakeOutbuf:
    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    def skip(self, numbytes: int, allow_prune: bool = False) -> None:
        self.file.seek(numbytes, 1)


@pytest.mark.parametrize("do_close", [True, False])
def test_a_failed_send_closes_the_channel_only_on_the_loop(tmp_path: Path, do_close: bool) -> None:
    """Off waitress's loop (``do_close=False``: an app thread's flush in write_soon) a
    gone client or a short file must not close the channel: the loop's select would
    meet the closed descriptor (EBADF) and die. It asks the loop to close instead."""
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    server, client = socket.socketpair()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # reset: the next send fails
    gone = FakeChannel(server)
    with open(__file__, "rb") as f:
        fd = f.fileno()
        sent = waitress_sendfile._sendfile(gone, FakeOutbuf(f), fd, 100, _DISCONNECTED, do_close)
    assert sent == 0
    assert (gone.closed, gone.will_close) == ((1, False) if do_close else (0, True))
    server.close()
    server, client = socket.socketpair()
    short = FakeChannel(server)
    with open(empty, "rb") as f:
        sent = waitress_sendfile._sendfile(
            short, FakeOutbuf(f), f.fileno(), 100, _DISCONNECTED, do_close
        )
    assert sent == 0
    assert (short.closed, short.will_close) == ((1, False) if do_close else (0, True))
    server.close()
    client.close()
