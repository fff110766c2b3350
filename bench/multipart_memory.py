#!/usr/bin/env python3
"""Server memory during a multipart upload through waitress.

Starts ``waitress boxdrive_wsgi:app`` on a filesystem store in a temporary directory,
uploads a ``--size-mb`` (default 200) file with boto3's ``upload_file`` and a
``TransferConfig`` (multipart, ``--chunk-mib`` parts, ``--concurrency`` threads),
downloads it again, and samples the server's VmRSS/VmHWM every 100 ms. Prints baseline,
peak and growth in MB plus throughput; exits 1 if growth exceeds ``--limit-mb``
(default 64), 2 if the data came back wrong.

    python bench/multipart_memory.py [--size-mb 200] [--chunk-mib 16] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import RssSampler, free_port, mb, stop_server, wait_for_port

MIB = 1024 * 1024
REGION = "us-east-1"


def write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        remaining = size
        while remaining:
            block = os.urandom(min(MIB, remaining))
            digest.update(block)
            fh.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--limit-mb", type=float, default=64.0)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir for inspection")
    args = parser.parse_args()
    size = args.size_mb * 1000 * 1000

    workdir = Path(tempfile.mkdtemp(prefix="boxdrive-bench-mp-"))
    data_dir = workdir / "data"
    data_dir.mkdir()
    log = workdir / "server.log"
    src = workdir / "upload.bin"
    dst = workdir / "download.bin"
    expected = write_file(src, size)
    port = free_port()
    access_key, secret_key = "BENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    env = dict(os.environ)
    env.update(
        {
            "BOXDRIVE_DATA_DIR": str(data_dir),
            "BOXDRIVE_ACCESS_KEY": access_key,
            "BOXDRIVE_SECRET_KEY": secret_key,
            "TMPDIR": str(workdir),  # waitress spools request bodies here
        }
    )
    argv = [
        sys.executable,
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        f"--threads={args.threads}",
        "boxdrive_wsgi:app",
    ]
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(argv, env=env, stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        wait_for_port(proc, port, log)
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=32),
        )
        config = TransferConfig(
            multipart_threshold=8 * MIB,
            multipart_chunksize=args.chunk_mib * MIB,
            max_concurrency=args.concurrency,
        )
        bucket = "bench-" + secrets.token_hex(4)
        s3.create_bucket(Bucket=bucket)
        warm = workdir / "warm.bin"
        write_file(warm, 20 * MIB)
        for i in range(3):  # imports, store, first requests, a first multipart upload
            s3.upload_file(str(warm), bucket, f"warm{i}", Config=config)
        time.sleep(0.5)
        sampler = RssSampler(proc.pid)
        base_rss, base_hwm = sampler.read()
        sampler.start()

        started = time.monotonic()
        s3.upload_file(str(src), bucket, "big.bin", Config=config)
        up_seconds = time.monotonic() - started
        etag = s3.head_object(Bucket=bucket, Key="big.bin")["ETag"]

        started = time.monotonic()
        s3.download_file(bucket, "big.bin", str(dst), Config=config)
        down_seconds = time.monotonic() - started
        time.sleep(0.3)
        sampler.stop()
        end_rss, end_hwm = sampler.read()
        got = hashlib.sha256()
        with dst.open("rb") as fh:
            for block in iter(lambda: fh.read(MIB), b""):
                got.update(block)
    finally:
        stop_server(proc, workdir, keep=args.keep)

    peak_kb = max(sampler.peak_rss_kb, end_rss)
    growth = mb(peak_kb - base_rss)
    size_mb = size / 1e6
    parts = -(-size // (args.chunk_mib * MIB))
    print(f"object:        {size_mb:.0f} MB in {parts} parts of {args.chunk_mib} MiB, ETag {etag}")
    print(f"concurrency:   {args.concurrency} client threads, {args.threads} waitress threads")
    print(f"baseline RSS:  {mb(base_rss):8.1f} MB  (HWM {mb(base_hwm):.1f} MB)")
    samples = sampler.samples
    print(f"peak RSS:      {mb(peak_kb):8.1f} MB  (HWM {mb(end_hwm):.1f} MB, {samples} samples)")
    print(f"end RSS:       {mb(end_rss):8.1f} MB")
    print(f"growth:        {growth:8.1f} MB  (limit {args.limit_mb:.0f} MB)")
    print(f"upload:        {up_seconds:8.2f} s  {size_mb / up_seconds:8.1f} MB/s")
    print(f"download:      {down_seconds:8.2f} s  {size_mb / down_seconds:8.1f} MB/s")
    if got.hexdigest() != expected:
        print("FAIL: data mismatch")
        return 2
    if growth > args.limit_mb:
        print(f"FAIL: server RSS grew {growth:.1f} MB > {args.limit_mb:.0f} MB")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
