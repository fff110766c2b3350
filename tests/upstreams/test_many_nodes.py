"""Three stateless nodes (gunicorn, deploy/many-nodes/node.env) behind nginx
(deploy/nginx/boxdrive-cluster.conf) over one upstream: RGW when Ceph is installed, else
moto's server. Whatever one node does, every other node sees at once; a node killed
with SIGKILL mid-traffic loses no acknowledged write; a node started later serves
everything that exists."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.deploy import Nginx
from tests.e2e.servers import RunningServer

from . import nodes, upstreams
from .upstreams import Upstream

UPSTREAM_BUCKET = "boxdrive-nodes"
PART = 5 * 1024 * 1024


@dataclass
class Cluster:
    upstream: Upstream
    settings: dict[str, str]
    keys: tuple[str, str]
    nodes: list[RunningServer]
    nginx: Nginx
    log_dir: Path

    def node_client(self, index: int, **options: Any) -> Any:
        return nodes.client(self.nodes[index].endpoint, self.keys, **options)

    def balanced_client(self, **options: Any) -> Any:
        return nodes.client(f"http://127.0.0.1:{self.nginx.port}", self.keys, **options)


def shared_upstream() -> Upstream:
    """RGW where Ceph is installed or CI must have it (failing if it will not start),
    else moto's server."""
    ci_needs_ceph = os.environ.get("CI") and not os.environ.get("BOXDRIVE_CEPH_UNAVAILABLE")
    name = "rgw" if upstreams.ceph_installed() or ci_needs_ceph else "moto"
    return upstreams.get(name, tenant="nodes")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    upstream = shared_upstream()
    upstream.client().create_bucket(Bucket=UPSTREAM_BUCKET)
    settings = nodes.node_settings(upstream, UPSTREAM_BUCKET, f"run-{uuid.uuid4().hex[:8]}/")
    keys = ("AKNODES" + uuid.uuid4().hex[:12].upper(), uuid.uuid4().hex)
    log_dir = tmp_path_factory.mktemp("nodes")
    started: list[RunningServer] = []
    try:
        for _ in range(3):
            started.append(nodes.start_node(settings, keys, log_dir))
        with nodes.balancer(started, tmp_path_factory.mktemp("nginx")) as nginx:
            yield Cluster(upstream, settings, keys, started, nginx, log_dir)
    finally:
        for node in started:
            node.stop()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_every_node_sees_what_any_node_did(cluster: Cluster) -> None:
    first, second, third = (cluster.node_client(i) for i in range(3))
    bucket = f"agree-{uuid.uuid4().hex[:12]}"
    first.create_bucket(Bucket=bucket)

    data = os.urandom(70_000)
    second.put_object(Bucket=bucket, Key="single", Body=data)
    for client in (first, second, third):
        got = client.get_object(Bucket=bucket, Key="single")
        assert got["Body"].read() == data
        assert got["ETag"].strip('"') == md5(data)

    # a multipart upload whose every step lands on another node
    upload = first.create_multipart_upload(Bucket=bucket, Key="multi")["UploadId"]
    assert [u["UploadId"] for u in third.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [
        upload
    ]
    parts = [os.urandom(PART), os.urandom(1234)]
    etags = [
        client.upload_part(Bucket=bucket, Key="multi", UploadId=upload, PartNumber=n, Body=body)[
            "ETag"
        ]
        for n, (client, body) in enumerate(zip((second, third), parts, strict=True), start=1)
    ]
    listed = first.list_parts(Bucket=bucket, Key="multi", UploadId=upload)["Parts"]
    assert [p["ETag"] for p in listed] == etags
    second.complete_multipart_upload(
        Bucket=bucket,
        Key="multi",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    whole = b"".join(parts)
    expected = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags)).hexdigest()
    for client in (first, second, third):
        head = client.head_object(Bucket=bucket, Key="multi")
        assert head["ETag"].strip('"') == f"{expected}-2"
        assert head["ContentLength"] == len(whole)
    assert md5(cluster.balanced_client().get_object(Bucket=bucket, Key="multi")["Body"].read()) == (
        md5(whole)
    )

    third.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "single"})
    assert first.get_object(Bucket=bucket, Key="copied")["Body"].read() == data

    listings = [
        [(o["Key"], o["ETag"], o["Size"]) for o in c.list_objects_v2(Bucket=bucket)["Contents"]]
        for c in (first, second, third)
    ]
    assert listings[0] == listings[1] == listings[2]
    assert [key for key, _, _ in listings[0]] == ["copied", "multi", "single"]

    cors = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://a.example"]}]}
    first.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors)
    second.put_bucket_acl(Bucket=bucket, ACL="public-read")
    owners = set()
    for client in (first, second, third):
        rules = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert [(r["AllowedMethods"], r["AllowedOrigins"]) for r in rules] == [
            (["GET"], ["https://a.example"])
        ]
        acl = client.get_bucket_acl(Bucket=bucket)
        owners.add(acl["Owner"]["ID"])
        assert any(
            g["Permission"] == "READ" and "AllUsers" in g["Grantee"].get("URI", "")
            for g in acl["Grants"]
        )
        assert [b["Name"] for b in client.list_buckets()["Buckets"]].count(bucket) == 1
    assert len(owners) == 1


def test_a_killed_node_loses_no_acknowledged_write(cluster: Cluster) -> None:
    bucket = f"kill-{uuid.uuid4().hex[:12]}"
    cluster.balanced_client().create_bucket(Bucket=bucket)
    acknowledged: dict[str, str] = {}
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(number: int) -> None:
        client = cluster.balanced_client(attempts=6)
        for i in range(10_000):
            if stop.is_set():
                return
            key, body = f"w{number}/{i:05d}", os.urandom(32 * 1024 + i)
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body)
            except Exception as exc:
                with lock:
                    failures.append(f"{key}: {exc}")
                continue
            with lock:
                acknowledged[key] = md5(body)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    before = len(acknowledged)
    nodes.kill_node(cluster.nodes[1])
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()

    reader = cluster.balanced_client(attempts=3)
    lost = [
        key
        for key, digest in acknowledged.items()
        if md5(reader.get_object(Bucket=bucket, Key=key)["Body"].read()) != digest
    ]
    requests = cluster.nginx.access_log().count("\n")
    statuses = [line.split()[2] for line in cluster.nginx.access_log().splitlines()]
    print(
        f"\nmany nodes over {cluster.upstream.name}: {requests} requests through nginx,"
        f" {len(acknowledged)} acknowledged writes ({before} before the kill),"
        f" {len(lost)} lost, {len(failures)} failed after retries,"
        f" {statuses.count('502')} answered 502"
    )
    assert before > 0 and len(acknowledged) > before, "traffic went on before and after"
    assert lost == []
    assert failures == []

    # a node started now serves all of it at once
    late = nodes.start_node(cluster.settings, cluster.keys, cluster.log_dir)
    cluster.nodes.append(late)
    client = nodes.client(late.endpoint, cluster.keys)
    listed = {
        o["Key"]: o["ETag"].strip('"')
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }
    assert listed == acknowledged
    some = sorted(acknowledged)[len(acknowledged) // 2]
    assert md5(client.get_object(Bucket=bucket, Key=some)["Body"].read()) == acknowledged[some]
