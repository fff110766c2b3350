#!/usr/bin/env python3
"""Issue 16's encryption figures: SSE-S3 PUT/GET MB/s beside unencrypted on the same
server in the same run, the server's RSS growth, and a 1 KiB range from the middle of
the encrypted object.

Starts waitress (or, with ``--server gunicorn``, gunicorn.conf.py with one worker, whose
RSS is the one sampled) over a filesystem store in a temp dir; one bucket plain, one
with default encryption SSE-S3 (PutBucketEncryption), so the requests are identical.
Bodies stream from and to the client (presigned URLs, requests): client memory and
signing stay out of the figures.

    python bench/sse.py [--size-mib 1024] [--rounds 1] [--server gunicorn] [--out F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import requests  # noqa: E402
from memory import RssSampler  # noqa: E402

from tests.e2e.conftest import make_client  # noqa: E402
from tests.e2e.servers import RunningServer, running_shipped, running_waitress  # noqa: E402

MIB = 1024 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB, not all zeros
#: waitress options given with --waitress (e.g. --outbuf-overflow=16777216).
EXTRA: list[str] = []


class Body:
    """``size`` bytes read in pieces: requests sends it with a Content-Length."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.size = size

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, len(BLOCK) if n < 0 else min(n, len(BLOCK)))
        self.left -= n
        return BLOCK[:n]


def rss_kb(pid: int) -> int:
    return RssSampler(pid).read()[0]


def put(url: str, size: int) -> float:
    start = time.perf_counter()
    response = requests.put(url, data=Body(size), timeout=600)
    if response.status_code != 200:
        raise RuntimeError(f"PUT {response.status_code}: {response.text}")
    return time.perf_counter() - start


def get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    response = requests.get(url, headers=headers or {}, stream=True, timeout=600)
    response.raise_for_status()
    got = sum(len(chunk) for chunk in response.iter_content(MIB))
    return time.perf_counter() - start, got


def serving_pid(server: RunningServer, kind: str) -> int:
    """The process that serves requests: waitress itself, gunicorn's (one) worker."""
    if kind != "gunicorn":
        return server.pid
    for _ in range(100):
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as fh:
            children = fh.read().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def measure(server: RunningServer, size: int, rounds: int, pid: int) -> dict[str, Any]:
    s3 = make_client(server, signature_version="s3v4")
    default = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    for bucket in ("plain", "sse"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket="sse", ServerSideEncryptionConfiguration={"Rules": [default]})

    def url(method: str, bucket: str) -> str:
        return str(
            s3.generate_presigned_url(
                method, Params={"Bucket": bucket, "Key": "big"}, ExpiresIn=3600
            )
        )

    sampler = RssSampler(pid, 0.05)
    baseline = rss_kb(pid)
    sampler.start()
    times: dict[str, list[float]] = {
        k: [] for k in ("put_plain", "put_sse", "get_plain", "get_sse")
    }
    for _ in range(rounds):  # interleaved: a loaded machine slows both alike
        for bucket in ("plain", "sse"):
            times[f"put_{bucket}"].append(put(url("put_object", bucket), size))
            seconds, got = get(url("get_object", bucket))
            assert got == size, (bucket, got)
            times[f"get_{bucket}"].append(seconds)
    head = s3.head_object(Bucket="sse", Key="big")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == size
    middle = size // 2
    ranged: list[float] = []
    for _ in range(20):
        headers = {"Range": f"bytes={middle}-{middle + 1023}"}
        seconds, got = get(url("get_object", "sse"), headers)
        assert got == 1024
        ranged.append(seconds)
    sampler.stop()
    best = {k: min(v) for k, v in times.items()}
    mbps = {k: size / MIB / v for k, v in best.items()}
    return {
        "size_mib": size // MIB,
        "rounds": rounds,
        "mb_per_s": mbps,
        "put_ratio": mbps["put_sse"] / mbps["put_plain"],
        "get_ratio": mbps["get_sse"] / mbps["get_plain"],
        "rss_baseline_mib": baseline / 1024,
        "rss_peak_mib": sampler.peak_rss_kb / 1024,
        "rss_growth_mib": (sampler.peak_rss_kb - baseline) / 1024,
        "range_1k_ms_median": statistics.median(ranged) * 1000,
        "range_1k_ms_max": max(ranged) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--waitress", action="append", default=[], help="a waitress option")
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    args = parser.parse_args()
    EXTRA.extend(args.waitress)
    with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
        data, logs = Path(tmp) / "data", Path(tmp) / "logs"
        logs.mkdir()
        if args.server == "gunicorn":
            env = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4"}
            serving = running_shipped("gunicorn", data, logs, extra_env=env)
        else:
            waitress_args = ["--max-request-body-size=5368709120", *EXTRA]
            serving = running_waitress(data, threads=4, extra_args=waitress_args)
        with serving as server:
            result = measure(
                server, args.size_mib * MIB, args.rounds, serving_pid(server, args.server)
            )
        result["server"] = args.server
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
