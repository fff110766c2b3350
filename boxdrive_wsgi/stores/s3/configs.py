"""S3Store's bucket configuration documents (prefix layout only): one upstream object
each, at ``Layout.config_key`` (``<prefix>.config/<bucket>/<name>``). In 1:1 a bucket's
configuration would be upstream's own subresources, which we do not map: NotSupported.

A bucket's lookup names the slots holding a document (``BucketInfo.config_names``) by
one listing of its configuration prefix, made only when the HTTP layer first asks
(``LazyBucketInfo``): a request then reads only the slots that exist, instead of one
upstream GET (and the bucket check before it) for each slot it might need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base import NoSuchKey, NotSupported
from .support import map_error

if TYPE_CHECKING:
    from .store import S3Store


def _upstream(store: S3Store, name: str) -> str:
    if not store.upstream_bucket:
        raise NotSupported(f"bucket configuration {name!r} in 1:1 mode")
    return store.upstream_bucket


def get(store: S3Store, bucket: str, name: str) -> bytes | None:
    upstream = _upstream(store, name)
    store.head_bucket(bucket)
    try:
        response = store.client.get_object(
            Bucket=upstream, Key=store.layout.config_key(bucket, name)
        )
    except Exception as exc:
        if isinstance(map_error(exc, bucket), NoSuchKey):
            return None
        raise map_error(exc, bucket) from exc
    data: bytes = response["Body"].read()
    return data


def put(store: S3Store, bucket: str, name: str, value: bytes | None) -> None:
    upstream = _upstream(store, name)
    store.head_bucket(bucket)
    key = store.layout.config_key(bucket, name)
    try:
        if value is None:
            store.client.delete_object(Bucket=upstream, Key=key)
        else:
            store.client.put_object(Bucket=upstream, Key=key, Body=bytes(value))
    except Exception as exc:
        raise map_error(exc, bucket) from exc


def names(store: S3Store, bucket: str) -> frozenset[str] | None:
    """The slots of ``bucket`` holding a document, by one listing (None: more than one
    upstream page, too many to tell at that price)."""
    start = store.layout.config_key(bucket)
    try:
        page = store.client.list_objects_v2(Bucket=store.upstream_bucket, Prefix=start)
    except Exception as exc:
        raise map_error(exc, bucket) from exc
    if page.get("IsTruncated"):
        return None
    return frozenset(item["Key"][len(start) :] for item in page.get("Contents", []))


def delete_all(store: S3Store, bucket: str) -> None:
    """Remove every document of a bucket being deleted (upstream errors propagate raw)."""
    for page in store.client.get_paginator("list_objects_v2").paginate(
        Bucket=store.upstream_bucket, Prefix=store.layout.config_key(bucket)
    ):
        for item in page.get("Contents", []):
            store.client.delete_object(Bucket=store.upstream_bucket, Key=item["Key"])
