"""Contract: copy_object, object tags (put_object_tags) and bucket configuration slots."""

from __future__ import annotations

import pytest

from ...stores import (
    AttributeUpdate,
    NoSuchBucket,
    NoSuchKey,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    PreconditionFailed,
    WriteOptions,
)
from ..helpers import (
    LARGE,
    assert_absent,
    assert_attributes,
    fresh_bucket_name,
    full_attributes,
    get_bytes,
    keys_of,
    md5,
    pattern,
    put,
    run_threads,
)


def tagged(data: bytes) -> ObjectAttributes:
    a = full_attributes(data)
    return ObjectAttributes(
        a.content_type, a.metadata, a.headers, a.checksums, {"project": "x", "tier": "2 b"}
    )


# --------------------------------------------------------------------------- copy_object


def test_copy_keeps_content_etag_and_attributes(store: ObjectStore, bucket: str) -> None:
    data = pattern(10_000)
    attributes = tagged(data)
    put(store, bucket, "src", data, attributes=attributes)
    info = store.copy_object(bucket, "src", bucket, "dst")
    assert (info.bucket, info.key, info.size, info.etag) == (bucket, "dst", len(data), md5(data))
    assert get_bytes(store, bucket, "dst") == data
    assert_attributes(store.head_object(bucket, "dst"), attributes)
    assert dict(store.head_object(bucket, "dst").attributes.tags) == {"project": "x", "tier": "2 b"}
    assert keys_of(store, bucket) == ["dst", "src"]


def test_copy_across_buckets(store: ObjectStore, bucket: str) -> None:
    other = fresh_bucket_name()
    store.create_bucket(other)
    put(store, bucket, "a/b", b"payload")
    store.copy_object(bucket, "a/b", other, "c")
    assert get_bytes(store, other, "c") == b"payload"
    assert get_bytes(store, bucket, "a/b") == b"payload"


def test_copy_with_new_attributes_replaces_them(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"x", attributes=tagged(b"x"))
    new = ObjectAttributes(content_type="image/png", metadata={"k": "v"})
    info = store.copy_object(bucket, "src", bucket, "dst", attributes=new)
    assert info.etag == md5(b"x")
    assert_attributes(store.head_object(bucket, "dst"), new)
    assert dict(store.head_object(bucket, "dst").attributes.tags) == {}


def test_copy_attribute_callable_sees_the_copied_version(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"version-1", attributes=ObjectAttributes(metadata={"v": "1"}))
    seen: list[ObjectInfo] = []

    def derive(source: ObjectInfo) -> ObjectAttributes:
        seen.append(source)
        return ObjectAttributes(metadata={"from": source.metadata["v"]})

    store.copy_object(bucket, "src", bucket, "dst", attributes=derive)
    assert [(s.key, s.etag) for s in seen] == [("src", md5(b"version-1"))]
    assert dict(store.head_object(bucket, "dst").metadata) == {"from": "1"}


def test_copy_callable_raising_writes_nothing(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"data")
    put(store, bucket, "dst", b"old")

    def refuse(source: ObjectInfo) -> ObjectAttributes:
        raise PreconditionFailed("copy source etag")

    with pytest.raises(PreconditionFailed):
        store.copy_object(bucket, "src", bucket, "dst", attributes=refuse)
    with pytest.raises(PreconditionFailed):
        store.copy_object(bucket, "src", bucket, "new", attributes=refuse)
    assert get_bytes(store, bucket, "dst") == b"old"
    assert_absent(store, bucket, "new")


def test_copy_missing_source_or_bucket(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(NoSuchKey):
        store.copy_object(bucket, "nope", bucket, "dst")
    with pytest.raises(NoSuchBucket):
        store.copy_object("no-such-bucket-x", "k", bucket, "dst")
    put(store, bucket, "src", b"1")
    with pytest.raises(NoSuchBucket):
        store.copy_object(bucket, "src", "no-such-bucket-x", "dst")
    assert keys_of(store, bucket) == ["src"]


def test_copy_is_independent_of_source_afterwards(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"first")
    store.copy_object(bucket, "src", bucket, "copy")
    put(store, bucket, "src", b"second")
    assert get_bytes(store, bucket, "copy") == b"first"
    store.delete_object(bucket, "src")
    assert get_bytes(store, bucket, "copy") == b"first"
    store.copy_object(bucket, "copy", bucket, "src")
    store.delete_object(bucket, "copy")
    assert get_bytes(store, bucket, "src") == b"first"


def test_copy_overwrites_destination_and_onto_itself(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"source")
    put(store, bucket, "dst", b"destination")
    store.copy_object(bucket, "src", bucket, "dst")
    assert get_bytes(store, bucket, "dst") == b"source"
    new = ObjectAttributes(metadata={"replaced": "yes"})
    store.copy_object(bucket, "src", bucket, "src", attributes=new)
    assert get_bytes(store, bucket, "src") == b"source"
    assert dict(store.head_object(bucket, "src").metadata) == {"replaced": "yes"}


def test_copy_large_object(store: ObjectStore, bucket: str) -> None:
    data = pattern(LARGE, seed=3)
    put(store, bucket, "big", data)
    info = store.copy_object(bucket, "big", bucket, "big-copy")
    assert info.size == LARGE and info.etag == md5(data)
    assert get_bytes(store, bucket, "big-copy") == data


def test_copy_destination_conditions(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"s")
    put(store, bucket, "dst", b"d")
    with pytest.raises(PreconditionFailed):
        store.copy_object(bucket, "src", bucket, "dst", options=WriteOptions.create())
    with pytest.raises(PreconditionFailed):
        store.copy_object(bucket, "src", bucket, "dst", options=WriteOptions.update(md5(b"other")))
    assert get_bytes(store, bucket, "dst") == b"d"
    store.copy_object(bucket, "src", bucket, "dst", options=WriteOptions.update(md5(b"d")))
    assert get_bytes(store, bucket, "dst") == b"s"
    store.copy_object(bucket, "src", bucket, "fresh", options=WriteOptions.create())
    assert get_bytes(store, bucket, "fresh") == b"s"


def test_copy_while_source_is_rewritten(store: ObjectStore, bucket: str) -> None:
    versions = [pattern(200_000, seed=n) for n in range(4)]
    put(store, bucket, "src", versions[0])

    def work(n: int) -> None:
        for i in range(6):
            if n % 2:
                put(store, bucket, "src", versions[(n + i) % 4])
            else:
                store.copy_object(bucket, "src", bucket, f"copy-{n}")
                data = get_bytes(store, bucket, f"copy-{n}")
                assert data in versions
                assert store.head_object(bucket, f"copy-{n}").etag == md5(data)

    assert run_threads(work) == []


# --------------------------------------------------------------------------- tags


def test_tags_round_trip_through_put(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"1", attributes=ObjectAttributes(tags={"a": "1", "b": ""}))
    assert dict(store.head_object(bucket, "k").attributes.tags) == {"a": "1", "b": ""}
    with store.get_object(bucket, "k") as body:
        assert dict(body.info.attributes.tags) == {"a": "1", "b": ""}


def test_put_object_tags_replaces_only_tags(store: ObjectStore, bucket: str) -> None:
    data = pattern(5000)
    attributes = tagged(data)
    before = put(store, bucket, "k", data, attributes=attributes)
    info = store.update_object_attributes(
        bucket, "k", AttributeUpdate(tags={"new": "tag", "é": "ü"})
    )
    assert dict(info.attributes.tags) == {"new": "tag", "é": "ü"}
    head = store.head_object(bucket, "k")
    assert dict(head.attributes.tags) == {"new": "tag", "é": "ü"}
    assert head.etag == before.etag and head.size == before.size
    assert_attributes(head, attributes)  # everything else kept
    assert get_bytes(store, bucket, "k") == data
    store.update_object_attributes(bucket, "k", AttributeUpdate(tags={}))
    assert dict(store.head_object(bucket, "k").attributes.tags) == {}


def test_put_object_tags_missing(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(NoSuchKey):
        store.update_object_attributes(bucket, "absent", AttributeUpdate(tags={"a": "b"}))
    with pytest.raises(NoSuchBucket):
        store.update_object_attributes("no-such-bucket-x", "k", AttributeUpdate(tags={"a": "b"}))
    assert_absent(store, bucket, "absent")


def test_overwrite_drops_tags(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"1", attributes=ObjectAttributes(tags={"a": "1"}))
    put(store, bucket, "k", b"2")
    assert dict(store.head_object(bucket, "k").attributes.tags) == {}


# --------------------------------------------------------------------------- bucket config


def test_bucket_config_slots(store: ObjectStore, bucket: str) -> None:
    assert store.get_bucket_config(bucket, "cors") is None
    store.put_bucket_config(bucket, "cors", b"<CORSConfiguration/>")
    store.put_bucket_config(bucket, "tagging", b'{"a": "b"}')
    assert store.get_bucket_config(bucket, "cors") == b"<CORSConfiguration/>"
    assert store.get_bucket_config(bucket, "tagging") == b'{"a": "b"}'
    store.put_bucket_config(bucket, "cors", b"\x00binary\xff")
    assert store.get_bucket_config(bucket, "cors") == b"\x00binary\xff"
    store.put_bucket_config(bucket, "cors", None)
    assert store.get_bucket_config(bucket, "cors") is None
    assert store.get_bucket_config(bucket, "tagging") == b'{"a": "b"}'
    store.put_bucket_config(bucket, "cors", None)  # removing twice is fine


def test_bucket_config_names_come_with_the_lookup(store: ObjectStore, bucket: str) -> None:
    """``BucketInfo.config_names``, when a store gives it, names exactly the slots that
    hold a document: the HTTP layer skips reading the others."""
    if store.head_bucket(bucket).config_names is None:
        return  # the store does not tell: the HTTP layer reads every slot it needs
    assert store.head_bucket(bucket).config_names == frozenset()
    store.put_bucket_config(bucket, "cors", b"<CORSConfiguration/>")
    store.put_bucket_config(bucket, "lifecycle", b"x")
    assert store.head_bucket(bucket).config_names == frozenset({"cors", "lifecycle"})
    store.put_bucket_config(bucket, "cors", None)
    assert store.head_bucket(bucket).config_names == frozenset({"lifecycle"})


def test_bucket_config_missing_bucket(store: ObjectStore) -> None:
    with pytest.raises(NoSuchBucket):
        store.get_bucket_config("no-such-bucket-x", "cors")
    with pytest.raises(NoSuchBucket):
        store.put_bucket_config("no-such-bucket-x", "cors", b"x")


def test_bucket_config_dropped_with_bucket(store: ObjectStore) -> None:
    name = fresh_bucket_name()
    store.create_bucket(name)
    store.put_bucket_config(name, "tagging", b"t")
    other = fresh_bucket_name()
    store.create_bucket(other)
    store.put_bucket_config(other, "tagging", b"other")
    store.delete_bucket(name)
    store.create_bucket(name)
    assert store.get_bucket_config(name, "tagging") is None
    assert store.get_bucket_config(other, "tagging") == b"other"
