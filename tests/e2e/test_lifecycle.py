"""Lifecycle over a real server with boto3: the configuration (put/get/delete, S3's
validation errors). The sweeper's runs are in test_lifecycle_sweeper.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], str(response["Error"]["Code"])


RULES: list[dict[str, Any]] = [
    {"ID": "old-logs", "Expiration": {"Days": 31}, "Prefix": "logs/", "Status": "Enabled"},
    {
        "ID": "tmp",
        "Filter": {
            "And": {
                "Prefix": "tmp/",
                "Tags": [{"Key": "kind", "Value": "scratch"}],
                "ObjectSizeGreaterThan": 10,
            }
        },
        "Status": "Disabled",
        "Expiration": {"Days": 7},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2},
    },
    {
        "ID": "markers",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"ExpiredObjectDeleteMarker": True},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
    },
]


def test_put_get_delete(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(absent) == (404, "NoSuchLifecycleConfiguration")
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(gone) == (404, "NoSuchLifecycleConfiguration")


def test_rule_without_id_gets_one(s3, bucket: str) -> None:
    rules = [{"Expiration": {"Days": 2}, "Prefix": "a/", "Status": "Enabled"}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    (got,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got["ID"] and got["Prefix"] == "a/" and got["Expiration"] == {"Days": 2}


def rule(**fields: Any) -> dict[str, Any]:
    return {"ID": "r", "Prefix": "p/", "Status": "Enabled", **fields}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([rule(ID="a" * 256, Expiration={"Days": 1})], (400, "InvalidArgument")),
        ([rule(Expiration={"Days": 1}), rule(Expiration={"Days": 2})], (400, "InvalidArgument")),
        ([rule(Status="enabled", Expiration={"Days": 1})], (400, "MalformedXML")),
        ([rule(Expiration={"Days": 0})], (400, "InvalidArgument")),
        ([rule(Expiration={"Date": "2020-01-01T10:00:00Z"})], (400, "InvalidArgument")),
        ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], (400, "InvalidArgument")),
        (
            [
                {
                    "ID": "t",
                    "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                    "Status": "Enabled",
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                }
            ],
            (400, "InvalidArgument"),
        ),
        ([rule(Transitions=[{"Days": 1, "StorageClass": "GLACIER"}])], (501, "NotImplemented")),
    ],
)
def test_invalid_configurations(s3, bucket: str, rules: list[Any], expected: Any) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
    assert code(refused) == expected
    with pytest.raises(ClientError) as nothing_kept:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(nothing_kept) == (404, "NoSuchLifecycleConfiguration")


def test_configuration_on_missing_bucket(s3) -> None:
    with pytest.raises(ClientError) as missing:
        s3.put_bucket_lifecycle_configuration(
            Bucket="no-such-bucket-lifecycle",
            LifecycleConfiguration={"Rules": [rule(Expiration={"Days": 1})]},
        )
    assert code(missing) == (404, "NoSuchBucket")


def test_expiration_header_on_put_and_head(s3, bucket: str) -> None:
    rules = [{"ID": "tmp", "Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 1}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    put = s3.put_object(Bucket=bucket, Key="tmp/a", Body=b"x")
    assert put["Expiration"].endswith('rule-id="tmp"') and "expiry-date=" in put["Expiration"]
    assert s3.head_object(Bucket=bucket, Key="tmp/a")["Expiration"] == put["Expiration"]
    s3.put_object(Bucket=bucket, Key="keep/a", Body=b"x")
    assert "Expiration" not in s3.head_object(Bucket=bucket, Key="keep/a")
