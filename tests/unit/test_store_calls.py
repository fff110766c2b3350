"""How often a request asks the store: the bucket a request acts on is looked up once
(the access check's lookup carries the owner to the handler), and PutObject/GetObject
make no other call than the one that does their work.

A counting proxy stands between the blueprint and a memory store; the requests are the
access matrix's (tests/access_rules.py), one valid request per operation.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from itertools import count
from typing import Any

import pytest

from boxdrive_wsgi.auth.credentials import User
from boxdrive_wsgi.stores.base import ObjectStore
from boxdrive_wsgi.stores.memory import MemoryStore
from boxdrive_wsgi.stores.proxy import StoreProxy

from ..access_rules import (
    ALICE,
    BOB,
    Call,
    call_for,
    flask_client,
    operation_names,
    prepare,
    send,
    sign,
)


class CountingStore(StoreProxy):
    """``inner`` behind the ObjectStore interface, counting the calls made to it."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.calls: Counter[str] = Counter()

    def _call(self, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        self.calls[name] += 1
        return super()._call(name, args, kwargs)


_buckets = count()


def store_calls(
    operation: str,
    *,
    user: User | None = ALICE,
    kind: str = "private",
    headers: dict[str, str] | None = None,
) -> Counter[str]:
    """The store calls one ``operation`` request makes, by method, on a fresh bucket."""
    store = CountingStore(MemoryStore())  # type: ignore[abstract]  # StoreProxy fills them in
    prepared = prepare(store.inner, f"calls-{next(_buckets)}", kind)
    client = flask_client(store)
    call = call_for(operation, prepared, user, host="localhost", extra_headers=headers)
    response = send(client, call)
    assert response.status_code in call.ok, response.data
    return store.calls


#: A write without SSE headers needs the bucket's default encryption, and a write to a
#: bucket with object lock or lifecycle rules those: all read only if the bucket's lookup
#: says the slot holds a document (BucketInfo.config_names), else no read at all.
PUT = {"head_bucket": 1, "put_object": 1}


def test_put_object_asks_for_the_bucket_once() -> None:
    assert store_calls("PutObject") == PUT


def test_put_object_naming_its_encryption_reads_no_bucket_default() -> None:
    headers = {"x-amz-server-side-encryption": "AES256"}
    assert store_calls("PutObject", headers=headers) == {"head_bucket": 1, "put_object": 1}


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-acl": "bucket-owner-full-control"},
        {"x-amz-grant-read": f'id="{BOB.identity.id}"'},
        {"x-amz-expected-bucket-owner": ALICE.identity.id},
    ],
    ids=["canned-acl", "grant-header", "expected-owner"],
)
def test_what_put_object_needs_of_the_owner_comes_with_that_lookup(
    headers: dict[str, str],
) -> None:
    assert store_calls("PutObject", headers=headers) == PUT


def test_put_object_granted_by_the_bucket_acl_reads_the_acl_once() -> None:
    calls = store_calls("PutObject", user=BOB, kind="public")
    assert calls == {"head_bucket": 1, "get_bucket_config": 1, "put_object": 1}  # the ACL


def test_put_object_reads_the_default_encryption_a_bucket_has() -> None:
    store = CountingStore(MemoryStore())  # type: ignore[abstract]
    prepared = prepare(store.inner, f"calls-{next(_buckets)}", "private")
    default = b'{"algorithm": "AES256"}'
    store.inner.put_bucket_config(prepared.bucket, "encryption", default)
    call = call_for("PutObject", prepared, ALICE, host="localhost")
    response = send(flask_client(store), call)
    assert response.status_code in call.ok, response.data
    assert store.calls == {"head_bucket": 1, "get_bucket_config": 1, "put_object": 1}
    assert response.headers["x-amz-server-side-encryption"] == "AES256"


def test_get_object_asks_for_the_bucket_once() -> None:
    assert store_calls("GetObject") == {"head_bucket": 1, "get_object": 1}


def test_get_object_granted_by_the_object_acl_reads_it_once() -> None:
    calls = store_calls("GetObject", user=BOB, kind="public")
    assert calls == {"head_bucket": 1, "head_object": 1, "get_object": 1}


@pytest.mark.parametrize("granted", [True, False], ids=["bucket-owner-read", "private"])
def test_the_owners_get_of_another_users_object_asks_for_no_head(granted: bool) -> None:
    """The object's owner and ACL come with the GetObject that reads it: the decision
    costs no HeadObject (nor a configuration read: the bucket has no ownership controls,
    ObjectWriter)."""
    from boxdrive_wsgi.protocol.acl import canned
    from boxdrive_wsgi.stores.base import ObjectAttributes

    store = CountingStore(MemoryStore())  # type: ignore[abstract]  # StoreProxy fills them in
    bucket = f"calls-{next(_buckets)}"
    store.inner.create_bucket(bucket, owner=ALICE.identity.id)
    acl_name = "bucket-owner-read" if granted else "private"
    object_acl = canned(acl_name, BOB.identity.id, ALICE.identity.id)
    attributes = ObjectAttributes(owner=BOB.identity.id, acl=object_acl.to_json())
    store.inner.put_object(bucket, "k", io.BytesIO(b"data"), size=4, attributes=attributes)
    call = Call("GET", f"/{bucket}/k")
    call.headers = sign(call, ALICE, "localhost")
    response = send(flask_client(store), call)
    assert response.status_code == (200 if granted else 403), response.data
    assert store.calls == {"head_bucket": 1, "get_object": 1}


def test_copy_object_asks_for_its_bucket_once_when_it_is_also_the_source() -> None:
    calls = store_calls("CopyObject")
    assert calls["head_bucket"] == 1
    assert calls["copy_object"] == 1


@pytest.mark.parametrize("operation", sorted(operation_names()))
def test_no_operation_looks_its_bucket_up_twice(operation: str) -> None:
    assert store_calls(operation)["head_bucket"] <= 1


ORIGIN = {"Origin": "https://app.example"}


def test_a_cors_request_reads_the_rules_once_with_the_lookup() -> None:
    """Every prepared bucket has CORS rules: the Origin's answer reads them once."""
    store = CountingStore(MemoryStore())  # type: ignore[abstract]
    prepared = prepare(store.inner, f"calls-{next(_buckets)}", "private")
    call = call_for("GetObject", prepared, ALICE, host="localhost", extra_headers=ORIGIN)
    response = send(flask_client(store), call)
    assert response.status_code in call.ok, response.data
    assert store.calls == {"head_bucket": 1, "get_bucket_config": 1, "get_object": 1}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_get_bucket_cors_with_an_origin_reads_the_rules_once() -> None:
    calls = store_calls("GetBucketCors", headers=ORIGIN)
    assert calls == {"head_bucket": 1, "get_bucket_config": 1}


def test_a_cors_request_to_a_bucket_without_rules_reads_no_slot() -> None:
    store = CountingStore(MemoryStore())  # type: ignore[abstract]
    prepared = prepare(store.inner, f"calls-{next(_buckets)}", "private")
    store.inner.put_bucket_config(prepared.bucket, "cors", None)
    call = call_for("GetObject", prepared, ALICE, host="localhost", extra_headers=ORIGIN)
    response = send(flask_client(store), call)
    assert response.status_code in call.ok, response.data
    assert store.calls == {"head_bucket": 1, "get_object": 1}
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("operation", "allowed"), [("PutBucketCors", True), ("DeleteBucketCors", False)]
)
def test_a_cors_write_answers_its_origin_by_the_rules_it_wrote(
    operation: str, allowed: bool
) -> None:
    """As before the rules were read through the request: the answer to a write of them
    follows the new rules, and reads none."""
    store = CountingStore(MemoryStore())  # type: ignore[abstract]
    prepared = prepare(store.inner, f"calls-{next(_buckets)}", "private")
    if allowed:
        store.inner.put_bucket_config(prepared.bucket, "cors", None)  # the PUT sets them
    call = call_for(operation, prepared, ALICE, host="localhost", extra_headers=ORIGIN)
    response = send(flask_client(store), call)
    assert response.status_code in call.ok, response.data
    # the rules allow GET only: a PUT's Origin is answered "no rule" (Vary), not ignored
    assert ("Vary" in response.headers) is allowed
    assert store.calls["get_bucket_config"] == 0
