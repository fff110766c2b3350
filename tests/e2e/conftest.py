"""Fixtures for the end-to-end suite: one real waitress server per session, a boto3 client,
and a fresh bucket per test that is emptied and deleted afterwards the way ceph s3-tests does
(ListObjectVersions + DeleteObjects + DeleteBucket)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .servers import RunningServer, running_waitress


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("data")
    log_dir = tmp_path_factory.mktemp("logs")
    with running_waitress(data_dir, threads=8, log_dir=log_dir) as srv:
        yield srv


def make_client(server: RunningServer, **config: object):
    """A boto3 S3 client for ``server``: path-style, no retries (a retry hides a failure)."""
    options: dict[str, object] = {
        "region_name": server.region,
        "s3": {"addressing_style": "path"},
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "connect_timeout": 10,
        "read_timeout": 20,
        "max_pool_connections": 32,
    }
    options.update(config)
    cfg = Config(**options)  # type: ignore[arg-type]
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=cfg,
    )


@pytest.fixture(scope="session")
def s3(server: RunningServer):
    return make_client(server)


def unique_bucket_name(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def empty_and_delete_bucket(s3, name: str) -> None:
    """Remove every object version and then the bucket; a bucket already gone is fine."""
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            objects = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(objects), 1000):
                s3.delete_objects(
                    Bucket=name, Delete={"Objects": objects[start : start + 1000], "Quiet": True}
                )
        s3.delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchBucket", "404"):
            raise


@pytest.fixture
def bucket(s3) -> Iterator[str]:
    name = unique_bucket_name()
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(s3, name)


@pytest.fixture
def server_log(server: RunningServer) -> Path:
    return server.log_path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """On failure, attach the tail of the server's log (tracebacks of 500s land there)."""
    report = yield
    srv = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(srv, RunningServer):
        report.sections.append(("server log (tail)", srv.log()[-4000:]))
    return report
