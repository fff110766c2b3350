"""Bucket operations over HTTP: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, as AWS S3 answers them."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from . import raw
from .conftest import empty_and_delete_bucket, unique_bucket_name


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def status_of(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def test_list_buckets_shows_created_bucket(s3, bucket):
    other = unique_bucket_name("e2e-aa")
    s3.create_bucket(Bucket=other)
    try:
        resp = s3.list_buckets()
        names = [b["Name"] for b in resp["Buckets"]]
        assert bucket in names and other in names
        assert names == sorted(names)
        for b in resp["Buckets"]:
            assert isinstance(b["CreationDate"], dt.datetime)
        now = dt.datetime.now(dt.UTC)
        created = next(b["CreationDate"] for b in resp["Buckets"] if b["Name"] == other)
        assert abs((now - created).total_seconds()) < 300
        assert resp["Owner"]["ID"]
    finally:
        s3.delete_bucket(Bucket=other)
    assert other not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_returns_location(s3):
    name = unique_bucket_name()
    resp = s3.create_bucket(Bucket=name)
    try:
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert resp["Location"] == f"/{name}"
    finally:
        s3.delete_bucket(Bucket=name)


def test_create_existing_own_bucket_in_us_east_1_succeeds(s3, bucket):
    # S3's legacy rule in us-east-1 (the server's region here); other regions answer
    # 409 BucketAlreadyOwnedByYou (tests/e2e/test_unimplemented_headers.py).
    assert s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(
    "name",
    [
        "abc",  # shortest allowed, but must be unique: a suffix is added below
        "a" * 20,
        "with.dots.in.it",
        "0-starts-with-digit",
        "has-dash",
    ],
)
def test_valid_bucket_names(s3, name):
    suffix = unique_bucket_name("")[1:9]
    full = (name + suffix)[:63]
    s3.create_bucket(Bucket=full)
    try:
        s3.head_bucket(Bucket=full)
    finally:
        empty_and_delete_bucket(s3, full)


def test_bucket_name_of_63_chars(s3):
    name = unique_bucket_name("x" * 42)
    assert len(name) == 63
    s3.create_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",  # too short
        "a" * 64,  # too long
        "UpperCase-bucket",
        "under_score-bucket",
        "-leading-dash",
        "trailing-dash-",
        ".leading-dot",
        "trailing-dot.",
        "two..dots",
        "192.168.5.4",  # formatted as an IP address
        "xn--prefixed-bucket",
        "bad!char",
    ],
)
def test_invalid_bucket_name_is_rejected(server, name):
    resp = raw.request(server, "PUT", f"/{name}")
    assert resp.status_code == 400, resp.text
    assert raw.error_fields(resp)["Code"] == "InvalidBucketName"
    assert resp.headers.get("x-amz-request-id")


def test_head_bucket(s3, bucket):
    resp = s3.head_bucket(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_head_missing_bucket_is_404(s3):
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=unique_bucket_name("missing"))
    assert status_of(info.value) == 404


def test_delete_bucket(s3):
    name = unique_bucket_name()
    s3.create_bucket(Bucket=name)
    resp = s3.delete_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=name)
    assert status_of(info.value) == 404


def test_delete_missing_bucket_is_no_such_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket=unique_bucket_name("missing"))
    assert error_code(info.value) == "NoSuchBucket"
    assert status_of(info.value) == 404


def test_delete_non_empty_bucket_is_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(info.value) == "BucketNotEmpty"
    assert status_of(info.value) == 409
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x"


def test_deleted_bucket_can_be_created_again(s3):
    name = unique_bucket_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"old")
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)
    try:
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        s3.delete_bucket(Bucket=name)


def test_get_bucket_location_us_east_1_is_empty(s3, bucket):
    resp = s3.get_bucket_location(Bucket=bucket)
    # S3 answers <LocationConstraint/> for us-east-1; boto3 maps it to None.
    assert resp["LocationConstraint"] in (None, "")


def test_get_location_of_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.get_bucket_location(Bucket=unique_bucket_name("missing"))
    assert error_code(info.value) == "NoSuchBucket"


def test_list_objects_in_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=unique_bucket_name("missing"))
    assert error_code(info.value) == "NoSuchBucket"
    assert status_of(info.value) == 404
