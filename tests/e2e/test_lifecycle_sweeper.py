"""The lifecycle sweeper against real servers: ``boxdrive-wsgi lifecycle run`` next to a
running waitress (cron's way), and the opt-in thread in two gunicorn workers sharing a
data directory (one sweeper at a time), with a one-second "day"."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_shipped, running_waitress

DAY = 1  # second
#: the CLI's day: the check before expiry must fit in 4 of them (Python's start included)
CLI_DAY = 3


def expire_rules(prefix: str, days: int = 2) -> dict[str, object]:
    return {
        "Rules": [
            {"ID": "go", "Prefix": prefix, "Status": "Enabled", "Expiration": {"Days": days}},
            {
                "ID": "uploads",
                "Prefix": prefix,
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            },
        ]
    }


def keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


@pytest.fixture
def waitress_server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_waitress(tmp_path / "data", log_dir=tmp_path) as server:
        yield server


def run_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boxdrive_wsgi.cli", "lifecycle", "run", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_run_expires_objects_and_aborts_uploads(waitress_server: RunningServer) -> None:
    s3 = make_client(waitress_server)
    bucket = unique_bucket_name("lc")
    s3.create_bucket(Bucket=bucket)
    try:
        start = time.monotonic()
        for key in ("tmp/a", "tmp/b", "keep/a"):
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        s3.create_multipart_upload(Bucket=bucket, Key="tmp/upload")
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration=expire_rules("tmp/", days=4)
        )
        early = run_cli(waitress_server, "--day-seconds", str(CLI_DAY))
        assert time.monotonic() - start < 4 * CLI_DAY, "too slow to see the objects before"
        assert early.returncode == 0, early.stderr
        assert "expired=0" in early.stdout and "aborted=0" in early.stdout
        assert keys(s3, bucket) == ["keep/a", "tmp/a", "tmp/b"]
        time.sleep(max(0.0, start + 4 * CLI_DAY + 1 - time.monotonic()))
        done = run_cli(waitress_server, "--day-seconds", str(CLI_DAY), "--bucket", bucket)
        assert done.returncode == 0, done.stderr
        assert "expired=2" in done.stdout and "aborted=1" in done.stdout, done.stdout
        assert keys(s3, bucket) == ["keep/a"]
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        empty_and_delete_bucket(s3, bucket)


def test_cli_skips_while_another_sweeper_runs(waitress_server: RunningServer) -> None:
    from boxdrive_wsgi.lifecycle import SweepLock

    with SweepLock(str(waitress_server.data_dir)).held() as mine:
        assert mine
        busy = run_cli(waitress_server)
    assert busy.returncode == 0
    assert "another sweeper is running" in busy.stdout


def test_background_thread_in_gunicorn_workers(tmp_path: Path) -> None:
    env = {"BOXDRIVE_LIFECYCLE_INTERVAL": "1", "BOXDRIVE_LIFECYCLE_DAY_SECONDS": str(DAY)}
    with running_shipped("gunicorn", tmp_path / "data", tmp_path, extra_env=env) as server:
        s3 = make_client(server)
        bucket = unique_bucket_name("lc")
        s3.create_bucket(Bucket=bucket)
        try:
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration=expire_rules("tmp/", days=1)
            )
            for key in ("tmp/a", "keep/a"):
                s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            assert wait_for(lambda: keys(s3, bucket) == ["keep/a"], timeout=15)
            time.sleep(2.5)  # more passes: the object outside the rule stays
            assert keys(s3, bucket) == ["keep/a"]
        finally:
            empty_and_delete_bucket(s3, bucket)


def test_background_thread_expires_noncurrent_versions(tmp_path: Path) -> None:
    """A versioned bucket: noncurrent versions go NoncurrentDays after they were replaced,
    the NewerNoncurrentVersions newest stay; an expired current version gets a marker."""
    env = {"BOXDRIVE_LIFECYCLE_INTERVAL": "1", "BOXDRIVE_LIFECYCLE_DAY_SECONDS": str(DAY)}
    with running_shipped("gunicorn", tmp_path / "data", tmp_path, extra_env=env) as server:
        s3 = make_client(server)
        bucket = unique_bucket_name("lc")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        try:
            for n in range(4):
                s3.put_object(Bucket=bucket, Key="doc", Body=f"v{n}".encode())
            rules = {
                "Rules": [
                    {
                        "ID": "old",
                        "Filter": {"Prefix": "doc"},
                        "Status": "Enabled",
                        "NoncurrentVersionExpiration": {
                            "NoncurrentDays": 2,
                            "NewerNoncurrentVersions": 1,
                        },
                    }
                ]
            }
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules)

            def bodies() -> list[str]:
                versions = s3.list_object_versions(Bucket=bucket).get("Versions", [])
                return [
                    s3.get_object(Bucket=bucket, Key="doc", VersionId=v["VersionId"])["Body"]
                    .read()
                    .decode()
                    for v in versions
                ]

            assert wait_for(lambda: bodies() == ["v3", "v2"], timeout=20), bodies()
            assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v3"
        finally:
            empty_and_delete_bucket(s3, bucket)
