"""CopyObject with boto3 over a real server."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from .conftest import empty_and_delete_bucket, unique_bucket_name


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_copy_object_keeps_content_and_metadata(s3, bucket: str) -> None:
    data = b"copy me " * 1000
    s3.put_object(
        Bucket=bucket, Key="src", Body=data, ContentType="text/x-src", Metadata={"a": "1"}
    )
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert isinstance(result["CopyObjectResult"]["LastModified"], datetime)
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/x-src"
    assert got["Metadata"] == {"a": "1"}


def test_copy_source_forms_and_encoded_keys(s3, bucket: str) -> None:
    key = "dir/ü ñ+%?&=.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"odd key")
    s3.copy_object(Bucket=bucket, Key="plain", CopySource=f"{bucket}/{key}")
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"odd key"
    s3.copy_object(Bucket=bucket, Key="back/" + key, CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key="back/" + key)["Body"].read() == b"odd key"
    s3.copy_object(
        Bucket=bucket, Key="v", CopySource={"Bucket": bucket, "Key": key, "VersionId": "null"}
    )
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"odd key"
    with pytest.raises(ClientError) as bad_version:
        s3.copy_object(
            Bucket=bucket, Key="v", CopySource={"Bucket": bucket, "Key": key, "VersionId": "abc"}
        )
    assert error_code(bad_version) == "InvalidArgument"


def test_copy_replace_metadata_and_directive_errors(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"old": "1"})
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"new": "2"},
        ContentType="image/png",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"new": "2"}
    assert head["ContentType"] == "image/png"
    with pytest.raises(ClientError) as bad:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            MetadataDirective="MERGE",
        )
    assert error_code(bad) == "InvalidArgument"


def test_copy_onto_itself(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"same", Metadata={"v": "1"})
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert error_code(refused) == "InvalidRequest"
    assert "copy an object to itself" in refused.value.response["Error"]["Message"]
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )
    got = s3.get_object(Bucket=bucket, Key="self")
    assert got["Body"].read() == b"same" and got["Metadata"] == {"v": "2"}


def test_copy_source_conditions(s3, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"cond")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="a", CopySource=source, CopySourceIfMatch=etag)
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    s3.copy_object(Bucket=bucket, Key="b", CopySource=source, CopySourceIfModifiedSince=past)
    s3.copy_object(Bucket=bucket, Key="c", CopySource=source, CopySourceIfUnmodifiedSince=future)
    failing: list[dict[str, object]] = [
        {"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfModifiedSince": future},
        {"CopySourceIfUnmodifiedSince": past},
    ]
    for condition in failing:
        with pytest.raises(ClientError) as failed:
            s3.copy_object(Bucket=bucket, Key="never", CopySource=source, **condition)
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412, condition
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["a", "b", "c", "src"]


def test_copy_missing_source_and_across_buckets(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "nope"})
    assert error_code(missing) == "NoSuchKey"
    other = unique_bucket_name()
    s3.create_bucket(Bucket=other)
    try:
        s3.put_object(Bucket=other, Key="k", Body=b"from other")
        s3.copy_object(Bucket=bucket, Key="k2", CopySource={"Bucket": other, "Key": "k"})
        assert s3.get_object(Bucket=bucket, Key="k2")["Body"].read() == b"from other"
        s3.delete_object(Bucket=other, Key="k")
        assert s3.get_object(Bucket=bucket, Key="k2")["Body"].read() == b"from other"
    finally:
        empty_and_delete_bucket(s3, other)


def test_copy_tagging_directive(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"t", Tagging="a=1&b=2")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    tags = s3.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    s3.copy_object(
        Bucket=bucket,
        Key="retagged",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
        Tagging="c=3",
    )
    tags = s3.get_object_tagging(Bucket=bucket, Key="retagged")["TagSet"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("c", "3")]


def test_copy_large_object_with_boto3_copy(s3, bucket: str) -> None:
    data = bytes(range(256)) * 40_000  # ~10 MB: boto3's managed copy stays single-part
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    s3.copy_object(Bucket=bucket, Key="big2", CopySource={"Bucket": bucket, "Key": "big"})
    assert s3.get_object(Bucket=bucket, Key="big2")["Body"].read() == data
