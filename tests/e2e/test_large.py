"""A 100 MB object streamed up and down through waitress, compared by SHA-256.

The data is written to a file in 1 MiB blocks (never held whole in memory), uploaded from the
file and downloaded to another file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

SIZE = 100 * 1024 * 1024
BLOCK = 1024 * 1024


def write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        remaining = size
        while remaining:
            block = os.urandom(min(BLOCK, remaining))
            digest.update(block)
            fh.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("large") / "upload.bin"
    return path, write_random_file(path, SIZE)


@pytest.mark.slow
def test_put_object_from_file_and_download(s3, bucket, big_file, tmp_path):
    src, expected = big_file
    with src.open("rb") as fh:
        put = s3.put_object(Bucket=bucket, Key="big/put.bin", Body=fh)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200

    dst = tmp_path / "download.bin"
    resp = s3.get_object(Bucket=bucket, Key="big/put.bin")
    assert resp["ContentLength"] == SIZE
    with dst.open("wb") as fh:
        for chunk in resp["Body"].iter_chunks(BLOCK):
            fh.write(chunk)
    assert dst.stat().st_size == SIZE
    assert sha256_file(dst) == expected

    head = s3.head_object(Bucket=bucket, Key="big/put.bin")
    assert head["ContentLength"] == SIZE


@pytest.mark.slow
def test_upload_fileobj_single_part_and_download_file(s3, bucket, big_file, tmp_path):
    src, expected = big_file
    # one request (no multipart: that is a later issue), streamed from the file
    config = TransferConfig(multipart_threshold=SIZE + 1, max_concurrency=4)
    with src.open("rb") as fh:
        s3.upload_fileobj(fh, bucket, "big/fileobj.bin", Config=config)
    dst = tmp_path / "download2.bin"
    s3.download_file(bucket, "big/fileobj.bin", str(dst), Config=config)
    assert sha256_file(dst) == expected
    ranged = s3.get_object(Bucket=bucket, Key="big/fileobj.bin", Range=f"bytes={SIZE - 10}-")
    with src.open("rb") as fh:
        fh.seek(SIZE - 10)
        assert ranged["Body"].read() == fh.read()
