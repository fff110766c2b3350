"""ACLs (owner FULL_CONTROL only), versioning status and the bucket-policy probe."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import empty_and_delete_bucket, unique_bucket_name


def status_and_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], str(response["Error"]["Code"])


def test_bucket_acl_is_owner_full_control(s3, bucket: str) -> None:
    owner = s3.list_buckets()["Owner"]
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"]["ID"] == owner["ID"]
    assert len(acl["Grants"]) == 1
    grant = acl["Grants"][0]
    assert grant["Permission"] == "FULL_CONTROL"
    assert grant["Grantee"]["Type"] == "CanonicalUser"
    assert grant["Grantee"]["ID"] == owner["ID"]


def test_object_acl(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(ClientError) as missing:
        s3.get_object_acl(Bucket=bucket, Key="absent")
    assert status_and_code(missing) == (404, "NoSuchKey")


def test_put_acl_private_only(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    with pytest.raises(ClientError) as public:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert status_and_code(public) == (501, "NotImplemented")
    with pytest.raises(ClientError) as public_object:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert status_and_code(public_object) == (501, "NotImplemented")
    with pytest.raises(ClientError) as on_put:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"1", ACL="public-read")
    assert status_and_code(on_put) == (501, "NotImplemented")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k2")
    s3.put_object(Bucket=bucket, Key="k3", Body=b"1", ACL="private")
    # Re-putting the ACL that GetBucketAcl returned changes nothing: accepted.
    current = s3.get_bucket_acl(Bucket=bucket)
    s3.put_bucket_acl(
        Bucket=bucket,
        AccessControlPolicy={"Grants": current["Grants"], "Owner": current["Owner"]},
    )
    grants = current["Grants"] + [
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
         "Permission": "READ"}
    ]  # fmt: skip
    with pytest.raises(ClientError) as wider:
        s3.put_bucket_acl(
            Bucket=bucket, AccessControlPolicy={"Grants": grants, "Owner": current["Owner"]}
        )
    assert status_and_code(wider) == (501, "NotImplemented")


def test_create_bucket_acl(s3) -> None:
    name = unique_bucket_name()
    with pytest.raises(ClientError) as public:
        s3.create_bucket(Bucket=name, ACL="public-read-write")
    assert status_and_code(public) == (501, "NotImplemented")
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)
    s3.create_bucket(Bucket=name, ACL="private")
    try:
        s3.head_bucket(Bucket=name)
    finally:
        empty_and_delete_bucket(s3, name)


def test_versioning(s3, bucket: str) -> None:
    got = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in got and "MFADelete" not in got
    with pytest.raises(ClientError) as enabled:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert status_and_code(enabled) == (501, "NotImplemented")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_versioning(Bucket=unique_bucket_name())
    assert status_and_code(missing) == (404, "NoSuchBucket")


def test_bucket_policy_probe(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_policy(Bucket=bucket)
    assert status_and_code(absent) == (404, "NoSuchBucketPolicy")
    with pytest.raises(ClientError) as put:
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Version": "2012-10-17", "Statement": []}')
    assert status_and_code(put) == (501, "NotImplemented")
