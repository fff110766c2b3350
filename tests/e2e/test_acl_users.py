"""S3 ACLs enforced between two users (from a users file) and unsigned requests, over
waitress: canned ACLs, grant headers, XML policies, copies and multipart uploads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial

import pytest
import requests
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import User, write_users_file

from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

OWNER = User("owner", "AKOWNER0000000000001", "owner-" + os.urandom(8).hex(), email="o@x.test")
OTHER = User("other", "AKOTHER0000000000002", "other-" + os.urandom(8).hex(), email="b@x.test")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    conf = tmp_path_factory.mktemp("acl-conf")
    write_users_file(conf / "users.json", [OWNER, OTHER])
    env = {
        "BOXDRIVE_ACCESS_KEY": "",
        "BOXDRIVE_SECRET_KEY": "",
        "BOXDRIVE_USERS_FILE": str(conf / "users.json"),
    }
    with running_waitress(tmp_path_factory.mktemp("acl-data"), extra_env=env, log_dir=conf) as srv:
        yield srv


def client(server: RunningServer, user: User):
    return make_client(replace(server, access_key=user.access_key, secret_key=user.secret_key))


@pytest.fixture(scope="module")
def owner(server: RunningServer):
    return client(server, OWNER)


@pytest.fixture(scope="module")
def other(server: RunningServer):
    return client(server, OTHER)


@pytest.fixture
def bucket(owner) -> Iterator[str]:
    name = unique_bucket_name("acl")
    owner.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(owner, name)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def denied(call: Callable[[], object]) -> None:
    with pytest.raises(ClientError) as exc:
        call()
    assert code(exc) in ("AccessDenied", "403")


def test_private_by_default(server: RunningServer, owner, other, bucket: str) -> None:
    owner.put_object(Bucket=bucket, Key="k", Body=b"secret")
    denied(lambda: other.list_objects_v2(Bucket=bucket))
    denied(lambda: other.get_object(Bucket=bucket, Key="k"))
    denied(lambda: other.get_bucket_acl(Bucket=bucket))
    denied(lambda: other.put_object(Bucket=bucket, Key="x", Body=b"x"))
    unsigned = requests.get(f"{server.endpoint}/{bucket}/k", timeout=10)
    assert unsigned.status_code == 403 and b"AccessDenied" in unsigned.content
    assert requests.get(f"{server.endpoint}/{bucket}", timeout=10).status_code == 403
    assert requests.get(f"{server.endpoint}/", timeout=10).status_code == 403  # ListBuckets


def test_public_read_bucket_and_object(server: RunningServer, owner, other, bucket: str) -> None:
    owner.put_object(Bucket=bucket, Key="private", Body=b"p")
    owner.put_object(Bucket=bucket, Key="public", Body=b"hello", ACL="public-read")
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read")
    listing = requests.get(f"{server.endpoint}/{bucket}?list-type=2", timeout=10)
    assert listing.status_code == 200 and b"<Key>public</Key>" in listing.content
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "private",
        "public",
    ]
    got = requests.get(f"{server.endpoint}/{bucket}/public", timeout=10)
    assert got.status_code == 200 and got.content == b"hello"
    assert other.get_object(Bucket=bucket, Key="public")["Body"].read() == b"hello"
    # The bucket's READ does not grant reading its objects; nor writing, nor its ACL.
    assert requests.get(f"{server.endpoint}/{bucket}/private", timeout=10).status_code == 403
    denied(lambda: other.get_object(Bucket=bucket, Key="private"))
    denied(lambda: other.put_object(Bucket=bucket, Key="x", Body=b"x"))
    denied(lambda: other.put_bucket_acl(Bucket=bucket, ACL="public-read-write"))
    denied(lambda: other.delete_bucket(Bucket=bucket))
    assert requests.put(f"{server.endpoint}/{bucket}/x", data=b"x", timeout=10).status_code == 403
    # A missing key: NoSuchKey to whom may list, AccessDenied to whom may not.
    with pytest.raises(ClientError) as missing:
        other.get_object(Bucket=bucket, Key="absent")
    assert code(missing) == "NoSuchKey"
    owner.put_bucket_acl(Bucket=bucket, ACL="private")
    denied(lambda: other.get_object(Bucket=bucket, Key="absent"))
    denied(lambda: other.list_objects_v2(Bucket=bucket))


def test_authenticated_read(server: RunningServer, owner, other, bucket: str) -> None:
    owner.put_object(Bucket=bucket, Key="k", Body=b"members", ACL="authenticated-read")
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"members"
    assert requests.get(f"{server.endpoint}/{bucket}/k", timeout=10).status_code == 403


def test_grant_headers_to_the_other_user(owner, other, bucket: str) -> None:
    other_id = other.list_buckets()["Owner"]["ID"]
    owner.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{other_id}"', GrantRead=f'id="{other_id}"')
    grants = owner.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {(g["Grantee"]["ID"], g["Permission"]) for g in grants} == {
        (other_id, "WRITE"),
        (other_id, "READ"),
    }
    # The other user writes into the bucket and owns what it wrote.
    other.put_object(Bucket=bucket, Key="theirs", Body=b"t")
    acl = other.get_object_acl(Bucket=bucket, Key="theirs")
    assert acl["Owner"]["ID"] == other_id
    assert acl["Owner"]["DisplayName"] == "other"
    assert other.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"t"
    denied(lambda: other.get_bucket_acl(Bucket=bucket))
    # By e-mail, resolved to the user's id; an unknown id or e-mail is refused.
    owner.put_object(Bucket=bucket, Key="mine", Body=b"m", GrantRead='emailAddress="b@x.test"')
    assert other.get_object(Bucket=bucket, Key="mine")["Body"].read() == b"m"
    with pytest.raises(ClientError) as unknown:
        owner.put_object_acl(Bucket=bucket, Key="mine", GrantRead='id="nobody"')
    assert code(unknown) == "InvalidArgument"
    with pytest.raises(ClientError) as email:
        owner.put_object_acl(Bucket=bucket, Key="mine", GrantRead='emailAddress="no@x.test"')
    assert code(email) == "UnresolvableGrantByEmailAddress"
    owner.put_bucket_acl(Bucket=bucket, ACL="private")
    other.get_object(Bucket=bucket, Key="mine")  # the object's own ACL still grants READ
    denied(lambda: other.put_object(Bucket=bucket, Key="more", Body=b"x"))


def test_xml_put_bucket_acl_round_trip(owner, other, bucket: str) -> None:
    other_id = other.list_buckets()["Owner"]["ID"]
    current = owner.get_bucket_acl(Bucket=bucket)
    grants = current["Grants"] + [
        {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "READ_ACP"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
    ]
    owner.put_bucket_acl(
        Bucket=bucket, AccessControlPolicy={"Grants": grants, "Owner": current["Owner"]}
    )
    after = owner.get_bucket_acl(Bucket=bucket)
    assert after["Owner"] == current["Owner"]
    assert len(after["Grants"]) == 3 and after["Grants"][0]["Grantee"]["URI"] == ALL_USERS
    assert other.get_bucket_acl(Bucket=bucket)["Grants"] == after["Grants"]
    other.list_objects_v2(Bucket=bucket)
    with pytest.raises(ClientError) as bad:
        owner.put_bucket_acl(
            Bucket=bucket,
            AccessControlPolicy={
                "Grants": [{"Grantee": {"Type": "Group", "URI": "urn:nope"}, "Permission": "READ"}],
                "Owner": current["Owner"],
            },
        )
    assert code(bad) == "InvalidArgument"


def test_acl_on_copy_and_multipart(server: RunningServer, owner, other, bucket: str) -> None:
    owner.put_object(Bucket=bucket, Key="src", Body=b"copied", ACL="public-read")
    owner.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "src"})
    # A copy is private unless told otherwise: the source's ACL does not travel.
    assert len(owner.get_object_acl(Bucket=bucket, Key="plain")["Grants"]) == 1
    assert requests.get(f"{server.endpoint}/{bucket}/plain", timeout=10).status_code == 403
    owner.copy_object(
        Bucket=bucket, Key="pub", CopySource={"Bucket": bucket, "Key": "src"}, ACL="public-read"
    )
    assert requests.get(f"{server.endpoint}/{bucket}/pub", timeout=10).content == b"copied"
    # Copying needs READ on the source object.
    dest = unique_bucket_name("acl-dst")
    other.create_bucket(Bucket=dest)
    try:
        denied(lambda: other.copy_object(Bucket=dest, Key="x", CopySource=f"{bucket}/plain"))
        other.copy_object(Bucket=dest, Key="x", CopySource=f"{bucket}/pub")
    finally:
        empty_and_delete_bucket(other, dest)
    upload = owner.create_multipart_upload(Bucket=bucket, Key="mp", ACL="public-read")
    parts = []
    for number, body in ((1, b"a" * PART), (2, b"b")):
        etag = owner.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    owner.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    got = requests.get(f"{server.endpoint}/{bucket}/mp", timeout=30)
    assert got.status_code == 200 and len(got.content) == PART + 1


def test_public_read_write_bucket_takes_anonymous_writes(
    server: RunningServer, owner, bucket: str
) -> None:
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    put = requests.put(f"{server.endpoint}/{bucket}/anon", data=b"from anyone", timeout=10)
    assert put.status_code == 200
    acl = owner.get_object_acl(Bucket=bucket, Key="anon")
    assert acl["Owner"]["ID"] == "anonymous"
    # The bucket owner may still read what was written into its bucket.
    assert owner.get_object(Bucket=bucket, Key="anon")["Body"].read() == b"from anyone"


def test_each_version_has_its_own_acl(owner, other, bucket: str) -> None:
    """A grant on the latest version lets no one read (or copy) an older private one."""
    owner.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    secret = owner.put_object(Bucket=bucket, Key="k", Body=b"secret")["VersionId"]
    public = owner.put_object(Bucket=bucket, Key="k", Body=b"public", ACL="public-read")
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"public"
    got = other.get_object(Bucket=bucket, Key="k", VersionId=public["VersionId"])
    assert got["Body"].read() == b"public"
    denied(lambda: other.get_object(Bucket=bucket, Key="k", VersionId=secret))
    denied(lambda: other.head_object(Bucket=bucket, Key="k", VersionId=secret))
    theirs = unique_bucket_name("acl")
    other.create_bucket(Bucket=theirs)
    try:
        source = {"Bucket": bucket, "Key": "k", "VersionId": secret}
        denied(lambda: other.copy_object(Bucket=theirs, Key="stolen", CopySource=source))
        latest = {"Bucket": bucket, "Key": "k"}
        other.copy_object(Bucket=theirs, Key="copied", CopySource=latest)
        assert other.get_object(Bucket=theirs, Key="copied")["Body"].read() == b"public"
        upload = other.create_multipart_upload(Bucket=theirs, Key="mp")["UploadId"]
        denied(
            lambda: other.upload_part_copy(
                Bucket=theirs, Key="mp", UploadId=upload, PartNumber=1, CopySource=source
            )
        )
        other.abort_multipart_upload(Bucket=theirs, Key="mp", UploadId=upload)
    finally:
        empty_and_delete_bucket(other, theirs)


def test_the_bucket_owner_reads_another_users_object_acl_only_if_granted(
    owner, other, bucket: str
) -> None:
    """As S3 (s3-tests test_bucket_policy_put_obj_grant): under ObjectWriter the writer
    owns what it writes; the bucket owner reads its ACL only with READ_ACP, from a
    bucket-owner-full-control ACL, say, or once BucketOwnerEnforced makes it the owner."""
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    other.put_object(Bucket=bucket, Key="kept", Body=b"k")
    other.put_object(Bucket=bucket, Key="read", Body=b"r", ACL="bucket-owner-read")
    other.put_object(Bucket=bucket, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    for key in ("kept", "read"):
        denied(partial(owner.get_object_acl, Bucket=bucket, Key=key))
        denied(partial(owner.put_object_acl, Bucket=bucket, Key=key, ACL="private"))
    assert other.get_object_acl(Bucket=bucket, Key="kept")["Owner"]["ID"] == OTHER.identity.id
    given = owner.get_object_acl(Bucket=bucket, Key="given")
    assert given["Owner"]["ID"] == OTHER.identity.id
    assert {g["Permission"] for g in given["Grants"]} == {"FULL_CONTROL"}
    owner.put_bucket_acl(Bucket=bucket, ACL="private")
    owner.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    assert owner.get_object_acl(Bucket=bucket, Key="kept")["Owner"]["ID"] == OWNER.identity.id
    owner.delete_bucket_ownership_controls(Bucket=bucket)


def test_the_bucket_owner_reads_another_users_object_only_if_granted(
    owner, other, bucket: str
) -> None:
    """As S3: under ObjectWriter the bucket owner's reads of an object another user wrote
    (GET, HEAD, GetObjectAttributes, GetObjectTagging, a copy of it) need its ACL's READ:
    bucket-owner-read or -full-control give it, a plain write does not."""
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    other.put_object(Bucket=bucket, Key="kept", Body=b"k", Tagging="a=b")
    other.put_object(Bucket=bucket, Key="read", Body=b"r", ACL="bucket-owner-read", Tagging="a=b")
    other.put_object(
        Bucket=bucket, Key="given", Body=b"g", ACL="bucket-owner-full-control", Tagging="a=b"
    )
    owner.put_object(Bucket=bucket, Key="own", Body=b"o", Tagging="a=b")

    def reads(client, key: str) -> list[Callable[[], object]]:
        return [
            partial(client.get_object, Bucket=bucket, Key=key),
            partial(client.head_object, Bucket=bucket, Key=key),
            partial(
                client.get_object_attributes,
                Bucket=bucket,
                Key=key,
                ObjectAttributes=["ETag", "ObjectSize"],
            ),
            partial(client.get_object_tagging, Bucket=bucket, Key=key),
            partial(
                client.copy_object,
                Bucket=bucket,
                Key=f"copy-of-{key}",
                CopySource={"Bucket": bucket, "Key": key},
            ),
        ]

    for call in reads(owner, "kept"):
        denied(call)
    for key in ("read", "given", "own"):
        answers = [call() for call in reads(owner, key)]
        assert answers[0]["Body"].read() == key[0].encode()  # type: ignore[index]
        assert answers[2]["ObjectSize"] == 1  # type: ignore[index]
        assert answers[3]["TagSet"] == [{"Key": "a", "Value": "b"}]  # type: ignore[index]
    assert other.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"k"  # its writer's
    # the bucket owner still lists and deletes it, and takes it over by BucketOwnerEnforced
    listed = owner.list_objects_v2(Bucket=bucket)["Contents"]
    assert "kept" in {entry["Key"] for entry in listed}
    owner.put_bucket_acl(Bucket=bucket, ACL="private")
    owner.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    assert owner.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"k"
    owner.delete_bucket_ownership_controls(Bucket=bucket)
    denied(partial(owner.head_object, Bucket=bucket, Key="kept"))
    owner.delete_object(Bucket=bucket, Key="kept")
