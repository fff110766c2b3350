"""MemoryStore: everything in a dict, for tests and single-process use."""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from .base import (
    CHUNK_SIZE,
    OVERWRITE,
    AttributeUpdate,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    Capabilities,
    DeleteCondition,
    NoSuchBucket,
    NoSuchKey,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    Readable,
    SourceAttributes,
    WriteOptions,
    iter_chunks,
)
from .listing import paginate


@dataclass
class _Bucket:
    info: BucketInfo
    keys: list[str] = field(default_factory=list)  # sorted
    objects: dict[str, tuple[ObjectInfo, bytes]] = field(default_factory=dict)
    configs: dict[str, bytes] = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class MemoryStore(ObjectStore):
    capabilities = Capabilities(conditional_delete=True, bucket_config=True, shared=False)

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.RLock()

    def _bucket(self, bucket: str) -> _Bucket:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise NoSuchBucket(bucket) from None

    def list_buckets(self) -> list[BucketInfo]:
        with self._lock:
            return sorted((b.info for b in self._buckets.values()), key=lambda b: b.name)

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        with self._lock:
            if bucket in self._buckets:
                raise BucketAlreadyExists(bucket, self._buckets[bucket].info.owner)
            info = BucketInfo(name=bucket, created=now(), owner=owner)
            self._buckets[bucket] = _Bucket(info)
            return info

    def head_bucket(self, bucket: str) -> BucketInfo:
        with self._lock:
            return self._bucket(bucket).info

    def delete_bucket(self, bucket: str) -> None:
        with self._lock:
            if self._bucket(bucket).keys:
                raise BucketNotEmpty(bucket)
            del self._buckets[bucket]

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        *,
        size: int | None = None,
        attributes: ObjectAttributes | None = None,
        options: WriteOptions = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        with self._lock:
            self._bucket(bucket)
        md5 = hashlib.md5()
        parts: list[bytes] = []
        for chunk in iter_chunks(body, size):
            md5.update(chunk)
            parts.append(chunk)
        data = b"".join(parts)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag or md5.hexdigest(),
            last_modified=now(),
            attributes=(attributes or ObjectAttributes()).copy(),
        )
        with self._lock:
            b = self._bucket(bucket)
            current = b.objects.get(key)
            options.check(bucket, key, current[0] if current else None)
            if current is None:
                bisect.insort(b.keys, key)
            b.objects[key] = (info, data)
        return info

    def _entry(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        with self._lock:
            try:
                return self._bucket(bucket).objects[key]
            except KeyError:
                raise NoSuchKey(bucket, key) from None

    def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> ObjectBody:
        info, data = self._entry(bucket, key)
        span = byte_range.resolve(info.size) if byte_range else None
        start, stop = span or (0, info.size)
        view = memoryview(data)
        chunks = (
            bytes(view[i : min(i + CHUNK_SIZE, stop)]) for i in range(start, stop, CHUNK_SIZE)
        )
        return ObjectBody(info, chunks, content_range=span)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        return self._entry(bucket, key)[0]

    def delete_object(self, bucket: str, key: str) -> None:
        with self._lock:
            b = self._bucket(bucket)
            if b.objects.pop(key, None) is not None:
                b.keys.pop(bisect.bisect_left(b.keys, key))

    def delete_object_if(self, bucket: str, key: str, condition: DeleteCondition) -> None:
        with self._lock:
            b = self._bucket(bucket)
            current = b.objects.get(key)
            if condition.allows(bucket, key, current[0] if current else None):
                del b.objects[key]
                b.keys.pop(bisect.bisect_left(b.keys, key))

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        with self._lock:
            b = self._bucket(bucket)

            def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
                find = bisect.bisect_left if inclusive else bisect.bisect_right
                i = find(b.keys, lower)
                while i < len(b.keys):
                    yield b.objects[b.keys[i]][0]
                    i += 1

            return paginate(
                seek,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
            )

    # ---- copies, tags, bucket configuration: bytes are immutable, so a copy shares them

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None = None,
        options: WriteOptions = OVERWRITE,
    ) -> ObjectInfo:
        with self._lock:
            source, data = self._entry(src_bucket, src_key)
            target = self._bucket(dst_bucket)
            if attributes is None:
                new = source.attributes
            elif callable(attributes):
                new = attributes(source)
            else:
                new = attributes
            current = target.objects.get(dst_key)
            options.check(dst_bucket, dst_key, current[0] if current else None)
            info = ObjectInfo(
                bucket=dst_bucket,
                key=dst_key,
                size=source.size,
                etag=source.etag,
                last_modified=now(),
                attributes=new.copy(),
            )
            if current is None:
                bisect.insort(target.keys, dst_key)
            target.objects[dst_key] = (info, data)
            return info

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate
    ) -> ObjectInfo:
        with self._lock:
            info, data = self._entry(bucket, key)
            new = update.apply(info.attributes)
            tagged = ObjectInfo(
                info.bucket, info.key, info.size, info.etag, info.last_modified, new
            )
            self._bucket(bucket).objects[key] = (tagged, data)
            return tagged

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        with self._lock:
            return self._bucket(bucket).configs.get(name)

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        with self._lock:
            configs = self._bucket(bucket).configs
            if value is None:
                configs.pop(name, None)
            else:
                configs[name] = bytes(value)
