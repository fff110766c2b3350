"""Identity policies from the users file, its users' and its groups', over waitress
with boto3: a user with policies may do only what they allow, in its own buckets too;
they grant nothing in another user's bucket that its owner did not; a Deny in any of
them wins (README "Access")."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import Group, User, write_users_file

from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"],
            "Resource": "*",
        },
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/secret/*"},
    ],
}
OWNER = User("idp-owner", "AKIDPOWNER0000000001", "owner-" + os.urandom(8).hex())
READER = User(
    "reader",
    "AKIDPREADER000000002",
    "reader-" + os.urandom(8).hex(),
    policies=(json.dumps(READ_ONLY),),
)

REPORTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/reports/*"}
    ],
}
NO_DELETES = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject*", "Resource": "*"}],
}
EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
GROUPS = [Group("readers", (json.dumps(REPORTS),)), Group("keepers", (json.dumps(NO_DELETES),))]
MEMBER = User(
    "member", "AKIDPMEMBER000000003", "member-" + os.urandom(8).hex(), groups=("readers",)
)
#: may do anything by its own policy, but its group denies deletes
KEEPER = User(
    "keeper",
    "AKIDPKEEPER000000004",
    "keeper-" + os.urandom(8).hex(),
    policies=(json.dumps(EVERYTHING),),
    groups=("keepers",),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    conf = tmp_path_factory.mktemp("idp-conf")
    write_users_file(conf / "users.json", [OWNER, READER, MEMBER, KEEPER], GROUPS)
    env = {
        "BOXDRIVE_ACCESS_KEY": "",
        "BOXDRIVE_SECRET_KEY": "",
        "BOXDRIVE_USERS_FILE": str(conf / "users.json"),
    }
    with running_waitress(tmp_path_factory.mktemp("idp-data"), extra_env=env, log_dir=conf) as s:
        yield s


def client(server: RunningServer, user: User) -> Any:
    return make_client(replace(server, access_key=user.access_key, secret_key=user.secret_key))


def denied(call: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_identity_policies_limit_a_user(server: RunningServer) -> None:
    owner, reader = client(server, OWNER), client(server, READER)
    bucket = unique_bucket_name("idp")
    owner.create_bucket(Bucket=bucket)
    try:
        for key in ("open/a", "secret/b"):
            owner.put_object(Bucket=bucket, Key=key, Body=b"x", ACL="public-read")
        # the ACL lets everyone read; the reader's own policy still denies secret/
        assert reader.get_object(Bucket=bucket, Key="open/a")["Body"].read() == b"x"
        denied(reader.get_object, Bucket=bucket, Key="secret/b")
        # its policy allows ListBucket, but the bucket's owner did not: no grant from it
        denied(reader.list_objects_v2, Bucket=bucket)
        reader.list_buckets()
        # it may not even create a bucket of its own, nor write into one
        denied(reader.create_bucket, Bucket=unique_bucket_name("idp"))
        owner.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        denied(reader.put_object, Bucket=bucket, Key="w", Body=b"w")
        assert [o["Key"] for o in reader.list_objects_v2(Bucket=bucket)["Contents"]] == [
            "open/a",
            "secret/b",
        ]
    finally:
        empty_and_delete_bucket(owner, bucket)


def test_a_group_policy_allows_its_members_only_get_object_on_reports(
    server: RunningServer,
) -> None:
    owner, member = client(server, OWNER), client(server, MEMBER)
    bucket = unique_bucket_name("idp")
    owner.create_bucket(Bucket=bucket)
    try:
        for key in ("reports/q1", "other/x"):
            owner.put_object(Bucket=bucket, Key=key, Body=b"x", ACL="public-read")
        owner.put_object(Bucket=bucket, Key="reports/q2", Body=b"2")
        assert member.get_object(Bucket=bucket, Key="reports/q1")["Body"].read() == b"x"
        denied(member.get_object, Bucket=bucket, Key="other/x")  # the ACL alone: no
        denied(member.get_object, Bucket=bucket, Key="reports/q2")  # the owner granted nothing
        denied(member.list_objects_v2, Bucket=bucket)
        denied(member.put_object, Bucket=bucket, Key="reports/new", Body=b"n")
        denied(member.list_buckets)
        grant = {
            "Effect": "Allow",
            "Principal": {"AWS": ["member"]},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
        owner.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]})
        )
        assert member.get_object(Bucket=bucket, Key="reports/q2")["Body"].read() == b"2"
        denied(member.get_object, Bucket=bucket, Key="other/x")  # its group still limits it
    finally:
        owner.delete_bucket_policy(Bucket=bucket)
        empty_and_delete_bucket(owner, bucket)


def test_a_group_deny_overrides_the_users_own_allow(server: RunningServer) -> None:
    owner, keeper = client(server, OWNER), client(server, KEEPER)
    mine = unique_bucket_name("idp")
    keeper.create_bucket(Bucket=mine)  # its own policy allows everything...
    keeper.put_object(Bucket=mine, Key="k", Body=b"k")
    assert keeper.get_object(Bucket=mine, Key="k")["Body"].read() == b"k"
    denied(keeper.delete_object, Bucket=mine, Key="k")  # ...but deletes: its group denies
    assert keeper.head_object(Bucket=mine, Key="k")["ContentLength"] == 1
    shared = unique_bucket_name("idp")
    owner.create_bucket(Bucket=shared)
    try:
        owner.put_object(Bucket=shared, Key="k", Body=b"k")
        everyone_deletes = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{shared}/*",
        }
        policy = {"Version": "2012-10-17", "Statement": [everyone_deletes]}
        owner.put_bucket_policy(Bucket=shared, Policy=json.dumps(policy))
        assert keeper.get_object(Bucket=shared, Key="k")["Body"].read() == b"k"
        denied(keeper.delete_object, Bucket=shared, Key="k")  # over the bucket's Allow too
    finally:
        owner.delete_bucket_policy(Bucket=shared)
        empty_and_delete_bucket(owner, shared)
    # keeper's bucket stays: no one may delete in it; the module's data dir goes with it
