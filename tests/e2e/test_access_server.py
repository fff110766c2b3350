"""A slice of the access matrix (tests/access_rules.py) over real waitress servers: raw
requests, signed with botocore or sent unsigned as curl would, and boto3 clients; a
filesystem store and a store that records no owners (as the S3 store in 1:1 mode
did), each with anonymous mode off and on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import User, write_users_file

from ..access_rules import (
    ADMIN,
    ALICE,
    BOB,
    DESTRUCTIVE,
    ON_UPLOAD,
    PRINCIPALS,
    USERS,
    Call,
    Prepared,
    call_for,
    expected_allowed,
    sign,
    verdict,
)
from .conftest import make_client
from .servers import RunningServer, running_waitress

SLICE = [
    "ListBuckets", "CreateBucket", "HeadBucket", "ListObjects", "GetObject", "HeadObject",
    "PutObject", "CopyObject", "PostObject", "CreateMultipartUpload", "UploadPart",
    "ListParts", "ListMultipartUploads", "GetBucketAcl", "DeleteBucket", "DeleteObjects",
    "DeleteObject", "CompleteMultipartUpload", "AbortMultipartUpload", "PutBucketAcl",
]  # fmt: skip
#: store setting -> the bucket kinds it can hold, and who makes them.
STORES = {"filesystem": "private", "tests.access_rules:ownerless_store": "unowned"}


@pytest.fixture(scope="module", params=[False, True], ids=["anonymous-off", "anonymous-on"])
def anonymous(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(scope="module", params=list(STORES))
def server(
    request: pytest.FixtureRequest, anonymous: bool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    conf = tmp_path_factory.mktemp("access-conf")
    write_users_file(conf / "users.json", USERS)
    env = {
        "BOXDRIVE_ACCESS_KEY": "",
        "BOXDRIVE_SECRET_KEY": "",
        "BOXDRIVE_USERS_FILE": str(conf / "users.json"),
        "BOXDRIVE_STORE": request.param,
        "BOXDRIVE_ANONYMOUS": "1" if anonymous else "0",
        "BOXDRIVE_ACCESS_LOG": "off",
    }
    data = tmp_path_factory.mktemp("access-data")
    with running_waitress(data, extra_env=env, log_dir=conf) as srv:
        yield srv


def kind_of(server: RunningServer) -> str:
    return STORES[server.env["BOXDRIVE_STORE"]]


def host(server: RunningServer) -> str:
    return f"{server.host}:{server.port}"


def send(server: RunningServer, call: Call) -> requests.Response:
    return requests.request(
        call.method,
        server.endpoint + call.target(),
        headers=call.headers,
        data=call.body,
        timeout=30,
        allow_redirects=False,
    )


def as_user(server: RunningServer, call: Call, user: User | None) -> requests.Response:
    if user is not None:
        call.headers = sign(call, user, host(server))
    return send(server, call)


def prepare(server: RunningServer, bucket: str, maker: User | None, upload: bool) -> Prepared:
    """Through the API, as ``maker``: the bucket, object k, and an upload of mp."""
    assert as_user(server, Call("PUT", f"/{bucket}"), maker).status_code == 200
    assert as_user(server, Call("PUT", f"/{bucket}/k", body=b"data"), maker).status_code == 200
    if not upload:
        return Prepared(bucket)
    created = as_user(server, Call("POST", f"/{bucket}/mp", {"uploads": ""}), maker)
    upload_id = created.text.split("<UploadId>")[1].split("</UploadId>")[0]
    query = {"partNumber": "1", "uploadId": upload_id}
    part = as_user(server, Call("PUT", f"/{bucket}/mp", query, body=b"part one"), maker)
    assert part.status_code == 200, part.text
    return Prepared(bucket, upload_id, part.headers["ETag"].strip('"'))


@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_access_over_waitress(server: RunningServer, anonymous: bool, principal: str) -> None:
    kind = kind_of(server)
    maker = ALICE if kind == "private" else ADMIN
    name = f"srv-{principal}"
    shared = prepare(server, name, maker, upload=True)
    user = PRINCIPALS[principal]
    wrong = []
    for number, operation in enumerate(sorted(SLICE, key=lambda op: op in DESTRUCTIVE)):
        allowed = expected_allowed(operation, principal, kind, anonymous)
        prepared = shared
        if allowed and operation in DESTRUCTIVE:
            prepared = prepare(server, f"{name}-{number}", maker, operation in ON_UPLOAD)
        call = call_for(operation, prepared, user, host=host(server))
        response = send(server, call)
        got = verdict(call, response.status_code, response.content, call.method)
        want = "allowed" if allowed else "denied"
        if got != want:
            wrong.append(f"{operation}: want {want}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_buckets_over_waitress(server: RunningServer, anonymous: bool) -> None:
    """Buckets made unsigned on an anonymous server: ANONYMOUS's, usable by every caller
    (signing never gives less), unless the store keeps no owner; nothing without
    anonymous mode."""
    unsigned = make_client(server, signature_version=UNSIGNED)
    bob = make_client(replace(server, access_key=BOB.access_key, secret_key=BOB.secret_key))
    if not anonymous:
        with pytest.raises(ClientError) as denied:
            unsigned.create_bucket(Bucket="anon-off")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        return
    unsigned.create_bucket(Bucket="anon-on")
    if kind_of(server) == "unowned":  # the store keeps no owner: the bucket is the admin's
        with pytest.raises(ClientError) as denied:
            unsigned.put_object(Bucket="anon-on", Key="k", Body=b"open")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        admin = make_client(
            replace(server, access_key=ADMIN.access_key, secret_key=ADMIN.secret_key)
        )
        admin.delete_bucket(Bucket="anon-on")
        return
    unsigned.put_object(Bucket="anon-on", Key="k", Body=b"open")
    assert bob.get_object(Bucket="anon-on", Key="k")["Body"].read() == b"open"
    names = [b["Name"] for b in unsigned.list_buckets()["Buckets"]]
    assert "anon-on" in names and "srv-owner" not in names  # its own, not alice's/admin's
    bob.delete_object(Bucket="anon-on", Key="k")
    unsigned.delete_bucket(Bucket="anon-on")


def test_boto3_on_another_users_or_unowned_bucket(server: RunningServer) -> None:
    """boto3 as bob and unsigned get AccessDenied where the matrix says so; the bucket's
    maker (alice, or the admin for an unowned bucket) is served."""
    kind = kind_of(server)
    maker = ALICE if kind == "private" else ADMIN
    prepare(server, "boto-bucket", maker, upload=False)
    owner = make_client(replace(server, access_key=maker.access_key, secret_key=maker.secret_key))
    assert owner.get_object(Bucket="boto-bucket", Key="k")["Body"].read() == b"data"
    bob = make_client(replace(server, access_key=BOB.access_key, secret_key=BOB.secret_key))
    unsigned = make_client(server, signature_version=UNSIGNED)
    for client in (bob, unsigned):
        for call in (
            lambda c: c.get_object(Bucket="boto-bucket", Key="k"),
            lambda c: c.put_object(Bucket="boto-bucket", Key="x", Body=b"x"),
            lambda c: c.delete_object(Bucket="boto-bucket", Key="k"),
        ):
            with pytest.raises(ClientError) as denied:
                call(client)
            assert denied.value.response["Error"]["Code"] == "AccessDenied"
    listed = [b["Name"] for b in owner.list_buckets()["Buckets"]]
    assert "boto-bucket" in listed
    assert "boto-bucket" not in [b["Name"] for b in bob.list_buckets()["Buckets"]]
