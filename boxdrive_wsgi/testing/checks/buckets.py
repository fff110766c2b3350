"""Store contract: buckets, and NoSuchBucket on every operation of a missing bucket."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ...stores import (
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    NoSuchBucket,
    ObjectStore,
    WriteOptions,
)
from ..helpers import get_bytes, put


def assert_recent_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None, "timestamps must be timezone-aware"
    assert moment.utcoffset() == timedelta(0), "timestamps must be UTC"
    now = datetime.now(UTC)
    assert now - timedelta(minutes=5) <= moment <= now + timedelta(seconds=5)


def test_fresh_store_has_no_buckets(store: ObjectStore) -> None:
    assert store.list_buckets() == []


def test_create_bucket_returns_info(store: ObjectStore) -> None:
    info = store.create_bucket("alpha", owner="alice")
    assert isinstance(info, BucketInfo)
    assert info.name == "alpha"
    assert info.owner == "alice"
    assert_recent_utc(info.created)


def test_create_head_list_bucket(store: ObjectStore) -> None:
    created = store.create_bucket("alpha", owner="alice")
    head = store.head_bucket("alpha")
    assert head.name == "alpha"
    assert head.owner == "alice"
    assert_recent_utc(head.created)
    assert abs(head.created - created.created) <= timedelta(seconds=1)
    assert [b.name for b in store.list_buckets()] == ["alpha"]


def test_list_buckets_sorted_with_owners(store: ObjectStore) -> None:
    owners = {"zulu": "zed", "alpha": "alice", "mike-2": None, "mike": "mo", "b.dotted": "bo"}
    for name, owner in owners.items():
        store.create_bucket(name, owner=owner)
    listed = store.list_buckets()
    assert [b.name for b in listed] == sorted(owners)
    assert {b.name: b.owner for b in listed} == owners
    for b in listed:
        assert_recent_utc(b.created)


def test_owner_defaults_to_none(store: ObjectStore) -> None:
    store.create_bucket("ownerless")
    assert store.head_bucket("ownerless").owner is None
    assert store.list_buckets()[0].owner is None


def test_bucket_already_exists_carries_owner(store: ObjectStore) -> None:
    store.create_bucket("taken", owner="alice")
    with pytest.raises(BucketAlreadyExists) as caught:
        store.create_bucket("taken", owner="bob")
    assert caught.value.bucket == "taken"
    assert caught.value.owner == "alice"
    # The failed create changed nothing.
    assert store.head_bucket("taken").owner == "alice"
    assert [b.name for b in store.list_buckets()] == ["taken"]


def test_bucket_already_exists_same_owner(store: ObjectStore) -> None:
    store.create_bucket("mine", owner="alice")
    put(store, "mine", "k", b"keep me")
    with pytest.raises(BucketAlreadyExists) as caught:
        store.create_bucket("mine", owner="alice")
    assert caught.value.owner == "alice"
    assert get_bytes(store, "mine", "k") == b"keep me"


def test_bucket_already_exists_without_owner(store: ObjectStore) -> None:
    store.create_bucket("anon")
    with pytest.raises(BucketAlreadyExists) as caught:
        store.create_bucket("anon", owner="bob")
    assert caught.value.owner is None


def test_head_missing_bucket(store: ObjectStore) -> None:
    with pytest.raises(NoSuchBucket) as caught:
        store.head_bucket("nope")
    assert caught.value.bucket == "nope"


def test_delete_bucket(store: ObjectStore) -> None:
    store.create_bucket("doomed")
    store.create_bucket("kept")
    store.delete_bucket("doomed")
    assert [b.name for b in store.list_buckets()] == ["kept"]
    with pytest.raises(NoSuchBucket):
        store.head_bucket("doomed")


def test_delete_missing_bucket(store: ObjectStore) -> None:
    with pytest.raises(NoSuchBucket) as caught:
        store.delete_bucket("nope")
    assert caught.value.bucket == "nope"


def test_delete_bucket_twice(store: ObjectStore) -> None:
    store.create_bucket("once")
    store.delete_bucket("once")
    with pytest.raises(NoSuchBucket):
        store.delete_bucket("once")


def test_bucket_not_empty(store: ObjectStore) -> None:
    store.create_bucket("full")
    put(store, "full", "deep/inside/key", b"x")
    with pytest.raises(BucketNotEmpty) as caught:
        store.delete_bucket("full")
    assert caught.value.bucket == "full"
    # Still there, object intact.
    assert store.head_bucket("full").name == "full"
    assert get_bytes(store, "full", "deep/inside/key") == b"x"
    store.delete_object("full", "deep/inside/key")
    store.delete_bucket("full")
    assert store.list_buckets() == []


def test_bucket_not_empty_with_empty_object(store: ObjectStore) -> None:
    store.create_bucket("full")
    put(store, "full", "empty", b"")
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("full")


def test_recreated_bucket_is_empty_and_new(store: ObjectStore) -> None:
    store.create_bucket("phoenix", owner="alice")
    put(store, "phoenix", "k", b"old")
    store.delete_object("phoenix", "k")
    store.delete_bucket("phoenix")
    store.create_bucket("phoenix", owner="bob")
    assert store.head_bucket("phoenix").owner == "bob"
    page = store.list_objects("phoenix")
    assert page.objects == [] and page.common_prefixes == []


def test_buckets_are_isolated(store: ObjectStore) -> None:
    # Names that are prefixes of one another catch path/prefix-based implementations.
    for name in ("b", "b-2", "bb"):
        store.create_bucket(name)
    put(store, "b", "k", b"in b")
    put(store, "b-2", "k", b"in b-2")
    put(store, "b-2", "only-in-b-2", b"!")
    assert get_bytes(store, "b", "k") == b"in b"
    assert get_bytes(store, "b-2", "k") == b"in b-2"
    assert [o.key for o in store.list_objects("b").objects] == ["k"]
    assert [o.key for o in store.list_objects("b-2").objects] == ["k", "only-in-b-2"]
    assert store.list_objects("bb").objects == []
    store.delete_object("b", "k")
    assert get_bytes(store, "b-2", "k") == b"in b-2"
    store.delete_bucket("b")
    assert [b.name for b in store.list_buckets()] == ["b-2", "bb"]


def test_object_info_names_its_bucket(store: ObjectStore) -> None:
    store.create_bucket("one")
    store.create_bucket("two")
    assert put(store, "two", "k", b"x").bucket == "two"
    assert store.head_object("two", "k").bucket == "two"
    assert store.list_objects("two").objects[0].bucket == "two"


# --------------------------------------------------------------------------- missing bucket

MissingBucketOp = Callable[[ObjectStore, str], object]

MISSING_BUCKET_OPS: dict[str, MissingBucketOp] = {
    "put": lambda s, b: s.put_object(b, "k", io.BytesIO(b"data"), size=4),
    "put_no_size": lambda s, b: s.put_object(b, "k", io.BytesIO(b"data")),
    "put_if_none_match": lambda s, b: s.put_object(
        b, "k", io.BytesIO(b"data"), size=4, options=WriteOptions.create()
    ),
    "put_if_match": lambda s, b: s.put_object(
        b, "k", io.BytesIO(b"data"), size=4, options=WriteOptions.update("*")
    ),
    "get": lambda s, b: s.get_object(b, "k"),
    "get_range": lambda s, b: s.get_object(b, "k", byte_range=ByteRange(0, 0)),
    "head": lambda s, b: s.head_object(b, "k"),
    "delete": lambda s, b: s.delete_object(b, "k"),
    "list": lambda s, b: s.list_objects(b),
    "list_delimiter": lambda s, b: s.list_objects(b, prefix="a/", delimiter="/"),
    "list_zero": lambda s, b: s.list_objects(b, max_keys=0),
}


@pytest.mark.parametrize("op", list(MISSING_BUCKET_OPS))
def test_missing_bucket_raises_no_such_bucket(store: ObjectStore, op: str) -> None:
    store.create_bucket("exists")  # a different bucket must not confuse the store
    put(store, "exists", "k", b"data")
    with pytest.raises(NoSuchBucket) as caught:
        MISSING_BUCKET_OPS[op](store, "missing")
    assert caught.value.bucket == "missing"
    # Nothing was created on the way.
    assert [b.name for b in store.list_buckets()] == ["exists"]


@pytest.mark.parametrize("op", list(MISSING_BUCKET_OPS))
def test_deleted_bucket_raises_no_such_bucket(store: ObjectStore, op: str) -> None:
    store.create_bucket("gone")
    put(store, "gone", "k", b"data")
    store.delete_object("gone", "k")
    store.delete_bucket("gone")
    with pytest.raises(NoSuchBucket):
        MISSING_BUCKET_OPS[op](store, "gone")
    assert store.list_buckets() == []
