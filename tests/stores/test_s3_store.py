"""S3Store beyond the contract: 1:1 mapping, objects written upstream by others, settings."""

from __future__ import annotations

import contextlib
import io
import uuid

import pytest

from boxdrive_wsgi.settings import Settings
from boxdrive_wsgi.stores.base import (
    BucketAlreadyExists,
    BucketNotEmpty,
    ByteRange,
    NoSuchBucket,
    NoSuchKey,
    NotSupported,
)
from boxdrive_wsgi.stores.factory import store_from_settings
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.stores.s3 import owners as s3_owners

from . import s3_upstream


def test_one_to_one_mapping() -> None:
    store = s3_upstream.make_store(bucket=None)
    name = f"direct-{uuid.uuid4().hex[:12]}"
    try:
        store.create_bucket(name, owner="ignored")
        with pytest.raises(BucketAlreadyExists):
            store.create_bucket(name)
        assert name in [b.name for b in store.list_buckets()]
        store.put_object(name, "k", io.BytesIO(b"0123456789"), size=10)
        assert store.get_object(name, "k", byte_range=ByteRange(None, 3)).read_all() == b"789"
        raw = s3_upstream.client(s3_upstream.upstream())
        assert raw.get_object(Bucket=name, Key="k")["Body"].read() == b"0123456789"
        with pytest.raises(NotSupported):
            store.get_bucket_config(name, "cors")
        store.delete_object(name, "k")
        store.delete_bucket(name)
        with pytest.raises(NoSuchBucket):
            store.head_bucket(name)
    finally:
        store.close()


def test_objects_written_upstream_by_others_read_with_their_metadata() -> None:
    store = s3_upstream.make_store()
    try:
        store.create_bucket("shared")
        raw = s3_upstream.client(s3_upstream.upstream())
        raw.put_object(
            Bucket=s3_upstream.UPSTREAM_BUCKET,
            Key=store.prefix + "shared/foreign",
            Body=b"hi",
            ContentType="text/plain",
            Metadata={"origin": "elsewhere"},
        )
        info = store.head_object("shared", "foreign")
        assert (info.content_type, dict(info.metadata)) == ("text/plain", {"origin": "elsewhere"})
        assert [o.key for o in store.list_objects("shared").objects] == ["foreign"]
    finally:
        store.close()


def test_settings_select_the_s3_store() -> None:
    settings = Settings.from_env(
        {},
        store="s3",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_access_key="AK",
        s3_secret_key="SK",
        s3_bucket="up",
        s3_prefix="p/",
    )
    assert "SK" not in repr(settings)
    store = store_from_settings(settings)
    assert isinstance(store, S3Store)
    assert (store.upstream_bucket, store.prefix) == ("up", "p/")
    env = Settings.from_env({"BOXDRIVE_STORE": "s3", "BOXDRIVE_S3_REGION": "eu-west-1"})
    assert (env.store, env.s3_region, env.s3_bucket) == ("s3", "eu-west-1", None)


def _direct_bucket(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:12]}"


def test_one_to_one_buckets_record_their_owner_upstream() -> None:
    """1:1 mode: the owner travels in a record upstream, so every process/node sees it."""
    store, other_node = s3_upstream.make_store(bucket=None), s3_upstream.make_store(bucket=None)
    name = _direct_bucket("owned")
    try:
        assert store.create_bucket(name, owner="alice").owner == "alice"
        assert store.head_bucket(name).owner == "alice"
        assert other_node.head_bucket(name).owner == "alice"
        assert {b.name: b.owner for b in other_node.list_buckets()}[name] == "alice"
        with pytest.raises(BucketAlreadyExists) as caught:
            other_node.create_bucket(name, owner="bob")
        assert caught.value.owner == "alice"
        assert store.head_bucket(name).owner == "alice"
    finally:
        with contextlib.suppress(NoSuchBucket):
            store.delete_bucket(name)
        store.close()
        other_node.close()


def test_one_to_one_owner_record_is_out_of_clients_reach() -> None:
    store = s3_upstream.make_store(bucket=None)
    name = _direct_bucket("hidden")
    record = s3_owners.OWNER_RECORD
    try:
        store.create_bucket(name, owner="alice")
        store.put_object(name, "a", io.BytesIO(b"1"), size=1)
        store.put_object(name, "z/b", io.BytesIO(b"2"), size=1)
        assert [o.key for o in store.list_objects(name).objects] == ["a", "z/b"]
        page = store.list_objects(name, delimiter="/")
        assert ([o.key for o in page.objects], page.common_prefixes) == (["a"], ["z/"])
        dotted = store.list_objects(name, delimiter=".")
        assert (dotted.common_prefixes, len(dotted.objects)) == ([], 2)
        assert store.list_objects(name, prefix=".boxdrive/").objects == []
        for read in (store.head_object, store.get_object):
            with pytest.raises(NoSuchKey):
                read(name, record)
        with pytest.raises(NotSupported):
            store.put_object(name, record, io.BytesIO(b"{}"), size=2)
        with pytest.raises(NotSupported):
            store.copy_object(name, "a", name, record)
        with pytest.raises(NotSupported):
            store.create_multipart_upload(name, record)
        store.delete_object(name, record)  # a no-op: the record stays
        assert store.head_bucket(name).owner == "alice"
        store.delete_object(name, "a")
        with pytest.raises(BucketNotEmpty):
            store.delete_bucket(name)
        assert store.head_bucket(name).owner == "alice"
        store.delete_object(name, "z/b")
        store.delete_bucket(name)  # the record goes with the bucket
        with pytest.raises(NoSuchBucket):
            store.head_bucket(name)
    finally:
        with contextlib.suppress(NoSuchBucket, BucketNotEmpty):
            store.delete_bucket(name)
        store.close()


def test_one_to_one_bucket_made_outside_boxdrive_has_no_owner() -> None:
    """No record: owner None (only the operator may use it); creating it does not claim it."""
    store = s3_upstream.make_store(bucket=None)
    name = _direct_bucket("foreign")
    raw = s3_upstream.client(s3_upstream.upstream())
    raw.create_bucket(Bucket=name)
    try:
        assert store.head_bucket(name).owner is None
        with pytest.raises(BucketAlreadyExists) as caught:
            store.create_bucket(name, owner="mallory")
        assert caught.value.owner is None
        assert store.head_bucket(name).owner is None
        assert {b.name: b.owner for b in store.list_buckets()}[name] is None
    finally:
        raw.delete_bucket(Bucket=name)
        store.close()
