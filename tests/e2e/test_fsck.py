"""``boxdrive-wsgi fsck`` after a server killed with SIGKILL in the middle of an upload,
and ``boxdrive-wsgi stats``: the real CLI on a real data dir."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.cli import main
from boxdrive_wsgi.stores.base import NoSuchKey
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.index import INLINE_MAX

from .servers import free_port, server_env, start_server

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Result:
    """The ``boxdrive-wsgi`` command, in process (a subprocess costs a second of imports)."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find gunicorn workers")
@pytest.mark.parametrize("server_kind", ["gunicorn", "waitress"])
def test_fsck_after_kill_mid_upload(tmp_path: Path, server_kind: str) -> None:
    """Killed while a large body arrives and is hashed and written back behind it (a
    tmp/*.part under gunicorn, waitress's tmp/spool-*): no object, fsck cleans up."""
    data = tmp_path / "data"
    store = FilesystemStore(data)
    store.create_bucket("torn", owner=ANONYMOUS.id)  # the unsigned PUT below acts as ANONYMOUS
    store.put_object("torn", "kept", io.BytesIO(b"safe"), size=4)
    store.close()

    port = free_port()
    env = server_env(
        data, extra={"BOXDRIVE_ANONYMOUS": "1", "GUNICORN_WORKERS": "1", "BOXDRIVE_METRICS": "0"}
    )
    if server_kind == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        argv += ["--bind", f"127.0.0.1:{port}", "boxdrive_wsgi:app"]
    else:
        argv = [sys.executable, "-m", "boxdrive_wsgi.cli", "serve", "--port", str(port)]
    server = start_server(argv, env, port=port, log_dir=tmp_path)
    try:
        # A 64 MB PUT, sent slowly: kill the server once the store is writing it.
        size, chunk = 64 * 1024 * 1024, b"z" * (1024 * 1024)
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            f"PUT /torn/big HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        )
        deadline = time.monotonic() + 30
        sent = 0
        # Past write_behind.THREADS_AFTER (8 MiB): the hash and sync threads are running.
        while not list((data / "tmp").iterdir()) or sent < 16 * len(chunk):
            assert time.monotonic() < deadline, server.log()
            sock.sendall(chunk)
            sent += len(chunk)
            time.sleep(0.05)
        assert sent < size
        time.sleep(0.5)  # the server takes in what was sent
        for pid in children(server.pid):
            os.kill(pid, signal.SIGKILL)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        sock.close()
    finally:
        server.stop()

    # More leftovers, as other crashes leave them.
    orphan = data / "objects" / "ee" / ("ee" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"nobody's")
    stray_part = data / "parts" / "0123abcd.00001.ffffff"
    stray_part.write_bytes(b"part")
    store = FilesystemStore(data)
    upload = store.create_multipart_upload("torn", "never-finished")
    store.close()

    # Young files are left alone by default: an upload may still be running.
    assert cli("fsck", "--data-dir", str(data)).returncode == 0

    report = cli("fsck", "--data-dir", str(data), "--older-than", "0", "--uploads-older-than", "0")
    assert report.returncode == 1, report.stderr
    out = report.stdout
    assert "stale temp file" in out and str(data / "tmp") in out
    assert f"orphan content file: {orphan}" in out
    assert f"orphan part file: {stray_part}" in out
    assert f"abandoned multipart upload: torn/never-finished (id {upload}" in out
    assert "4 problem(s) found, 0 repaired, 4 remaining" in report.stderr

    # No partial object is visible, before or after the repair.
    store = FilesystemStore(data)
    with pytest.raises(NoSuchKey):
        store.head_object("torn", "big")
    assert [o.key for o in store.list_objects("torn").objects] == ["kept"]
    store.close()

    repair = cli(
        "fsck",
        "--data-dir",
        str(data),
        "--older-than",
        "0",
        "--uploads-older-than",
        "0",
        "--repair",
    )
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "4 problem(s) found, 4 repaired, 0 remaining" in repair.stderr
    assert not list((data / "tmp").iterdir())
    assert not orphan.exists() and not stray_part.exists()
    again = cli("fsck", "--data-dir", str(data), "--older-than", "0", "--uploads-older-than", "0")
    assert again.returncode == 0 and "0 problem(s) found" in again.stderr

    store = FilesystemStore(data)
    assert store.get_object("torn", "kept").read_all() == b"safe"
    assert (
        store.list_multipart_uploads(
            "torn", prefix="", delimiter="", key_marker="", upload_id_marker="", max_uploads=10
        ).uploads
        == []
    )
    store.close()


def test_fsck_reports_missing_content_and_cannot_repair_it(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    store.create_bucket("b")
    big = b"x" * (INLINE_MAX + 1)  # in a content file (small bodies are inline)
    store.put_object("b", "gone", io.BytesIO(big), size=len(big))
    body = store.get_object("b", "gone")
    assert body.path is not None
    path = body.path
    body.close()
    store.close()
    os.unlink(path)
    result = cli("fsck", "--data-dir", str(tmp_path), "--repair")
    assert result.returncode == 1
    assert f"missing content file: b/gone ({path})" in result.stdout


def test_fsck_needs_a_store(tmp_path: Path) -> None:
    result = cli("fsck", "--data-dir", str(tmp_path / "nothing"))
    assert result.returncode != 0 and "no filesystem store here" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_stats(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    for name in ("alpha", "beta", "empty"):
        store.create_bucket(name)
    store.put_object("alpha", "a", io.BytesIO(b"12345"), size=5)
    store.put_object("alpha", "b/c", io.BytesIO(b"123"), size=3)
    store.put_object("beta", "x", io.BytesIO(b"1" * 100), size=100)
    store.close()
    doc = json.loads(cli("stats", "--data-dir", str(tmp_path), "--json").stdout)
    assert doc["buckets"] == [
        {"name": "alpha", "objects": 2, "bytes": 8},
        {"name": "beta", "objects": 1, "bytes": 100},
        {"name": "empty", "objects": 0, "bytes": 0},
    ]
    assert doc["total"] == {"buckets": 3, "objects": 3, "bytes": 108}
    table = cli("stats", "--data-dir", str(tmp_path)).stdout.splitlines()
    assert table[0].split() == ["BUCKET", "OBJECTS", "BYTES"]
    assert table[1].split() == ["alpha", "2", "8"]
    assert table[-2].split() == ["TOTAL", "3", "108"]
    assert table[-1] == "3 bucket(s)"
