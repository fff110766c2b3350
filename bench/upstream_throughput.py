#!/usr/bin/env python3
"""Large-object throughput through one boxdrive-wsgi node vs straight to its upstream,
measured in the same run, and the node's memory while it moves the object.

Starts a throw-away Ceph cluster (deploy/ceph/local-cluster; ``--upstream moto`` for
moto's server instead), one node (gunicorn, the shipped gunicorn.conf.py, one worker) over
it in the prefix layout, then PUTs and GETs one object of ``--size`` MiB with boto3
(single PUT, body streamed from a file; GET read in 1 MiB pieces), first directly to the
upstream and then through the node; then the same object as a multipart upload of
``--part-size`` MiB parts (UploadPart bodies streamed from the file). Prints MB/s each way
and the node worker's RSS growth (peak during the transfers minus RSS before them).

    python bench/upstream_throughput.py [--size 1024] [--part-size 64] [--upstream rgw|moto]
        [--out f.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.upstreams import nodes, upstreams  # noqa: E402

MIB = 1024 * 1024
BUCKET = "boxdrive-bench"


def make_body(path: Path, size: int) -> str:
    """A file of ``size`` random-ish bytes (64 MiB of randomness repeated); its MD5."""
    digest = hashlib.md5()
    block = os.urandom(64 * MIB)
    with path.open("wb") as out:
        left = size
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def transfer(
    client: Any, bucket: str, key: str, path: Path, size: int, md5: str
) -> dict[str, float]:
    started = time.monotonic()
    with path.open("rb") as body:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentLength=size)
    put_seconds = time.monotonic() - started
    started = time.monotonic()
    digest = hashlib.md5()
    stream = client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in stream.iter_chunks(MIB):
        digest.update(chunk)
    get_seconds = time.monotonic() - started
    assert digest.hexdigest() == md5, "the object came back different"
    return {
        "put_mb_s": round(size / put_seconds / 1e6, 1),
        "get_mb_s": round(size / get_seconds / 1e6, 1),
    }


class Segment:
    """``size`` bytes of a file from ``offset``: an UploadPart body streamed from disk."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        self._file = path.open("rb")
        self._file.seek(offset)
        self._offset, self._left, self.size = offset, size, size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._file.read(n)
        self._left -= len(data)
        return data

    def seek(self, position: int, whence: int = 0) -> int:  # botocore rewinds to retry
        assert whence == 0
        self._file.seek(self._offset + position)
        self._left = self.size - position
        return position

    def tell(self) -> int:
        return self.size - self._left

    def close(self) -> None:
        self._file.close()


def multipart(
    client: Any, bucket: str, key: str, path: Path, size: int, part_size: int
) -> dict[str, float]:
    started = time.monotonic()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, size, part_size), 1):
        segment = Segment(path, offset, min(part_size, size - offset))
        try:
            etag = client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=segment,
                ContentLength=segment.size,
            )["ETag"]
        finally:
            segment.close()
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    return {"multipart_put_mb_s": round(size / (time.monotonic() - started) / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="object size in MiB")
    parser.add_argument("--part-size", type=int, default=64, help="multipart part size, MiB")
    parser.add_argument("--upstream", choices=upstreams.UPSTREAMS, default="rgw")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    size = args.size * MIB
    upstream = upstreams.get(args.upstream, tenant="bench")
    direct = upstream.client(read_timeout=600, retries={"total_max_attempts": 1})
    direct.create_bucket(Bucket=BUCKET)
    work = Path(tempfile.mkdtemp(prefix="boxdrive-bench-"))
    md5 = make_body(work / "body", size)
    settings = nodes.node_settings(upstream, BUCKET, f"bench-{uuid.uuid4().hex[:8]}/")
    keys = ("AKBENCH" + uuid.uuid4().hex[:12].upper(), uuid.uuid4().hex)
    node = nodes.start_node(settings, keys, work)
    try:
        through = nodes.client(node.endpoint, keys, read_timeout=600)
        through.create_bucket(Bucket="bench")
        workers = nodes.children(node.pid)
        before = nodes.total_rss(workers)
        results: dict[str, Any] = {"upstream": upstream.name, "size_mib": args.size}
        part = args.part_size * MIB
        results["direct"] = transfer(direct, BUCKET, "direct-object", work / "body", size, md5)
        results["direct"] |= multipart(direct, BUCKET, "direct-mp", work / "body", size, part)
        with nodes.PeakRss(workers) as peak:
            results["node"] = transfer(through, "bench", "object", work / "body", size, md5)
            results["node"] |= multipart(through, "bench", "mp", work / "body", size, part)
        results["node_rss_before_mb"] = round(before / MIB, 1)
        results["node_rss_growth_mb"] = round((peak.peak - before) / MIB, 1)
    finally:
        node.stop()
        for path in work.iterdir():
            if path.is_file():
                path.unlink()
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
