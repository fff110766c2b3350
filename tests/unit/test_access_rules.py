"""Access rules beyond the matrix: who sees which buckets, x-amz-expected-bucket-owner,
and the initiator ListMultipartUploads names. In-process, signed with botocore."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from boxdrive_wsgi.auth.credentials import User
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.stores.base import ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.memory import MemoryStore

from ..access_rules import (
    ADMIN,
    ALICE,
    BOB,
    Call,
    call_for,
    error_code,
    flask_client,
    operation_names,
    prepare,
    send,
    sign,
)

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def signed(call: Call, user: User | None) -> Call:
    if user is not None:
        call.headers = sign(call, user, "localhost")
    return call


def listed(store: ObjectStore, user: User | None, *, anonymous: bool) -> list[str]:
    response = send(flask_client(store, anonymous=anonymous), signed(Call("GET", "/"), user))
    assert response.status_code == 200, response.data
    return [e.text or "" for e in ET.fromstring(response.data).iter(f"{NS}Name")]


def test_list_buckets_shows_each_caller_what_it_owns() -> None:
    store = MemoryStore()
    store.create_bucket("alices", owner=ALICE.identity.id)
    store.create_bucket("anons", owner=ANONYMOUS.id)
    store.create_bucket("nobodys")  # no recorded owner: the admin's
    assert listed(store, ALICE, anonymous=False) == ["alices"]
    assert listed(store, BOB, anonymous=False) == []
    assert listed(store, ADMIN, anonymous=False) == ["nobodys"]
    # Unsigned requests on an anonymous server see ANONYMOUS's buckets only, not everyone's.
    assert listed(store, None, anonymous=True) == ["anons"]


# -- x-amz-expected-bucket-owner -----------------------------------------------------------------

#: Operations on a bucket or object that take ExpectedBucketOwner (all but these three).
OWNER_CHECKED = sorted(operation_names() - {"ListBuckets", "CreateBucket", "PreflightCors"})


@pytest.mark.parametrize("operation", OWNER_CHECKED)
def test_expected_bucket_owner(operation: str) -> None:
    store = MemoryStore()
    client = flask_client(store)
    for number, (expected, allowed) in enumerate(
        [(BOB.identity.id, False), ("", False), (ALICE.identity.id, True)]
    ):
        prepared = prepare(store, f"expect-{number}", "private")
        header = {"x-amz-expected-bucket-owner": expected}
        call = call_for(operation, prepared, ALICE, host="localhost", extra_headers=header)
        response = send(client, call)
        if allowed:
            assert response.status_code in call.ok, response.data
        else:
            assert response.status_code == 403, (expected, response.data)
            if not operation.startswith("Head"):  # HEAD answers carry no body
                assert error_code(response.data) == "AccessDenied"


def test_expected_bucket_owner_of_an_unowned_bucket_never_matches() -> None:
    store = MemoryStore()
    client = flask_client(store)
    prepare(store, "unowned", "unowned")
    call = Call("GET", "/unowned", headers={"x-amz-expected-bucket-owner": ADMIN.identity.id})
    response = send(client, signed(call, ADMIN))
    assert response.status_code == 403 and error_code(response.data) == "AccessDenied"
    assert send(client, signed(Call("GET", "/unowned"), ADMIN)).status_code == 200


@pytest.mark.parametrize("operation", ["CopyObject", "UploadPartCopy"])
def test_expected_source_bucket_owner(operation: str) -> None:
    store = MemoryStore()
    client = flask_client(store)
    prepared = prepare(store, "dest", "private")
    prepare(store, "src", "private")
    for expected, status in [(BOB.identity.id, 403), (ALICE.identity.id, 200)]:
        headers = {
            "x-amz-copy-source": "/src/k",
            "x-amz-source-expected-bucket-owner": expected,
        }
        if operation == "CopyObject":
            call = Call("PUT", "/dest/copy", headers=headers)
        else:
            query = {"partNumber": "3", "uploadId": prepared.upload_id}
            call = Call("PUT", "/dest/mp", query, headers)
        response = send(client, signed(call, ALICE))
        assert response.status_code == status, response.data


# -- ListMultipartUploads: the initiator ---------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["memory", "filesystem"])
def test_list_multipart_uploads_names_each_initiator(store_kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if store_kind == "memory" else FilesystemStore(tmp_path)
    client = flask_client(store)
    prepare(store, "shared", "public")  # alice's, public-read-write: bob may upload
    for user, key in [(BOB, "bobs"), (ALICE, "alices")]:
        response = send(client, signed(Call("POST", f"/shared/{key}", {"uploads": ""}), user))
        assert response.status_code == 200, response.data
    response = send(client, signed(Call("GET", "/shared", {"uploads": ""}), ALICE))
    assert response.status_code == 200, response.data
    people: dict[str, list[tuple[str | None, str | None]]] = {}
    for upload in ET.fromstring(response.data).iter(f"{NS}Upload"):
        people[upload.findtext(f"{NS}Key") or ""] = [
            (upload.findtext(f"{NS}{role}/{NS}ID"), upload.findtext(f"{NS}{role}/{NS}DisplayName"))
            for role in ("Initiator", "Owner")
        ]
    bob, alice = (BOB.identity.id, "bob"), (ALICE.identity.id, "alice")
    assert people["bobs"] == [bob, bob]
    assert people["alices"] == [alice, alice]
    assert people["mp"] == [alice, alice]  # prepared by the store for alice
    store.close()
