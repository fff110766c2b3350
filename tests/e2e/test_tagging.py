"""Object and bucket tagging with boto3 over a real server."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from . import raw


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def tag_set(pairs: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def test_object_tagging_round_trip(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"x": "1", "y": "é ü"}))
    got = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"x": "1", "y": "é ü"}
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert (
        "x-amz-tagging-count"
        not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    )


def test_tagging_header_on_put(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="team=a%20b&empty=")
    got = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"team": "a b", "empty": ""}
    with pytest.raises(ClientError) as dup:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"1", Tagging="a=1&a=2")
    assert code(dup) == "InvalidTag"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k2")


@pytest.mark.parametrize(
    "tags",
    [
        {f"k{i}": "v" for i in range(11)},
        {"k" * 129: "v"},
        {"k": "v" * 257},
        {"aws:reserved": "v"},
    ],
    ids=["too-many", "long-key", "long-value", "aws-prefix"],
)
def test_invalid_object_tags(s3, bucket: str, tags: dict[str, str]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="keep=me")
    with pytest.raises(ClientError) as bad:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert code(bad) == "InvalidTag"
    got = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert got == [{"Key": "keep", "Value": "me"}]


def test_object_tagging_limits_and_errors(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    ten = {f"k{i}": "v" * 256 for i in range(10)}
    ten["k0"] = "x"
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(ten))
    assert len(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == 10
    with pytest.raises(ClientError) as missing:
        s3.get_object_tagging(Bucket=bucket, Key="absent")
    assert code(missing) == "NoSuchKey"


def test_malformed_tagging_xml(s3, bucket: str, server) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    response = raw.request(
        server, "PUT", f"/{bucket}/k", params={"tagging": ""}, body=b"<Tagging><TagSet>"
    )
    assert response.status_code == 400
    assert b"<Code>MalformedXML</Code>" in response.content


def test_bucket_tagging(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(absent) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"env": "test", "owner": "me"}))
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"env": "test", "owner": "me"}
    fifty_one = {f"k{i}": "v" for i in range(51)}
    with pytest.raises(ClientError) as too_many:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(fifty_one))
    assert code(too_many) == "InvalidTag"
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({f"k{i}": "v" for i in range(50)}))
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(gone) == "NoSuchTagSet"
