"""Small PUTs (kept inline in the filesystem store's index) under gunicorn with two
workers, all killed with SIGKILL mid-traffic: every PUT that got its 200 reads back
with its exact bytes afterwards, and fsck finds nothing missing."""

from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.fsck import Fsck

from .servers import free_port, server_env, start_server
from .test_fsck import children

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "inl"


def body(client: int, n: int) -> bytes:
    return f"client {client} put {n} ".encode() * 100  # ~2 KiB: inline


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find gunicorn workers")
def test_acknowledged_inline_puts_survive_sigkill_of_every_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = FilesystemStore(data)
    store.create_bucket(BUCKET, owner=ANONYMOUS.id)  # the unsigned PUTs act as ANONYMOUS
    store.close()
    port = free_port()
    env = server_env(
        data, extra={"BOXDRIVE_ANONYMOUS": "1", "GUNICORN_WORKERS": "2", "BOXDRIVE_METRICS": "0"}
    )
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "boxdrive_wsgi:app"]
    server = start_server(argv, env, port=port, log_dir=tmp_path)
    acked: list[tuple[int, int]] = []
    stop = threading.Event()

    def client(c: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("PUT", f"/{BUCKET}/c{c}/{n}", body=body(c, n))
                if conn.getresponse().status == 200:
                    acked.append((c, n))
                conn.close()
            except OSError:  # the server is gone
                return
            n += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(6)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 200:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.01)
        # Mid-traffic: puts are in flight, some committed and not yet answered.
        for pid in children(server.pid):
            os.kill(pid, signal.SIGKILL)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        done = list(acked)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        server.stop()

    store = FilesystemStore(data)
    try:
        for c, n in done:
            assert store.get_object(BUCKET, f"c{c}/{n}").read_all() == body(c, n)
        check = Fsck(store, older_than=0, uploads_older_than=0)
        assert [p for _, p in check.missing_content() if p] == []
        assert [p for p in (data / "objects").rglob("*") if p.is_file()] == []  # all inline
    finally:
        store.close()
