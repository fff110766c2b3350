"""Identity policies from the users file, over waitress with boto3: a user with
policies may do only what they allow, in its own buckets too; they grant nothing in
another user's bucket that its owner did not."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import User, write_users_file

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    conf = tmp_path_factory.mktemp("idp-conf")
    write_users_file(conf / "users.json", [OWNER, READER])
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
