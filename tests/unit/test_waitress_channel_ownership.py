"""Only waitress's I/O loop closes a connection, so its loop cannot die of EBADF.

waitress builds its ``select`` lists from the channel map, then calls ``select``; a
channel closed by an app thread in between leaves a closed descriptor in the lists,
``select`` raises EBADF and the loop -- the whole server -- is gone (seen during the
ceph s3-tests). The sendfile patch used to close the channel from the app thread
when a GET's client had already gone when the app queued the file. These tests run a
real waitress with the app and record which thread closes each channel, with clients
that go away at the worst moments, then check the server still answers and left no
descriptor or spool file behind.
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from waitress import wasyncore
from waitress.server import create_server

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)
from boxdrive_wsgi import create_app
from boxdrive_wsgi.servers import waitress_spool
from boxdrive_wsgi.stores.filesystem import FilesystemStore

MIB = 1024 * 1024
#: The request header naming the gate a request waits at before the app runs.
GATE = "HTTP_X_TEST_GATE"


@dataclass
class Served:
    port: int
    server: Any
    loop: threading.Thread
    data_dir: Path
    gates: dict[str, threading.Event] = field(default_factory=dict)
    closed_on: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def settle(self) -> None:
        """Wait (bounded) until the loop has closed every client connection."""
        deadline = time.monotonic() + 30
        while self.server.active_channels and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.server.active_channels, "connections the loop never closed"


def gated(app: Callable[..., Any], served: list[Served]) -> Callable[..., Any]:
    """``app``, holding a request that names a gate until the test opens it."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        name = environ.get(GATE)
        if name:
            assert served[0].gate(name).wait(10)
        return app(environ, start_response)

    return middleware


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    holder: list[Served] = []
    data_dir = tmp_path / "data"
    app = create_app(FilesystemStore(data_dir), anonymous=True, access_log="off")
    server = create_server(gated(app, holder), host="127.0.0.1", port=0, threads=4)
    loop = threading.Thread(target=server.run, name="waitress-loop", daemon=True)
    holder.append(Served(server.effective_port, server, loop, data_dir))
    close = wasyncore.dispatcher.close

    def recording_close(self: Any) -> None:
        holder[0].closed_on.append(threading.current_thread().name)
        close(self)

    monkeypatch.setattr(wasyncore.dispatcher, "close", recording_close)
    loop.start()
    try:
        yield holder[0]
    finally:
        monkeypatch.undo()
        server.close()
        waitress_spool.spool_into(None)


def open_fds() -> list[str]:
    """What this process's descriptors point at: sockets, spool and content files;
    not the index database (each app thread opens its own connection once)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listing the directory, closed by now
            continue
        if "index.sqlite3" not in target:
            found.append(target)
    return sorted(found)


def get_and_leave(served: Served, path: str) -> None:
    """Ask for ``path`` and close the connection before the app answers (it waits at
    the request's gate until the close is done)."""
    name = f"g{len(served.gates)}-{threading.get_ident()}"
    gate = served.gate(name)
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Test-Gate: {name}\r\n\r\n".encode())
    sock.close()  # a FIN: the app's first send still succeeds, the next one fails
    gate.set()


def put_and_leave(port: int, path: str, size: int, sent: int) -> None:
    """Start a PUT of ``size`` bytes (spooled by waitress) and leave after ``sent``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(os.urandom(sent))


def assert_healthy(served: Served, body: bytes) -> None:
    served.settle()
    assert served.loop.is_alive(), "waitress's loop died"
    assert set(served.closed_on) == {"waitress-loop"}, "a channel was closed off the loop"
    got = requests.get(served.url + "/own/obj", timeout=30)
    assert got.status_code == 200 and got.content == body


def test_a_client_gone_before_its_file_is_sent_is_closed_by_the_loop(served: Served) -> None:
    """The app thread's first flush (headers, then sendfile) meets a client that has
    gone: it must leave the close to the loop."""
    body = os.urandom(2 * MIB)
    assert requests.put(served.url + "/own", timeout=10).status_code == 200
    assert requests.put(served.url + "/own/obj", data=body, timeout=30).status_code == 200
    for _ in range(30):
        get_and_leave(served, "/own/obj")
    assert_healthy(served, body)


def test_concurrent_spooled_puts_gets_and_early_disconnects(served: Served) -> None:
    """Spooled PUTs, sendfile GETs and clients leaving mid-request, all at once: every
    close on the loop, the server alive, no descriptor or spool file left behind."""
    body = os.urandom(3 * MIB)
    assert requests.put(served.url + "/own", timeout=10).status_code == 200
    assert requests.put(served.url + "/own/obj", data=body, timeout=30).status_code == 200
    assert requests.get(served.url + "/own/obj", timeout=30).content == body  # warm
    served.settle()
    baseline = open_fds()

    def worker(n: int) -> None:
        for i in range(6):
            kind = (n + i) % 4
            if kind == 0:
                with requests.Session() as session:
                    put = session.put(f"{served.url}/own/k{n}-{i}", data=body, timeout=60)
                    assert put.status_code == 200
            elif kind == 1:
                put_and_leave(served.port, f"/own/gone{n}-{i}", 2 * MIB, MIB)
            elif kind == 2:
                get_and_leave(served, "/own/obj")
            else:
                with requests.Session() as session:
                    got = session.get(f"{served.url}/own/obj", timeout=60)
                    assert got.content == body

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(worker, range(6)))  # re-raises a worker's failure
    assert_healthy(served, body)
    served.settle()  # the GET's connection too
    gc.collect()  # an abandoned request's spool file is closed when its parser goes
    assert [p.name for p in (served.data_dir / "tmp").iterdir()] == []
    assert open_fds() == baseline, "descriptors leaked"
