"""S3Store beyond the contract: 1:1 mapping, objects written upstream by others, settings."""

from __future__ import annotations

import io
import uuid

import pytest

from boxdrive_wsgi.settings import Settings
from boxdrive_wsgi.stores.base import BucketAlreadyExists, ByteRange, NoSuchBucket, NotSupported
from boxdrive_wsgi.stores.factory import store_from_settings
from boxdrive_wsgi.stores.s3 import S3Store

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
