"""Start real WSGI servers as subprocesses for the end-to-end tests.

``start_server(argv, env)`` runs any server command line, waits until its port answers and
returns a ``RunningServer``; ``waitress_argv`` builds the default waitress command. Later
deployments (gunicorn, uwsgi, nginx in front) reuse ``start_server`` with their own argv.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOMAIN = "s3.localtest"
REGION = "us-east-1"
APP = "boxdrive_wsgi:app"
ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def waitress_argv(port: int, *, threads: int = 8, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        f"--threads={threads}",
        *extra,
        APP,
    ]


def serve_argv(port: int) -> list[str]:
    """waitress as the README ships it for S3-sized bodies: ``boxdrive-wsgi serve``."""
    return [sys.executable, "-m", "boxdrive_wsgi.cli", "serve", "--port", str(port)]


def gunicorn_argv(port: int) -> list[str]:
    """gunicorn with the shipped gunicorn.conf.py (GUNICORN_* in the env size it)."""
    config = str(ROOT / "gunicorn.conf.py")
    return [sys.executable, "-m", "gunicorn", "-c", config, "--bind", f"127.0.0.1:{port}", APP]


@dataclass
class RunningServer:
    """A server subprocess and what a client needs to talk to it."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int
    access_key: str
    secret_key: str
    data_dir: Path
    log_path: Path
    domain: str = DOMAIN
    region: str = REGION
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def server_env(
    data_dir: Path,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a server process: ours, plus the BOXDRIVE_* settings."""
    env = dict(os.environ)
    env.update(
        {
            "BOXDRIVE_DATA_DIR": str(data_dir),
            "BOXDRIVE_ACCESS_KEY": access_key or "AK" + secrets.token_hex(9).upper(),
            "BOXDRIVE_SECRET_KEY": secret_key or secrets.token_urlsafe(30),
            "BOXDRIVE_DOMAIN": DOMAIN,
            "BOXDRIVE_REGION": REGION,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if extra:
        env.update(extra)
    return env


def start_server(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    port: int,
    host: str = "127.0.0.1",
    log_dir: Path | None = None,
    timeout: float = 30.0,
    cwd: str | None = None,
) -> RunningServer:
    """Run ``argv`` with ``env`` and wait until ``host:port`` accepts connections.

    Raises RuntimeError with the server's output if it exits or does not answer in time.
    """
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="boxdrive-log-"))
    log_path = log_dir / f"server-{port}.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        list(argv), env=dict(env), stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd
    )
    log_file.close()
    server = RunningServer(
        proc=proc,
        host=host,
        port=port,
        access_key=env["BOXDRIVE_ACCESS_KEY"],
        secret_key=env["BOXDRIVE_SECRET_KEY"],
        data_dir=Path(env["BOXDRIVE_DATA_DIR"]),
        log_path=log_path,
        env=dict(env),
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server {list(argv)} exited with {proc.returncode} before answering:\n"
                + server.log()
            )
        if _port_answers(host, port):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"server {list(argv)} did not answer on {host}:{port} within {timeout}s:\n" + server.log()
    )


@contextlib.contextmanager
def running_waitress(
    data_dir: Path,
    *,
    threads: int = 8,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[RunningServer]:
    """A waitress server over a filesystem store in ``data_dir``, stopped on exit."""
    port = free_port()
    env = server_env(data_dir, extra=extra_env)
    server = start_server(
        waitress_argv(port, threads=threads, extra=extra_args), env, port=port, log_dir=log_dir
    )
    try:
        yield server
    finally:
        server.stop()


#: The servers the README ships, as ``running_shipped`` names them.
SERVERS = ("waitress", "gunicorn")


@contextlib.contextmanager
def running_shipped(
    kind: str, data_dir: Path, log_dir: Path, *, extra_env: Mapping[str, str] | None = None
) -> Iterator[RunningServer]:
    """``kind`` "waitress" (``boxdrive-wsgi serve``) or "gunicorn" (gunicorn.conf.py,
    two workers of 8 threads) over a filesystem store in ``data_dir``, stopped on exit."""
    port = free_port()
    env = server_env(data_dir, extra=extra_env)
    if kind == "gunicorn":
        env.setdefault("GUNICORN_WORKERS", "2")
        env.setdefault("GUNICORN_THREADS", "8")
    argv = gunicorn_argv(port) if kind == "gunicorn" else serve_argv(port)
    server = start_server(argv, env, port=port, log_dir=log_dir)
    try:
        yield server
    finally:
        server.stop()


def part_pids(log: str, bucket: str) -> set[int]:
    """Worker pids that answered a part upload into ``bucket`` with 200, from the app's
    access log (its ``pid=`` field)."""
    pattern = re.compile(
        rf"method=PUT operation=UploadPart bucket={re.escape(bucket)} status=200 .*pid=(\d+)"
    )
    return {int(m.group(1)) for m in pattern.finditer(log)}


def upload_parts_on_workers(
    server: RunningServer,
    new_client: Callable[[], Any],
    bucket: str,
    key: str,
    upload_id: str,
    parts: Mapping[int, bytes],
    *,
    resend: Sequence[int],
    timeout: float = 120.0,
) -> dict[int, str]:
    """Upload ``parts`` at once, each over a client (a connection) of its own, so that
    the kernel hands them to different worker processes of ``server``; if it gave them
    all to one, re-send the parts in ``resend`` in turn (a re-upload replaces a part)
    until another worker took one. Asserts that no upload failed and that more than
    one worker served; returns the ETags by part number."""
    etags: dict[int, str] = {}
    errors: list[BaseException] = []

    def send(number: int) -> None:
        try:
            response = new_client().upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=parts[number]
            )
            etags[number] = response["ETag"]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for attempt in range(40):
        if errors or len(part_pids(server.log(), bucket)) > 1:
            break
        send(resend[attempt % len(resend)])
    assert errors == [], server.log()[-3000:]
    assert len(part_pids(server.log(), bucket)) > 1, server.log()[-3000:]
    return etags
