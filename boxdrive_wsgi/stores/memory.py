"""MemoryStore: everything in a dict, for tests and single-process use. Versions are
native: each key holds its versions and delete markers, newest first."""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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
    SourceAttributes,
    VersionIsDeleteMarker,
    VersionPage,
    WriteOptions,
    iter_chunks,
)
from .listing import paginate
from .model import ENABLED, NULL_VERSION, SUSPENDED, copy_attributes
from .versions import is_version_id, new_version_id, paginate_versions


@dataclass
class _Version:
    #: as stored: version_id "null" or an id (None only on the way out), is_latest unset.
    info: ObjectInfo
    data: bytes


@dataclass
class _Bucket:
    info: BucketInfo
    #: sorted keys whose latest version is an object (what list_objects lists).
    keys: list[str] = field(default_factory=list)
    #: sorted keys with any version or delete marker.
    all_keys: list[str] = field(default_factory=list)
    versions: dict[str, list[_Version]] = field(default_factory=dict)  # newest first
    configs: dict[str, bytes] = field(default_factory=dict)

    def view(self, version: _Version, latest: bool) -> ObjectInfo:
        """The version as callers see it (no version id on a never-versioned bucket)."""
        vid = None if self.info.versioning is None else version.info.version_id
        return replace(version.info, version_id=vid, is_latest=latest)

    def latest(self, key: str) -> ObjectInfo | None:
        """The latest version if it is an object (what conditional writes check)."""
        versions = self.versions.get(key)
        if not versions or versions[0].info.delete_marker:
            return None
        return self.view(versions[0], True)

    def store(self, key: str, versions: list[_Version]) -> None:
        """Replace the versions of ``key`` and keep both key lists in step."""
        if versions:
            self.versions[key] = versions
        else:
            self.versions.pop(key, None)
        _keep(self.all_keys, key, bool(versions))
        _keep(self.keys, key, bool(versions) and not versions[0].info.delete_marker)

    def add(self, key: str, version: _Version) -> None:
        """Make ``version`` the latest: it replaces the null version unless it has an id
        of its own, and replaces everything on a never-versioned bucket."""
        if self.info.versioning is None:
            self.store(key, [version])
            return
        older = self.versions.get(key, [])
        if version.info.version_id == NULL_VERSION:
            older = [v for v in older if v.info.version_id != NULL_VERSION]
        self.store(key, [version, *older])


def _keep(keys: list[str], key: str, present: bool) -> None:
    at = bisect.bisect_left(keys, key)
    there = at < len(keys) and keys[at] == key
    if present and not there:
        keys.insert(at, key)
    elif there and not present:
        del keys[at]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class MemoryStore(ObjectStore):
    capabilities = Capabilities(
        conditional_delete=True, bucket_config=True, shared=False, versioning=True
    )

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
            found = self._bucket(bucket)
            return replace(found.info, config_names=frozenset(found.configs))

    def delete_bucket(self, bucket: str) -> None:
        with self._lock:
            if self._bucket(bucket).all_keys:
                raise BucketNotEmpty(bucket)
            del self._buckets[bucket]

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in (ENABLED, SUSPENDED):
            raise ValueError(f"versioning status {status!r}")
        with self._lock:
            b = self._bucket(bucket)
            b.info = replace(b.info, versioning=status)

    def is_version_id(self, value: str) -> bool:
        return is_version_id(value)

    # ---- writes: each commits one new latest version under the lock

    def _commit(
        self, b: _Bucket, info: ObjectInfo, data: bytes, options: WriteOptions
    ) -> ObjectInfo:
        options.check(info.bucket, info.key, b.latest(info.key))
        vid = new_version_id() if b.info.versioning == ENABLED else NULL_VERSION
        version = _Version(replace(info, version_id=vid), data)
        b.add(info.key, version)
        return b.view(version, True)

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
            return self._commit(self._bucket(bucket), info, data, options)

    # ---- reads

    def _find(self, bucket: str, key: str, version_id: str | None) -> tuple[_Version, bool]:
        """The version a read names and whether it is the latest."""
        b = self._bucket(bucket)
        versions = b.versions.get(key, [])
        if version_id is None:
            if not versions:
                raise NoSuchKey(bucket, key)
            if versions[0].info.delete_marker:
                marker = b.view(versions[0], True)
                raise NoSuchKey(bucket, key, delete_marker=True, version_id=marker.version_id)
            return versions[0], True
        for at, version in enumerate(versions):
            if version.info.version_id == version_id:
                if version.info.delete_marker:
                    raise VersionIsDeleteMarker(bucket, key, version_id, version.info.last_modified)
                return version, at == 0
        if b.info.versioning is None and version_id == NULL_VERSION:
            raise NoSuchKey(bucket, key)
        raise NoSuchVersion(bucket, key, version_id)

    def _entry(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> tuple[ObjectInfo, bytes]:
        with self._lock:
            version, latest = self._find(bucket, key, version_id)
            return self._bucket(bucket).view(version, latest), version.data

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        info, data = self._entry(bucket, key, version_id)
        span = byte_range.resolve(info.size) if byte_range else None
        start, stop = span or (0, info.size)
        view = memoryview(data)
        chunks = (
            bytes(view[i : min(i + CHUNK_SIZE, stop)]) for i in range(start, stop, CHUNK_SIZE)
        )
        return ObjectBody(info, chunks, content_range=span)

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        return self._entry(bucket, key, version_id)[0]

    # ---- deletes

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        with self._lock:
            b = self._bucket(bucket)
            if version_id is not None:
                return self._remove_version(b, key, version_id, guard)
            return self._delete_latest(b, key, guard, owner)

    def _remove_version(
        self, b: _Bucket, key: str, version_id: str, guard: DeleteGuard | None
    ) -> DeleteResult:
        if not is_version_id(version_id):
            raise NoSuchVersion(b.info.name, key, version_id)
        versions = b.versions.get(key, [])
        shown = None if b.info.versioning is None else version_id
        for at, version in enumerate(versions):
            if version.info.version_id == version_id:
                if guard is not None:
                    guard(b.view(version, at == 0))
                b.store(key, versions[:at] + versions[at + 1 :])
                return DeleteResult(shown, version.info.delete_marker)
        return DeleteResult(shown, False)

    def _delete_latest(
        self, b: _Bucket, key: str, guard: DeleteGuard | None, owner: str | None
    ) -> DeleteResult:
        versions = b.versions.get(key, [])
        status = b.info.versioning
        if status is None:
            if versions and guard is not None:
                guard(b.view(versions[0], True))
            b.store(key, [])
            return DeleteResult()
        if status == SUSPENDED:
            for at, version in enumerate(versions):
                if version.info.version_id == NULL_VERSION and guard is not None:
                    guard(b.view(version, at == 0))
        vid = new_version_id() if status == ENABLED else NULL_VERSION
        marker = ObjectInfo(
            bucket=b.info.name,
            key=key,
            size=0,
            etag="",
            last_modified=now(),
            attributes=ObjectAttributes(owner=owner),
            version_id=vid,
            delete_marker=True,
        )
        b.add(key, _Version(marker, b""))
        return DeleteResult(vid, True)

    def delete_object_if(
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        with self._lock:
            b = self._bucket(bucket)
            if condition.allows(bucket, key, b.latest(key)):
                return self._delete_latest(b, key, None, owner)
            return DeleteResult()

    # ---- listings

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
                    yield b.view(b.versions[b.keys[i]][0], True)
                    i += 1

            return paginate(
                seek,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
            )

    def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        with self._lock:
            b = self._bucket(bucket)

            def listed(version: _Version, latest: bool) -> ObjectInfo:
                return replace(version.info, is_latest=latest)

            def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
                find = bisect.bisect_left if inclusive else bisect.bisect_right
                i = find(b.all_keys, lower)
                while i < len(b.all_keys):
                    for at, version in enumerate(b.versions[b.all_keys[i]]):
                        yield listed(version, at == 0)
                    i += 1

            def after(key: str, version_id: str) -> Iterator[ObjectInfo]:
                versions = b.versions.get(key, [])
                ids = [v.info.version_id for v in versions]
                if version_id in ids:
                    start = ids.index(version_id) + 1
                    for at in range(start, len(versions)):
                        yield listed(versions[at], at == 0)

            return paginate_versions(
                seek,
                after,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                version_id_marker=version_id_marker,
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
        source_version_id: str | None = None,
    ) -> ObjectInfo:
        with self._lock:
            source, data = self._entry(src_bucket, src_key, source_version_id)
            target = self._bucket(dst_bucket)
            new = copy_attributes(attributes, source)
            info = ObjectInfo(
                bucket=dst_bucket,
                key=dst_key,
                size=source.size,
                etag=source.etag,
                last_modified=now(),
                attributes=new.copy(),
            )
            return self._commit(target, info, data, options)

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        with self._lock:
            version, latest = self._find(bucket, key, version_id)
            version.info = replace(version.info, attributes=update.apply(version.info.attributes))
            return self._bucket(bucket).view(version, latest)

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
