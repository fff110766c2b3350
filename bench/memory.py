#!/usr/bin/env python3
"""Server memory while a large object streams through waitress.

Starts ``waitress boxdrive_wsgi:app`` on a filesystem store in a temporary directory, PUTs an
object of ``--size-mib`` (default 1024) streamed from a generator, GETs it back streamed, and
samples the server's VmRSS/VmHWM from /proc every 100 ms. Prints baseline, peak and growth in
MB plus throughput; exits 1 if growth exceeds ``--limit-mb`` (default 64), 2 if the data came
back wrong.

    python bench/memory.py [--size-mib 1024] [--limit-mb 64] [--threads 4]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MIB = 1024 * 1024
REGION = "us-east-1"


class Unsigned(S3SigV4Auth):
    """SigV4 with UNSIGNED-PAYLOAD, so the body can stream."""

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return False


class GeneratedBody:
    """``size`` bytes made on the fly in 1 MiB chunks; has a length so that requests sends
    Content-Length (not chunked) and streams the chunks without buffering them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sha256 = hashlib.sha256()
        self._block = bytearray(os.urandom(MIB))

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        index = 0
        while sent < self.size:
            self._block[:8] = index.to_bytes(8, "big")  # every chunk differs
            chunk = bytes(self._block[: min(MIB, self.size - sent)])
            self.sha256.update(chunk)
            sent += len(chunk)
            index += 1
            yield chunk


class RssSampler(threading.Thread):
    """Samples VmRSS and VmHWM (kB) of ``pid`` every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_rss_kb = 0
        self.hwm_kb = 0
        self.samples = 0
        self._halt = threading.Event()

    def read(self) -> tuple[int, int]:
        fields: dict[str, int] = {}
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0])
        return fields.get("VmRSS", 0), fields.get("VmHWM", 0)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                rss, hwm = self.read()
            except OSError:
                return
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.hwm_kb = max(self.hwm_kb, hwm)
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"server did not answer within {timeout}s:\n{log.read_text(errors='replace')}")


class Client:
    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint
        self.creds = Credentials(access_key, secret_key)
        self.session = requests.Session()

    def headers(
        self, method: str, path: str, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        request = AWSRequest(method=method, url=self.endpoint + path, headers=extra or {})
        Unsigned(self.creds, "s3", REGION).add_auth(request)
        return dict(request.headers.items())

    def send(self, method: str, path: str, **kwargs: object) -> requests.Response:
        extra = kwargs.pop("extra_headers", None)
        resp = self.session.request(
            method,
            self.endpoint + path,
            headers=self.headers(method, path, extra),  # type: ignore[arg-type]
            timeout=600,
            **kwargs,  # type: ignore[arg-type]
        )
        if resp.status_code >= 300:
            sys.exit(f"{method} {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp


def stop_server(proc: subprocess.Popen[bytes], workdir: Path, *, keep: bool) -> None:
    """Stop the server and, unless asked to keep it, remove its temp dir."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)


def mb(kb: int) -> float:
    return kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--limit-mb", type=float, default=64.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir for inspection")
    parser.add_argument(
        "--store",
        default="filesystem",
        help="BOXDRIVE_STORE for the server; modules in bench/ are importable "
        "(e.g. async_store:make_store for the async-store adapter)",
    )
    args = parser.parse_args()
    size = args.size_mib * MIB

    workdir = Path(tempfile.mkdtemp(prefix="boxdrive-bench-"))
    data_dir = workdir / "data"
    data_dir.mkdir()
    log = workdir / "server.log"
    port = free_port()
    access_key, secret_key = "BENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    env = dict(os.environ)
    env.update(
        {
            "BOXDRIVE_DATA_DIR": str(data_dir),
            "BOXDRIVE_ACCESS_KEY": access_key,
            "BOXDRIVE_SECRET_KEY": secret_key,
            "TMPDIR": str(workdir),  # waitress spools request bodies here
            "BOXDRIVE_STORE": args.store,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")]
            ),
        }
    )
    argv = [
        sys.executable,
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        f"--threads={args.threads}",
        f"--max-request-body-size={size + 64 * MIB}",
        "boxdrive_wsgi:app",
    ]
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(argv, env=env, stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        wait_for_port(proc, port, log)
        client = Client(f"http://127.0.0.1:{port}", access_key, secret_key)
        bucket = "bench-" + secrets.token_hex(4)
        # warm up: imports, store, first requests
        client.send("PUT", f"/{bucket}", data=b"")
        for i in range(5):
            client.send("PUT", f"/{bucket}/warm{i}", data=os.urandom(2 * MIB))
            _ = client.send("GET", f"/{bucket}/warm{i}").content
        time.sleep(0.5)
        sampler = RssSampler(proc.pid)
        base_rss, base_hwm = sampler.read()
        sampler.start()

        body = GeneratedBody(size)
        started = time.monotonic()
        put = client.send("PUT", f"/{bucket}/big.bin", data=body)
        put_seconds = time.monotonic() - started
        md5_etag = put.headers.get("ETag", "")

        started = time.monotonic()
        got = hashlib.sha256()
        received = 0
        with client.send("GET", f"/{bucket}/big.bin", stream=True) as resp:
            for chunk in resp.iter_content(MIB):
                got.update(chunk)
                received += len(chunk)
        get_seconds = time.monotonic() - started
        time.sleep(0.3)
        sampler.stop()
        end_rss, end_hwm = sampler.read()
    finally:
        stop_server(proc, workdir, keep=args.keep)

    peak_kb = max(sampler.peak_rss_kb, end_rss)
    growth = mb(peak_kb - base_rss)
    size_mb = size / 1e6
    print(f"object:        {args.size_mib} MiB, ETag {md5_etag}")
    print(f"baseline RSS:  {mb(base_rss):8.1f} MB  (HWM {mb(base_hwm):.1f} MB)")
    samples = sampler.samples
    print(f"peak RSS:      {mb(peak_kb):8.1f} MB  (HWM {mb(end_hwm):.1f} MB, {samples} samples)")
    print(f"end RSS:       {mb(end_rss):8.1f} MB")
    print(f"growth:        {growth:8.1f} MB  (limit {args.limit_mb:.0f} MB)")
    print(f"PUT:           {put_seconds:8.2f} s  {size_mb / put_seconds:8.1f} MB/s")
    print(f"GET:           {get_seconds:8.2f} s  {size_mb / get_seconds:8.1f} MB/s")
    if received != size or got.hexdigest() != body.sha256.hexdigest():
        print(f"FAIL: data mismatch (received {received} of {size} bytes)")
        return 2
    if growth > args.limit_mb:
        print(f"FAIL: server RSS grew {growth:.1f} MB > {args.limit_mb:.0f} MB")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
