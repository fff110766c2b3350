"""A large object through one node to the upstream and back, single PUT and multipart:
the node's memory stays flat (its worker's RSS grows by at most 64 MB for an object twice
that size: a node holding the object, or a part, whole would exceed it)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import RunningServer

from . import nodes
from .test_many_nodes import shared_upstream

MIB = 1024 * 1024
SIZE = 128 * MIB
MAX_GROWTH = 64 * MIB
UPSTREAM_BUCKET = "boxdrive-streaming"

pytestmark = pytest.mark.timeout(600)


def body_file(path: Path, size: int) -> str:
    """A file of ``size`` bytes (a 1 MiB random block repeated): the client streams it
    from disk, so only the node's memory is measured. Returns its MD5."""
    block = os.urandom(MIB)
    digest = hashlib.md5()
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    upstream = shared_upstream()
    client = upstream.client()
    if UPSTREAM_BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=UPSTREAM_BUCKET)
    settings = nodes.node_settings(upstream, UPSTREAM_BUCKET, f"s-{uuid.uuid4().hex[:8]}/")
    log_dir = tmp_path_factory.mktemp("streaming")
    keys = ("AKSTREAM" + uuid.uuid4().hex[:12].upper(), uuid.uuid4().hex)
    server = nodes.start_node(settings, keys, log_dir)
    try:
        yield server, log_dir
    finally:
        server.stop()


def test_large_object_through_a_node_keeps_memory_flat(
    node: tuple[RunningServer, Path],
) -> None:
    server, log_dir = node
    client = nodes.client(server.endpoint, (server.access_key, server.secret_key), read_timeout=300)
    client.create_bucket(Bucket="big")
    workers = nodes.children(server.pid)
    assert workers, "gunicorn has a worker"
    expected = body_file(log_dir / "body", SIZE)
    before = nodes.total_rss(workers)
    with nodes.PeakRss(workers) as peak:
        with (log_dir / "body").open("rb") as body:
            client.put_object(Bucket="big", Key="single", Body=body, ContentLength=SIZE)
        digest = hashlib.md5()
        for chunk in client.get_object(Bucket="big", Key="single")["Body"].iter_chunks(MIB):
            digest.update(chunk)
        assert digest.hexdigest() == expected

        upload = client.create_multipart_upload(Bucket="big", Key="multi")["UploadId"]
        with (log_dir / "body").open("rb") as body:
            etag = client.upload_part(
                Bucket="big", Key="multi", UploadId=upload, PartNumber=1, Body=body
            )["ETag"]
        client.complete_multipart_upload(
            Bucket="big",
            Key="multi",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        assert client.head_object(Bucket="big", Key="multi")["ContentLength"] == SIZE
    growth = peak.peak - before
    print(f"\nnode RSS {before / MIB:.0f} MiB before, +{growth / MIB:.1f} MiB at peak")
    assert growth <= MAX_GROWTH, f"the node's RSS grew by {growth / MIB:.0f} MiB"
