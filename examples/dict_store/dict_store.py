"""DictStore: an out-of-tree ObjectStore in one dict, written against the public API only.

It shows what a store must do itself and what it gets from ``ObjectStore``: multipart
uploads (the staged default), copies, tags and ACL updates (the defaults stream through
``put_object``) come for free. It keeps the default ``delete_object_if`` (NotSupported,
answered 501), a gap its tests declare. Listing sorts the keys on every call: simple, but
O(bucket) per page where the contract asks O(page) of a store meant for many keys.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from boxdrive_wsgi.stores import (
    CHUNK_SIZE,
    OVERWRITE,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    Capabilities,
    DeleteGuard,
    DeleteResult,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    Readable,
    WriteOptions,
    iter_chunks,
    paginate,
)

Entry = tuple[ObjectInfo, bytes]


def _null_only(bucket: str, key: str, version_id: str | None) -> None:
    if version_id is not None and version_id != "null":
        raise NoSuchVersion(bucket, key, version_id)


class DictStore(ObjectStore):
    # Keeps bucket configuration (CORS, tags, ACLs); lives in one process only.
    capabilities = Capabilities(bucket_config=True, shared=False)

    def __init__(self) -> None:
        self._buckets: dict[str, BucketInfo] = {}
        self._objects: dict[str, dict[str, Entry]] = {}
        self._configs: dict[str, dict[str, bytes]] = {}
        # One lock around every check-and-change: conditional writes must be atomic.
        self._lock = threading.Lock()

    def _keys(self, bucket: str) -> dict[str, Entry]:
        try:
            return self._objects[bucket]
        except KeyError:
            raise NoSuchBucket(bucket) from None

    # ---- buckets

    def list_buckets(self) -> list[BucketInfo]:
        with self._lock:
            return sorted(self._buckets.values(), key=lambda b: b.name)

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        with self._lock:
            if bucket in self._buckets:
                raise BucketAlreadyExists(bucket, self._buckets[bucket].owner)
            info = BucketInfo(name=bucket, created=_now(), owner=owner)
            self._buckets[bucket], self._objects[bucket], self._configs[bucket] = info, {}, {}
            return info

    def head_bucket(self, bucket: str) -> BucketInfo:
        with self._lock:
            self._keys(bucket)
            return self._buckets[bucket]

    def delete_bucket(self, bucket: str) -> None:
        with self._lock:
            if self._keys(bucket):
                raise BucketNotEmpty(bucket)
            del self._buckets[bucket], self._objects[bucket], self._configs[bucket]

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        with self._lock:
            self._keys(bucket)
            return self._configs[bucket].get(name)

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        with self._lock:
            self._keys(bucket)
            if value is None:
                self._configs[bucket].pop(name, None)
            else:
                self._configs[bucket][name] = bytes(value)

    # ---- objects

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
        self.head_bucket(bucket)  # fail before reading a body for a missing bucket
        md5, chunks = hashlib.md5(), []
        for chunk in iter_chunks(body, size):  # streamed; IncompleteBody if short
            md5.update(chunk)
            chunks.append(chunk)
        data = b"".join(chunks)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag or md5.hexdigest(),
            last_modified=_now(),
            # Read only now, after EOF: checksums sent as trailers are known only then.
            attributes=(attributes or ObjectAttributes()).copy(),
        )
        with self._lock:
            keys = self._keys(bucket)
            current = keys.get(key)
            options.check(bucket, key, current[0] if current else None)
            keys[key] = (info, data)
        return info

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        # Without versions, only the null version exists ("null", or none named).
        _null_only(bucket, key, version_id)
        info, data = self._entry(bucket, key)
        span = byte_range.resolve(info.size) if byte_range else None
        start, stop = span or (0, info.size)
        # ``data`` is immutable bytes: an overwrite meanwhile does not change this read.
        chunks = (data[i : min(i + CHUNK_SIZE, stop)] for i in range(start, stop, CHUNK_SIZE))
        return ObjectBody(info, chunks, content_range=span)

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        _null_only(bucket, key, version_id)
        return self._entry(bucket, key)[0]

    def _entry(self, bucket: str, key: str) -> Entry:
        with self._lock:
            try:
                return self._keys(bucket)[key]
            except KeyError:
                raise NoSuchKey(bucket, key) from None

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        _null_only(bucket, key, version_id)
        with self._lock:
            keys = self._keys(bucket)
            if guard is not None and key in keys:
                guard(keys[key][0])  # may refuse (object lock): then nothing changes
            keys.pop(key, None)
        return DeleteResult()

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
            entries = dict(self._keys(bucket))
        names = sorted(entries, key=str.encode)  # S3 lists in UTF-8 byte order
        encoded = [name.encode() for name in names]

        def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
            find = bisect.bisect_left if inclusive else bisect.bisect_right
            for name in names[find(encoded, lower.encode()) :]:
                yield entries[name][0]

        return paginate(
            seek, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
