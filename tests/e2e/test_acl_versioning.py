"""ACLs (canned, XML), versioning status (the rest: test_versioning.py) and the bucket-policy
probe."""

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


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_put_acl_canned_and_xml(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    uris = [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]]
    assert uris == [ALL_USERS, None]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert sorted(g["Permission"] for g in grants) == ["FULL_CONTROL", "READ"]
    s3.put_object(Bucket=bucket, Key="k2", Body=b"1", ACL="public-read-write")
    grants = s3.get_object_acl(Bucket=bucket, Key="k2")["Grants"]
    assert sorted(g["Permission"] for g in grants) == ["FULL_CONTROL", "READ", "WRITE"]
    with pytest.raises(ClientError) as unknown:
        s3.put_object(Bucket=bucket, Key="k3", Body=b"1", ACL="no-such-acl")
    assert status_and_code(unknown) == (400, "InvalidArgument")
    # XML round trip: the document GetBucketAcl returned, back to private.
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    current = s3.get_bucket_acl(Bucket=bucket)
    s3.put_bucket_acl(
        Bucket=bucket,
        AccessControlPolicy={"Grants": current["Grants"], "Owner": current["Owner"]},
    )
    grants = current["Grants"] + [
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}
    ]
    s3.put_bucket_acl(
        Bucket=bucket, AccessControlPolicy={"Grants": grants, "Owner": current["Owner"]}
    )
    after = s3.get_bucket_acl(Bucket=bucket)
    assert [(g["Grantee"].get("URI"), g["Permission"]) for g in after["Grants"]] == [
        (ALL_USERS, "READ"),
        (None, "FULL_CONTROL"),
    ]
    with pytest.raises(ClientError) as both:
        s3.put_object(
            Bucket=bucket, Key="k4", Body=b"1", ACL="public-read", GrantRead=f'uri="{ALL_USERS}"'
        )
    assert status_and_code(both) == (400, "InvalidRequest")


def test_create_bucket_acl(s3) -> None:
    name = unique_bucket_name()
    s3.create_bucket(Bucket=name, ACL="public-read-write")
    try:
        grants = s3.get_bucket_acl(Bucket=name)["Grants"]
        assert [g["Permission"] for g in grants] == ["READ", "WRITE", "FULL_CONTROL"]
    finally:
        empty_and_delete_bucket(s3, name)
    with pytest.raises(ClientError) as bad:
        s3.create_bucket(Bucket=name, ACL="bogus")
    assert status_and_code(bad) == (400, "InvalidArgument")
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
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as back:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Disabled"})
    assert status_and_code(back) == (400, "IllegalVersioningConfigurationException")
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_versioning(Bucket=unique_bucket_name())
    assert status_and_code(missing) == (404, "NoSuchBucket")


def test_bucket_policy_probe(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_policy(Bucket=bucket)
    assert status_and_code(absent) == (404, "NoSuchBucketPolicy")
    with pytest.raises(ClientError) as put:
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Version": "2012-10-17", "Statement": []}')
    assert status_and_code(put) == (400, "MalformedPolicy")  # tests/e2e/test_bucket_policy.py
