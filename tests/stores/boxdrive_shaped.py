"""A store shaped like BoxDrive's (cospectrum/boxdrive) ``ObjectStore``, quirks included.

Not a dependency on BoxDrive: the same method names, signatures, result shapes and
exception class names as BoxDrive's ``InMemoryStore``, written here so that the
``boxdrive-adapter`` entry of the contract suite exercises ``BoxDriveShim`` against what
a BoxDrive user would hand us. Faithful quirks: ``put_object`` creates a missing bucket,
``delete_bucket`` deletes a non-empty bucket, exceptions carry no arguments, listing
truncates before rolling up, there is no ``head_bucket``, and every object is bytes.
With ``dates_of_now=True`` it also reports "now" as every bucket's creation date, as
BoxDrive's GitlabStore does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_CONTENT_TYPE = "application/octet-stream"


class NoSuchBucket(Exception):
    pass


class NoSuchKey(Exception):
    pass


class BucketAlreadyExists(Exception):
    pass


@dataclass
class BucketInfo:
    name: str
    creation_date: datetime


@dataclass
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime
    etag: str
    content_type: str


@dataclass
class Object:
    data: bytes
    info: ObjectInfo


@dataclass
class ListObjectsInfo:
    objects: list[ObjectInfo]
    is_truncated: bool
    common_prefixes: list[str] = field(default_factory=list)
    next_marker: str = ""


@dataclass
class ListObjectsV2Info:
    objects: list[ObjectInfo]
    is_truncated: bool
    common_prefixes: list[str] = field(default_factory=list)


@dataclass
class _Bucket:
    info: BucketInfo
    objects: dict[str, Object]


def _split(
    objects: list[ObjectInfo], prefix: str | None, delimiter: str | None
) -> tuple[list[ObjectInfo], list[str]]:
    if not delimiter:
        return objects, []
    plen = len(prefix or "")
    contents: list[ObjectInfo] = []
    prefixes: set[str] = set()
    for obj in objects:
        rest = obj.key[plen:]
        if delimiter in rest:
            prefixes.add(obj.key[: plen + rest.index(delimiter) + len(delimiter)])
        else:
            contents.append(obj)
    return contents, sorted(prefixes)


def _filter(
    objects: list[ObjectInfo], prefix: str | None, after: str | None, max_keys: int
) -> tuple[list[ObjectInfo], bool]:
    if prefix:
        objects = [o for o in objects if o.key.startswith(prefix)]
    objects = sorted(objects, key=lambda o: o.key)
    if after:
        objects = [o for o in objects if o.key > after]
    return objects[:max_keys], len(objects) > max_keys


class BoxDriveShapedStore:
    """BoxDrive's in-memory store, as its users know it."""

    def __init__(
        self, *, dates_of_now: bool = False, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.buckets: dict[str, _Bucket] = {}
        self.dates_of_now = dates_of_now
        self.clock = clock or (lambda: datetime.now(UTC))

    async def list_buckets(self) -> list[BucketInfo]:
        if self.dates_of_now:
            return [BucketInfo(b.info.name, self.clock()) for b in self.buckets.values()]
        return [b.info for b in self.buckets.values()]

    async def create_bucket(self, bucket_name: str) -> None:
        await asyncio.sleep(0)
        bucket = _Bucket(BucketInfo(bucket_name, datetime.now(UTC)), {})
        if self.buckets.setdefault(bucket_name, bucket) is not bucket:
            raise BucketAlreadyExists

    async def delete_bucket(self, bucket_name: str) -> None:
        try:
            del self.buckets[bucket_name]
        except KeyError:
            raise NoSuchBucket from None

    async def list_objects(
        self,
        bucket_name: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int = 1000,
        marker: str | None = None,
        encoding_type: str | None = None,
    ) -> ListObjectsInfo:
        bucket = self.buckets.get(bucket_name)
        if bucket is None:
            raise NoSuchBucket
        infos = [o.info for o in bucket.objects.values()]
        objects, truncated = _filter(infos, prefix, marker, max_keys)
        contents, prefixes = _split(objects, prefix, delimiter)
        next_marker = ""
        if truncated:
            next_marker = prefixes[-1] if prefixes else contents[-1].key if contents else ""
        return ListObjectsInfo(contents, truncated, prefixes, next_marker)

    async def list_objects_v2(
        self,
        bucket_name: str,
        *,
        continuation_token: str | None = None,
        delimiter: str | None = None,
        encoding_type: str | None = None,
        max_keys: int = 1000,
        prefix: str | None = None,
        start_after: str | None = None,
    ) -> ListObjectsV2Info:
        bucket = self.buckets.get(bucket_name)
        if bucket is None:
            raise NoSuchBucket
        infos = [o.info for o in bucket.objects.values()]
        objects, truncated = _filter(infos, prefix, continuation_token or start_after, max_keys)
        contents, prefixes = _split(objects, prefix, delimiter)
        return ListObjectsV2Info(contents, truncated, prefixes)

    async def get_object(self, bucket_name: str, key: str) -> Object:
        bucket = self.buckets.get(bucket_name)
        if bucket is None:
            raise NoSuchBucket
        obj = bucket.objects.get(key)
        if obj is None:
            raise NoSuchKey
        return obj

    async def put_object(
        self, bucket_name: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        if bucket_name not in self.buckets:
            await self.create_bucket(bucket_name)
        info = ObjectInfo(
            key=key,
            size=len(data),
            last_modified=datetime.now(UTC),
            etag=hashlib.md5(data).hexdigest(),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
        )
        bucket = self.buckets.get(bucket_name)
        if bucket is not None:
            bucket.objects[key] = Object(data, info)
        return info

    async def delete_object(self, bucket_name: str, key: str) -> None:
        bucket = self.buckets.get(bucket_name)
        if bucket is None:
            raise NoSuchBucket
        bucket.objects.pop(key, None)

    async def head_object(self, bucket_name: str, key: str) -> ObjectInfo:
        return (await self.get_object(bucket_name, key)).info


def make_adapter_store() -> object:
    """A server's store (``BOXDRIVE_STORE=tests.stores.boxdrive_shaped:make_adapter_store``):
    our adapter over a fresh BoxDrive-shaped store, as a BoxDrive user would run it."""
    from boxdrive_wsgi.stores.aio import BoxDriveStoreAdapter

    return BoxDriveStoreAdapter(BoxDriveShapedStore())
