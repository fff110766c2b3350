"""A full disk: clean S3 errors, deletes and aborts still work, readiness says 503.

The data dir is on a 16 MiB tmpfs the test mounts (the suite runs as root). Objects
are written until the server refuses, then something outside the server fills the
rest of the disk to the last byte; deletes and aborts must still free space.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import make_client, unique_bucket_name
from .servers import RunningServer, running_shipped

DISK = 16 * 1024 * 1024
MIN_FREE = 2 * 1024 * 1024
RESERVE = 1024 * 1024
OBJECT = 1024 * 1024


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        message = f"cannot mount a small tmpfs for the disk-full test: {mounted.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI needs root or CAP_SYS_ADMIN for this test)")
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def full_server(small_filesystem: Path, tmp_path: Path) -> Iterator[RunningServer]:
    env = {"BOXDRIVE_MIN_FREE_SPACE": str(MIN_FREE), "BOXDRIVE_SPACE_RESERVE": str(RESERVE)}
    with running_shipped("waitress", small_filesystem / "data", tmp_path, extra_env=env) as srv:
        yield srv


def fill_to_the_last_byte(path: Path) -> None:
    """Write ``path`` until the filesystem has no byte left (another program did it)."""
    with path.open("wb", buffering=0) as f:
        for size in (64 * 1024, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\xff" * size)
    with pytest.raises(OSError) as raised, path.open("ab", buffering=0) as f:
        f.write(b"\xff")
    assert raised.value.errno == errno.ENOSPC


def error_code(error: ClientError) -> tuple[int, str]:
    return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]


def ready_status(server: RunningServer) -> int:
    return requests.get(f"{server.endpoint}/-/health/ready", timeout=10).status_code


def test_disk_full(full_server: RunningServer, small_filesystem: Path) -> None:
    s3 = make_client(full_server)
    bucket = unique_bucket_name("full")
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p" * OBJECT)
    assert ready_status(full_server) == 200
    reserve = small_filesystem / "data" / "reserve"
    assert reserve.stat().st_size == RESERVE

    stored: dict[str, bytes] = {}
    with pytest.raises(ClientError) as refused:
        for n in range(DISK // OBJECT):
            body = bytes([n]) * OBJECT
            s3.put_object(Bucket=bucket, Key=f"obj-{n}", Body=body)
            stored[f"obj-{n}"] = body
    assert error_code(refused.value) == (507, "InsufficientStorage")
    assert len(stored) >= 5

    fill_to_the_last_byte(small_filesystem / "filler")
    assert ready_status(full_server) == 503
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="one-more", Body=b"x")
    assert error_code(refused.value) == (507, "InsufficientStorage")
    # Nothing written, nobody can free space but through the API: deletes still work.
    s3.delete_object(Bucket=bucket, Key="obj-0")
    del stored["obj-0"]
    # The delete spends the reserve only when it needs room (SQLite's WAL may still have
    # some); the reserve file and the log must agree on which happened.
    if not reserve.exists():
        message = f"released the {RESERVE}-byte reserve"
        deadline = time.monotonic() + 10
        while message not in full_server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert message in full_server.log()
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "obj-1"}, {"Key": "obj-2"}]})
    del stored["obj-1"], stored["obj-2"]

    (small_filesystem / "filler").unlink()
    assert ready_status(full_server) == 200
    s3.put_object(Bucket=bucket, Key="after", Body=b"space again")
    assert reserve.stat().st_size == RESERVE  # spent on the first delete, then put back
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
    assert "Traceback" not in full_server.log()
    assert '"status": 500' not in full_server.log() and " 500 " not in full_server.log()
