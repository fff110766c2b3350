"""Conditional deletes (If-Match, x-amz-if-match-size, x-amz-if-match-last-modified-time,
and per object in DeleteObjects) with boto3 over a real waitress server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from .test_multipart import error_code


def exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def test_delete_object_conditions(s3, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    for wrong in (
        {"IfMatch": '"00000000000000000000000000000000"'},
        {"IfMatchSize": 5},
        {"IfMatchLastModifiedTime": modified - timedelta(seconds=1)},
        {"IfMatch": etag, "IfMatchSize": 3},
    ):
        with pytest.raises(ClientError) as caught:
            s3.delete_object(Bucket=bucket, Key="k", **wrong)
        assert error_code(caught) == "PreconditionFailed"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
        assert exists(s3, bucket, "k")
    resp = s3.delete_object(
        Bucket=bucket, Key="k", IfMatch=etag, IfMatchSize=4, IfMatchLastModifiedTime=modified
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not exists(s3, bucket, "k")
    with pytest.raises(ClientError) as missing:  # S3: If-Match on a missing key is 404
        s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert error_code(missing) == "NoSuchKey"
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=4)  # nothing to delete: 204


def test_delete_objects_conditions(s3, bucket: str) -> None:
    etags = {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abc"}
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "a", "ETag": etags["a"]},
                {"Key": "b", "ETag": etags["a"]},
                {"Key": "c", "Size": 2},
                {"Key": "gone", "ETag": etags["a"]},
            ]
        },
    )
    assert [d["Key"] for d in resp.get("Deleted", [])] == ["a"]
    assert sorted((e["Key"], e["Code"]) for e in resp["Errors"]) == [
        ("b", "PreconditionFailed"),
        ("c", "PreconditionFailed"),
        ("gone", "NoSuchKey"),
    ]
    assert not exists(s3, bucket, "a") and exists(s3, bucket, "b") and exists(s3, bucket, "c")


def test_malformed_conditions_are_refused(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")

    def bad_size(request, **_: object) -> None:
        request.headers["x-amz-if-match-size"] = "four"

    s3.meta.events.register_first("before-sign.s3.DeleteObject", bad_size)
    try:
        with pytest.raises(ClientError) as caught:
            s3.delete_object(Bucket=bucket, Key="k")
    finally:
        s3.meta.events.unregister("before-sign.s3.DeleteObject", bad_size)
    assert error_code(caught) == "InvalidArgument"
    assert exists(s3, bucket, "k")
