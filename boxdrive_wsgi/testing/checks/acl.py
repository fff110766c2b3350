"""The contract of object ACLs and owners: ``ObjectAttributes.acl`` / ``.owner`` are kept
by every write, ``put_object_acl`` replaces the ACL alone, a copy takes what it is given."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ...stores import AttributeUpdate, NoSuchBucket, NoSuchKey, ObjectAttributes, ObjectStore
from ..helpers import assert_absent, get_bytes, pattern, put

ACL = '{"grants":[["Group","http://acs.amazonaws.com/groups/global/AllUsers","READ"]]}'


def test_acl_and_owner_round_trip_through_put(store: ObjectStore, bucket: str) -> None:
    attributes = ObjectAttributes(content_type="text/plain", acl=ACL, owner="writer-1")
    put(store, bucket, "k", b"data", attributes=attributes)
    head = store.head_object(bucket, "k")
    assert head.attributes.acl == ACL
    assert head.attributes.owner == "writer-1"
    put(store, bucket, "plain", b"data")
    bare = store.head_object(bucket, "plain").attributes
    assert bare.acl is None and bare.owner is None


def test_put_object_acl_replaces_only_the_acl(store: ObjectStore, bucket: str) -> None:
    data = pattern(5000)
    attributes = ObjectAttributes(
        content_type="text/plain", metadata={"m": "1"}, tags={"t": "v"}, owner="writer-1"
    )
    before = put(store, bucket, "k", data, attributes=attributes)
    info = store.update_object_attributes(bucket, "k", AttributeUpdate(acl=ACL))
    assert info.attributes.acl == ACL
    head = store.head_object(bucket, "k")
    assert head.attributes.acl == ACL
    assert head.etag == before.etag and head.size == before.size
    assert head.attributes.owner == "writer-1"
    assert dict(head.attributes.tags) == {"t": "v"}
    assert dict(head.attributes.metadata) == {"m": "1"}
    assert get_bytes(store, bucket, "k") == data
    store.update_object_attributes(bucket, "k", AttributeUpdate(acl=None))
    assert store.head_object(bucket, "k").attributes.acl is None
    # Tags written afterwards keep the ACL.
    store.update_object_attributes(bucket, "k", AttributeUpdate(acl=ACL))
    store.update_object_attributes(bucket, "k", AttributeUpdate(tags={"x": "y"}))
    assert store.head_object(bucket, "k").attributes.acl == ACL


def test_put_object_acl_missing(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(NoSuchKey):
        store.update_object_attributes(bucket, "absent", AttributeUpdate(acl=ACL))
    with pytest.raises(NoSuchBucket):
        store.update_object_attributes("no-such-bucket-x", "k", AttributeUpdate(acl=ACL))
    assert_absent(store, bucket, "absent")


def test_copy_takes_the_given_acl(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"1", attributes=ObjectAttributes(acl=ACL, owner="a"))
    store.copy_object(
        bucket,
        "src",
        bucket,
        "dst",
        attributes=lambda src: replace(src.attributes, acl=None, owner="b"),
    )
    copied = store.head_object(bucket, "dst").attributes
    assert copied.acl is None and copied.owner == "b"
    assert store.head_object(bucket, "src").attributes.acl == ACL
