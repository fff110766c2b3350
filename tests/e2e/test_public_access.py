"""Public access block and ownership controls over waitress with boto3: their
documents, and what they change about ACL and policy writes and about access."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import empty_and_delete_bucket, unique_bucket_name
from .test_bucket_policy import _client, clients, server  # noqa: F401 (fixtures)

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def error(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as failed:
        call(**kwargs)
    response = failed.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def flags(**on: bool) -> dict[str, bool]:
    return {name: on.get(name, False) for name in BLOCK_ALL}


def public_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


@pytest.fixture
def bucket(clients: dict[str, Any]) -> Iterator[str]:  # noqa: F811
    name = unique_bucket_name("pab")
    clients["owner"].create_bucket(Bucket=name)
    yield name
    clients["owner"].delete_bucket_policy(Bucket=name)
    empty_and_delete_bucket(clients["owner"], name)


def test_public_access_block_document(clients: dict[str, Any], bucket: str) -> None:  # noqa: F811
    owner = clients["owner"]
    assert error(owner.get_public_access_block, Bucket=bucket) == (
        404,
        "NoSuchPublicAccessBlockConfiguration",
    )
    conf = flags(BlockPublicAcls=True, RestrictPublicBuckets=True)
    owner.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=conf)
    got = owner.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert got == conf
    assert error(clients["alice"].get_public_access_block, Bucket=bucket)[0] == 403
    owner.delete_public_access_block(Bucket=bucket)
    assert error(owner.get_public_access_block, Bucket=bucket)[1] == (
        "NoSuchPublicAccessBlockConfiguration"
    )


def test_block_public_acls_and_policy(clients: dict[str, Any], bucket: str) -> None:  # noqa: F811
    owner = clients["owner"]
    owner.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=flags(BlockPublicAcls=True)
    )
    for acl in ("public-read", "public-read-write", "authenticated-read"):
        assert error(owner.put_bucket_acl, Bucket=bucket, ACL=acl) == (403, "AccessDenied")
        assert error(owner.put_object, Bucket=bucket, Key="k", Body=b"", ACL=acl)[0] == 403
    uri = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'
    assert error(owner.put_bucket_acl, Bucket=bucket, GrantRead=uri)[0] == 403
    owner.put_object(Bucket=bucket, Key="k", Body=b"", ACL="private")
    owner.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))  # policies still pass
    owner.delete_bucket_policy(Bucket=bucket)
    owner.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=flags(BlockPublicPolicy=True)
    )
    assert error(owner.put_bucket_policy, Bucket=bucket, Policy=public_policy(bucket)) == (
        403,
        "AccessDenied",
    )
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read")  # ACLs pass now


def test_ignore_public_acls_and_restrict_public_buckets(
    clients: dict[str, Any],  # noqa: F811
    bucket: str,
) -> None:
    owner, alice, anonymous = clients["owner"], clients["alice"], clients["anonymous"]
    owner.put_object(Bucket=bucket, Key="acl", Body=b"a", ACL="public-read")
    owner.put_object(Bucket=bucket, Key="pol", Body=b"p")
    owner.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    assert anonymous.get_object(Bucket=bucket, Key="acl")["Body"].read() == b"a"
    assert anonymous.get_object(Bucket=bucket, Key="pol")["Body"].read() == b"p"
    assert owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True

    owner.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=flags(IgnorePublicAcls=True)
    )
    # the ACL is ignored, the policy still grants (its resource covers every key)
    assert alice.get_object(Bucket=bucket, Key="acl")["Body"].read() == b"a"
    owner.delete_bucket_policy(Bucket=bucket)
    assert error(alice.get_object, Bucket=bucket, Key="acl")[0] == 403
    assert error(anonymous.get_object, Bucket=bucket, Key="acl")[0] == 403
    owner.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))

    owner.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration=flags(IgnorePublicAcls=True, RestrictPublicBuckets=True),
    )
    for who in (alice, anonymous):
        assert error(who.get_object, Bucket=bucket, Key="pol")[0] == 403
        assert error(who.get_object, Bucket=bucket, Key="acl")[0] == 403
    assert owner.get_object(Bucket=bucket, Key="pol")["Body"].read() == b"p"
    assert owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    owner.delete_public_access_block(Bucket=bucket)
    assert anonymous.get_object(Bucket=bucket, Key="pol")["Body"].read() == b"p"


def ownership(client: Any, bucket: str) -> str:
    rules = client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert len(rules) == 1
    return str(rules[0]["ObjectOwnership"])


def acl_owner(client: Any, bucket: str, key: str) -> str:
    return str(client.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"])


def test_ownership_controls(clients: dict[str, Any]) -> None:  # noqa: F811
    owner, alice = clients["owner"], clients["alice"]
    owner_id = owner.list_buckets()["Owner"]["ID"]
    bucket = unique_bucket_name("own")
    owner.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
    try:
        assert ownership(owner, bucket) == "BucketOwnerEnforced"
        everything = json.loads(public_policy(bucket))
        everything["Statement"][0]["Action"] = "s3:*"
        owner.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everything))
        alice.put_object(Bucket=bucket, Key="a", Body=b"a")
        assert acl_owner(alice, bucket, "a") == owner_id  # the bucket owner owns it
        alice.put_object(Bucket=bucket, Key="b", Body=b"b", ACL="bucket-owner-full-control")
        for call, kwargs in (
            (alice.put_object, {"Key": "c", "Body": b"c", "ACL": "private"}),
            (owner.put_bucket_acl, {"ACL": "private"}),
            (owner.put_object_acl, {"Key": "a", "ACL": "public-read"}),
        ):
            assert error(call, Bucket=bucket, **kwargs) == (400, "AccessControlListNotSupported")
        preferred = {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
        owner.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=preferred)
        alice.put_object(Bucket=bucket, Key="d", Body=b"d")
        assert acl_owner(alice, bucket, "d") != owner_id  # the writer
        alice.put_object(Bucket=bucket, Key="e", Body=b"e", ACL="bucket-owner-full-control")
        assert acl_owner(alice, bucket, "e") == owner_id
        owner.put_bucket_acl(Bucket=bucket, ACL="public-read")
        assert error(
            owner.put_bucket_ownership_controls,
            Bucket=bucket,
            OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        ) == (400, "InvalidBucketAclWithObjectOwnership")
        owner.delete_bucket_ownership_controls(Bucket=bucket)
        assert error(owner.get_bucket_ownership_controls, Bucket=bucket) == (
            404,
            "OwnershipControlsNotFoundError",
        )
        assert error(
            owner.put_bucket_ownership_controls,
            Bucket=bucket,
            OwnershipControls={"Rules": [{"ObjectOwnership": "Everyone"}]},
        ) == (400, "MalformedXML")
        owner.delete_bucket_policy(Bucket=bucket)
    finally:
        empty_and_delete_bucket(owner, bucket)
    with pytest.raises(ClientError) as bad:
        owner.create_bucket(Bucket=unique_bucket_name("own"), ObjectOwnership="Nobody")
    assert bad.value.response["Error"]["Code"] == "InvalidArgument"


def test_post_object_acl_field_follows_the_bucket(clients: dict[str, Any], bucket: str) -> None:  # noqa: F811
    owner = clients["owner"]

    def post(acl: str) -> requests.Response:
        form = owner.generate_presigned_post(
            Bucket=bucket, Key="posted", Fields={"acl": acl}, Conditions=[{"acl": acl}]
        )
        files = {"file": ("f", b"data", "application/octet-stream")}
        return requests.post(form["url"], data=form["fields"], files=files, timeout=30)

    owner.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=flags(BlockPublicAcls=True)
    )
    refused = post("public-read")
    assert refused.status_code == 403 and b"AccessDenied" in refused.content
    assert post("private").status_code == 204
    owner.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    disabled = post("private")
    assert disabled.status_code == 400 and b"AccessControlListNotSupported" in disabled.content
    assert post("bucket-owner-full-control").status_code == 204
