"""boxdrive over boxdrive: boto3 through waitress over an S3Store whose upstream is another
boxdrive-wsgi server (BOXDRIVE_STORE=s3, configured only by environment variables)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from boto3.s3.transfer import TransferConfig

from tests.stores import s3_upstream

from .conftest import make_client
from .servers import RunningServer, running_waitress


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    up = s3_upstream.upstream()
    env = {
        "BOXDRIVE_STORE": "s3",
        "BOXDRIVE_S3_ENDPOINT_URL": up.endpoint,
        "BOXDRIVE_S3_ACCESS_KEY": up.access_key,
        "BOXDRIVE_S3_SECRET_KEY": up.secret_key,
        "BOXDRIVE_S3_BUCKET": s3_upstream.UPSTREAM_BUCKET,
        "BOXDRIVE_S3_PREFIX": "e2e-front/",
    }
    with running_waitress(tmp_path_factory.mktemp("front"), extra_env=env) as server:
        yield server


def test_boto3_over_s3_store(front: RunningServer) -> None:
    s3 = make_client(front)
    s3.create_bucket(Bucket="layered")
    data = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(
        Bucket="layered", Key="dir/a b", Body=data, Metadata={"who": "front"}, ContentType="x/y"
    )
    got = s3.get_object(Bucket="layered", Key="dir/a b")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"who": "front"} and got["ContentType"] == "x/y"
    part = s3.get_object(Bucket="layered", Key="dir/a b", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20] and part["ContentRange"] == f"bytes 10-19/{len(data)}"
    listing = s3.list_objects_v2(Bucket="layered", Delimiter="/")
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["dir/"]
    # Multipart passes through to the upstream's own.
    big = bytes(range(251)) * 50_000  # ~12 MiB, 3 parts of 5 MiB
    config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    s3.upload_fileobj(io.BytesIO(big), "layered", "big", Config=config)
    head = s3.head_object(Bucket="layered", Key="big")
    assert head["ContentLength"] == len(big) and head["ETag"].endswith('-3"')
    assert s3.get_object(Bucket="layered", Key="big")["Body"].read() == big
    # Parts by number, as the Java and Go transfer managers read them: upstream serves them.
    second = s3.get_object(Bucket="layered", Key="big", PartNumber=2)
    assert second["Body"].read() == big[5 * 2**20 : 10 * 2**20] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * 2**20}-{10 * 2**20 - 1}/{len(big)}"
    last = s3.head_object(Bucket="layered", Key="big", PartNumber=3)
    assert last["ContentLength"] == len(big) - 10 * 2**20 and last["PartsCount"] == 3
    s3.delete_object(Bucket="layered", Key="big")
    s3.delete_object(Bucket="layered", Key="dir/a b")
    s3.delete_bucket(Bucket="layered")
    assert "layered" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
