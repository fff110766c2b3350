"""Bucket policies over waitress with boto3: an access matrix policy x user x operation
(stated here case by case, not derived from the server's code), MalformedPolicy, the
owner's lock-out guard, and aws:SourceIp behind (un)trusted proxies."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import Group, User, write_users_file

from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_shipped, running_waitress

OWNER = User("owner", "AKPOLOWNER0000000001", "owner-" + os.urandom(8).hex())
ALICE = User("alice", "AKPOLALICE0000000002", "alice-" + os.urandom(8).hex())
BOB = User("bob", "AKPOLBOB000000000003", "bob-" + os.urandom(8).hex())
#: identity policies from groups (README "Access"): carol's group lets it read public/*
#: and list; dave may do anything by its own policy but write or delete (its group).
READERS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/public/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
    ],
}
NO_WRITES = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}
    ],
}
ANYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
GROUPS = [Group("readers", (json.dumps(READERS),)), Group("no-writes", (json.dumps(NO_WRITES),))]
CAROL = User("carol", "AKPOLCAROL0000000004", "carol-" + os.urandom(8).hex(), groups=("readers",))
DAVE = User(
    "dave",
    "AKPOLDAVE00000000005",
    "dave-" + os.urandom(8).hex(),
    policies=(json.dumps(ANYTHING),),
    groups=("no-writes",),
)
USERS = ("owner", "alice", "bob", "carol", "dave", "anonymous")


def _users_server(tmp: pytest.TempPathFactory, kind: str = "", **env: str) -> Any:
    conf = tmp.mktemp("policy-conf")
    write_users_file(conf / "users.json", [OWNER, ALICE, BOB, CAROL, DAVE], GROUPS)
    settings = {
        "BOXDRIVE_ACCESS_KEY": "",
        "BOXDRIVE_SECRET_KEY": "",
        "BOXDRIVE_USERS_FILE": str(conf / "users.json"),
        **env,
    }
    if kind:
        return running_shipped(kind, tmp.mktemp("policy-data"), conf, extra_env=settings)
    return running_waitress(tmp.mktemp("policy-data"), extra_env=settings, log_dir=conf)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # SSE-C over plain http: the policy on its algorithm header is tested without TLS
    with _users_server(tmp_path_factory, BOXDRIVE_SSE_C_ALLOW_HTTP="1") as srv:
        yield srv


def _client(server: RunningServer, who: str) -> Any:
    if who == "anonymous":
        return boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name=server.region,
            config=Config(
                signature_version=UNSIGNED,
                s3={"addressing_style": "path"},
                retries={"total_max_attempts": 1},
            ),
        )
    user = {"owner": OWNER, "alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE}[who]
    return make_client(replace(server, access_key=user.access_key, secret_key=user.secret_key))


@pytest.fixture(scope="module")
def clients(server: RunningServer) -> dict[str, Any]:
    return {who: _client(server, who) for who in USERS}


def statement(
    effect: str, principal: object, action: object, resource: object, **more: Any
) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": principal,
        "Action": action,
        "Resource": resource,
        **more,
    }


def alice_arn() -> str:
    return f"arn:aws:iam::{ALICE.identity.id}:user/alice"


#: policy name -> statements, for a bucket ``B`` (substituted).
POLICIES: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "public-read": [statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::B/public/*")],
    "alice-rw": [
        statement("Allow", {"AWS": [alice_arn()]}, ["s3:Get*", "s3:PutObject"], "arn:aws:s3:::B/*"),
        statement("Allow", {"AWS": "alice"}, "s3:ListBucket", "arn:aws:s3:::B"),
    ],
    "deny-bob": [
        statement("Allow", {"AWS": "*"}, "s3:GetObject", "arn:aws:s3:::B/*"),
        statement(
            "Deny", {"AWS": [BOB.identity.id]}, "s3:*", ["arn:aws:s3:::B", "arn:aws:s3:::B/*"]
        ),
    ],
    "tls-only": [
        statement(
            "Deny",
            "*",
            "s3:*",
            ["arn:aws:s3:::B", "arn:aws:s3:::B/*"],
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        )
    ],
    "office-ip": [
        statement(
            "Deny",
            "*",
            "s3:*",
            ["arn:aws:s3:::B", "arn:aws:s3:::B/*"],
            Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        )
    ],
    "bob-prefix": [
        statement(
            "Allow",
            {"AWS": "bob"},
            "s3:ListBucket",
            "arn:aws:s3:::B",
            Condition={"StringLike": {"s3:prefix": "bob/*"}},
        ),
        statement("Allow", {"AWS": "bob"}, "s3:*Object", "arn:aws:s3:::B/bob/*"),
    ],
    "tagged": [
        statement(
            "Allow",
            {"AWS": "alice"},
            "s3:GetObject",
            "arn:aws:s3:::B/*",
            Condition={"StringEquals": {"s3:ExistingObjectTag/class": "open"}},
        )
    ],
    "deny-over-acl": [statement("Deny", "*", "s3:GetObject", "arn:aws:s3:::B/private/*")],
    "open": [
        statement(
            "Allow",
            "*",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            ["arn:aws:s3:::B", "arn:aws:s3:::B/*"],
        )
    ],
}

OPERATIONS: dict[str, Callable[[Any, str], object]] = {
    "get-public": lambda c, b: c.get_object(Bucket=b, Key="public/a")["Body"].read(),
    "get-private": lambda c, b: c.get_object(Bucket=b, Key="private/b")["Body"].read(),
    "put": lambda c, b: c.put_object(Bucket=b, Key="private/new", Body=b"n"),
    "list": lambda c, b: c.list_objects_v2(Bucket=b),
    "list-bob": lambda c, b: c.list_objects_v2(Bucket=b, Prefix="bob/"),
    "delete": lambda c, b: c.delete_object(Bucket=b, Key="scratch"),
    "get-policy": lambda c, b: c.get_bucket_policy(Bucket=b),
}
EVERYTHING = frozenset(OPERATIONS)
#: policy -> user -> the operations allowed. Read: what each policy means, case by case.
ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    "none": {"owner": EVERYTHING - {"get-policy"}},  # no policy: NoSuchBucketPolicy (404)
    "public-read": {
        "owner": EVERYTHING,
        "alice": frozenset({"get-public"}),
        "bob": frozenset({"get-public"}),
        "carol": frozenset({"get-public"}),
        "dave": frozenset({"get-public"}),
        "anonymous": frozenset({"get-public"}),
    },
    "alice-rw": {
        "owner": EVERYTHING,
        "alice": frozenset({"get-public", "get-private", "put", "list", "list-bob"}),
    },
    "deny-bob": {
        "owner": EVERYTHING,
        "alice": frozenset({"get-public", "get-private"}),
        # carol's group allows only public/*: the bucket's Allow of private/ is not enough
        "carol": frozenset({"get-public"}),
        "dave": frozenset({"get-public", "get-private"}),
        "anonymous": frozenset({"get-public", "get-private"}),
    },
    # plain http: everyone is denied, the owner too, except its policy operations
    "tls-only": {"owner": frozenset({"get-policy"})},
    "office-ip": {"owner": frozenset({"get-policy"})},
    "bob-prefix": {"owner": EVERYTHING, "bob": frozenset({"list-bob"})},
    "tagged": {"owner": EVERYTHING, "alice": frozenset({"get-public"})},
    # the object's public-read ACL would let anyone read it: the Deny wins, over ownership too
    "deny-over-acl": {"owner": EVERYTHING - {"get-private"}},
    # everyone may read, list, write and delete, but as its own and its groups' policies
    # let it: carol reads public/ and lists; dave's group denies writes and deletes over
    # its own Allow and the bucket's
    "open": {
        "owner": EVERYTHING,
        "alice": EVERYTHING - {"get-policy"},
        "bob": EVERYTHING - {"get-policy"},
        "carol": frozenset({"get-public", "list", "list-bob"}),
        "dave": frozenset({"get-public", "get-private", "list", "list-bob"}),
        "anonymous": EVERYTHING - {"get-policy"},
    },
}


@pytest.fixture(scope="module")
def buckets(clients: dict[str, Any]) -> Iterator[dict[str, str]]:
    owner = clients["owner"]
    made: dict[str, str] = {}
    for name, statements in POLICIES.items():
        bucket = unique_bucket_name("pol")
        owner.create_bucket(Bucket=bucket)
        owner.put_object(Bucket=bucket, Key="public/a", Body=b"A", Tagging="class=open")
        owner.put_object(Bucket=bucket, Key="private/b", Body=b"B", Tagging="class=closed")
        if name == "deny-over-acl":
            owner.put_object_acl(Bucket=bucket, Key="private/b", ACL="public-read")
        if statements:
            text = json.dumps({"Version": "2012-10-17", "Statement": statements})
            owner.put_bucket_policy(Bucket=bucket, Policy=text.replace(":::B", f":::{bucket}"))
        made[name] = bucket
    yield made
    for bucket in made.values():
        owner.delete_bucket_policy(Bucket=bucket)
        empty_and_delete_bucket(owner, bucket)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_access_matrix(
    clients: dict[str, Any], buckets: dict[str, str], policy: str, who: str, operation: str
) -> None:
    expected = operation in ALLOWED[policy].get(who, frozenset())
    call = OPERATIONS[operation]
    try:
        call(clients[who], buckets[policy])
        allowed = True
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        code = error.response["Error"]["Code"]
        if operation == "get-policy" and code == "NoSuchBucketPolicy":
            allowed = False  # ran, found none (policy "none")
        else:
            assert (status, code) in ((403, "AccessDenied"), (403, "403")), error.response
            allowed = False
    assert allowed == expected


def test_malformed_policies_are_refused_with_a_reason(clients: dict[str, Any]) -> None:
    owner = clients["owner"]
    bucket = unique_bucket_name("pol")
    owner.create_bucket(Bucket=bucket)
    try:
        cases = {
            "{not json": "valid JSON",
            json.dumps({"Statement": [statement("Allow", "*", "ec2:Run", "*")]}): "invalid action",
            json.dumps({"Statement": [statement("Allow", "*", "s3:*", "arn:aws:s3:::other/*")]}): (
                "invalid resource"
            ),
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}): (
                "Principal"
            ),
        }
        for text, reason in cases.items():
            with pytest.raises(ClientError) as bad:
                owner.put_bucket_policy(Bucket=bucket, Policy=text)
            assert bad.value.response["Error"]["Code"] == "MalformedPolicy"
            assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert reason in bad.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as none:
            owner.get_bucket_policy(Bucket=bucket)
        assert none.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
        status = owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
        assert status["IsPublic"] is False
        public = json.dumps(
            {"Statement": [statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")]}
        )
        owner.put_bucket_policy(Bucket=bucket, Policy=public)
        assert owner.get_bucket_policy(Bucket=bucket)["Policy"] == public  # kept as sent
        assert owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
        owner.delete_bucket_policy(Bucket=bucket)
        with pytest.raises(ClientError):
            owner.get_bucket_policy(Bucket=bucket)
    finally:
        empty_and_delete_bucket(owner, bucket)


def test_others_may_not_manage_the_policy(clients: dict[str, Any], buckets: dict[str, str]) -> None:
    for who in ("alice", "bob", "anonymous"):
        with pytest.raises(ClientError) as put:
            clients[who].put_bucket_policy(Bucket=buckets["none"], Policy=json.dumps({
                "Statement": [statement("Allow", "*", "s3:*", f"arn:aws:s3:::{buckets['none']}/*")]
            }))  # fmt: skip
        assert put.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _with_forwarded_for(client: Any, address: str) -> Any:
    def add(request: Any, **_: Any) -> None:  # as a proxy would: after signing
        request.headers["X-Forwarded-For"] = address

    client.meta.events.register("before-send.s3.*", add)
    return client


def _office_ip_bucket(owner: Any) -> str:
    bucket = unique_bucket_name("pol")
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="k", Body=b"k")
    statements = POLICIES["office-ip"]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    owner.put_bucket_policy(Bucket=bucket, Policy=text.replace(":::B", f":::{bucket}"))
    return bucket


def test_source_ip_ignores_forwarded_for_from_untrusted_peers(server: RunningServer) -> None:
    owner = _client(server, "owner")
    bucket = _office_ip_bucket(owner)
    try:
        spoofing = _with_forwarded_for(_client(server, "owner"), "10.1.2.3")
        with pytest.raises(ClientError) as denied:
            spoofing.get_object(Bucket=bucket, Key="k")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        owner.delete_bucket_policy(Bucket=bucket)
        empty_and_delete_bucket(owner, bucket)


def test_source_ip_is_the_client_behind_a_trusted_proxy(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # gunicorn: waitress itself drops X-Forwarded-* unless told to trust the peer
    with _users_server(tmp_path_factory, "gunicorn", BOXDRIVE_TRUSTED_PROXIES="127.0.0.1") as srv:
        owner = _client(srv, "owner")
        bucket = _office_ip_bucket(owner)
        with pytest.raises(ClientError):
            owner.get_object(Bucket=bucket, Key="k")  # the proxy itself is not in the office
        office = _with_forwarded_for(_client(srv, "owner"), "10.1.2.3")
        assert office.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"
        outside = _with_forwarded_for(_client(srv, "owner"), "192.0.2.1")
        with pytest.raises(ClientError):
            outside.get_object(Bucket=bucket, Key="k")
        owner.delete_bucket_policy(Bucket=bucket)


def test_delete_objects_is_decided_key_by_key(clients: dict[str, Any]) -> None:
    owner, bob = clients["owner"], clients["bob"]
    bucket = unique_bucket_name("pol")
    owner.create_bucket(Bucket=bucket)
    try:
        for key in ("a", "keep/b"):
            owner.put_object(Bucket=bucket, Key=key, Body=b"x")
        statements = [
            statement("Allow", {"AWS": "bob"}, "s3:DeleteObject", f"arn:aws:s3:::{bucket}/*"),
            statement("Deny", "*", "s3:DeleteObject", f"arn:aws:s3:::{bucket}/keep/*"),
        ]
        owner.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
        )
        result = bob.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "keep/b"}]}
        )
        assert [d["Key"] for d in result.get("Deleted", [])] == ["a"]
        assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/b", "AccessDenied")]
        left = owner.list_objects_v2(Bucket=bucket)["Contents"]
        assert [o["Key"] for o in left] == ["keep/b"]
        owner.delete_bucket_policy(Bucket=bucket)
    finally:
        empty_and_delete_bucket(owner, bucket)


def _status(call: Callable[[], object]) -> int:
    try:
        call()
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
    return 200


def test_a_missing_key_is_404_to_whom_the_policy_lets_list_it(clients: dict[str, Any]) -> None:
    owner, alice = clients["owner"], clients["alice"]
    bucket = unique_bucket_name("pol")
    owner.create_bucket(Bucket=bucket)
    try:
        listing = statement(
            "Allow", {"AWS": "*"}, "s3:ListBucket", f"arn:aws:s3:::{bucket}",
            Condition={"StringLike": {"s3:prefix": "public/*"}},
        )  # fmt: skip
        text = json.dumps({"Version": "2012-10-17", "Statement": [listing]})
        owner.put_bucket_policy(Bucket=bucket, Policy=text)
        owner.put_object(Bucket=bucket, Key="public/there", Body=b"x")
        head = lambda key: lambda: alice.head_object(Bucket=bucket, Key=key)  # noqa: E731
        assert _status(head("public/missing")) == 404  # s3:prefix matches the key
        assert _status(head("private/missing")) == 403
        assert _status(head("public/there")) == 403  # may list it, not read it
        with pytest.raises(ClientError) as caught:
            alice.get_object(Bucket=bucket, Key="public/missing")
        assert caught.value.response["Error"]["Code"] == "NoSuchKey"
        anonymous = clients["anonymous"]
        assert _status(lambda: anonymous.head_object(Bucket=bucket, Key="public/x")) == 404
        owner.delete_bucket_policy(Bucket=bucket)
        assert _status(head("public/missing")) == 403
    finally:
        empty_and_delete_bucket(owner, bucket)


SSE_C = {
    "SSECustomerAlgorithm": "AES256",
    "SSECustomerKey": "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=",
    "SSECustomerKeyMD5": "DWygnHRtgiJ77HCm+1rvHw==",
}


@pytest.mark.parametrize(("operator", "value"), [("StringNotEquals", "AES256"), ("Null", "true")])
def test_sse_c_algorithm_is_a_condition_key(
    clients: dict[str, Any], operator: str, value: str
) -> None:
    owner = clients["owner"]
    bucket = unique_bucket_name("pol")
    owner.create_bucket(Bucket=bucket)
    try:
        deny = statement(
            "Deny", "*", "s3:PutObject", f"arn:aws:s3:::{bucket}/*",
            Condition={operator: {"s3:x-amz-server-side-encryption-customer-algorithm": value}},
        )  # fmt: skip
        text = json.dumps({"Version": "2012-10-17", "Statement": [deny]})
        owner.put_bucket_policy(Bucket=bucket, Policy=text)
        with pytest.raises(ClientError) as caught:
            owner.put_object(Bucket=bucket, Key="plain", Body=b"x")  # no SSE-C: absent key
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        if operator == "StringNotEquals":
            with pytest.raises(ClientError) as caught:
                owner.put_object(
                    Bucket=bucket, Key="weak", Body=b"x", SSECustomerAlgorithm="AES192"
                )
            assert caught.value.response["Error"]["Code"] == "AccessDenied"
        owner.put_object(Bucket=bucket, Key="sealed", Body=b"x", **SSE_C)
        assert owner.get_object(Bucket=bucket, Key="sealed", **SSE_C)["Body"].read() == b"x"
        owner.delete_bucket_policy(Bucket=bucket)
    finally:
        empty_and_delete_bucket(owner, bucket)
