"""FilesystemStore: object bytes in content files, the key index and metadata in SQLite.

Layout under ``root``::

    index.sqlite3       buckets and objects (WAL mode)
    objects/ab/<id>     the content of one object version, named by a random id
    tmp/<id>.part       uploads in progress
    parts/<upload>.<n>.*  multipart parts (multipart)
    reserve             space kept back for deletes on a full disk (space)

Keys are never file names, so every S3 key works (``a`` next to ``a/b``, ``..``,
``//``, 1024-byte keys, any UTF-8); the index (``index``) keeps them in S3's order.
This module is the store's face; the index, the content files (``content``), copies
(``copy``), multipart (``multipart``), free space (``space``) and fsck (``fsck``) are
its parts, none of which imports this one.

A body of at most ``INLINE_MAX`` bytes (its size known up front) is kept in its index
row instead (``index``): its put is the commit alone, and its one WAL fsync makes the
body durable with the row. A larger put streams the body to tmp/, fsyncs it, renames it
into objects/ and then commits
the index row in one ``BEGIN IMMEDIATE`` transaction that also checks the conditional
write, so check and commit are atomic across threads and processes. Content files are
immutable; replacing or deleting an object unlinks the old file only after the commit,
and a reader that already has it open keeps reading it. After a crash the leftovers are
temp files and unreferenced content files, never a partial object; ``find_orphans``
lists them for fsck.

Durability: the content file and its directory are fsynced before the commit, and
the index (with any inline body) commits with ``synchronous=FULL``, so a put that
returned survives power loss.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from ..base import DeleteGuard, ObjectStore
from ..capabilities import Capabilities
from ..errors import BucketAlreadyExists, BucketNotEmpty, NoSuchBucket, StoreError
from ..listing import paginate
from ..model import (
    ENABLED,
    OVERWRITE,
    SUSPENDED,
    AttributeUpdate,
    BucketInfo,
    ByteRange,
    DeleteCondition,
    DeleteResult,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    SourceAttributes,
    VersionPage,
    WriteOptions,
)
from ..multipart.backend import MultipartBackend
from ..multipart.records import encode_key, successor
from ..streams import Readable
from ..versions import is_version_id, paginate_versions
from . import versions
from .commit import commit_write, precheck
from .content import ContentFiles, read_inline, read_span
from .copy import OPEN_ATTEMPTS, Copier
from .index import DB_NAME, INLINE_MAX, Index, Stored, info_from_row
from .multipart import FilesystemMultipart
from .space import DEFAULT_MIN_FREE, DEFAULT_RESERVE, SpaceGuard

__all__ = ["DB_NAME", "FilesystemStore"]

#: Largest batch a listing seek fetches in one query: S3's 1000 keys and one more to
#: tell whether the page is truncated.
MAX_BATCH = 1001


class FilesystemStore(ObjectStore):
    """The embedded default store; see the module docstring for layout and guarantees.

    Safe for many threads (a small pool of SQLite connections) and for several
    processes sharing ``root`` (SQLite locking, immutable content files).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        min_free_space: int = DEFAULT_MIN_FREE,
        space_reserve: int = DEFAULT_RESERVE,
        inline_max: int = INLINE_MAX,
    ) -> None:
        """``min_free_space``: writes are refused below it; ``space_reserve``: bytes
        kept back for deletes on a full disk (see ``space``); ``inline_max``: bodies of
        at most this many bytes go into the index row, not a file (negative: none)."""
        self.inline_max = inline_max
        # Absolute, so ObjectBody.path stays valid if the working directory changes.
        self.root = os.path.abspath(os.fspath(root))
        self.capabilities = Capabilities(
            conditional_delete=True,
            native_multipart=True,
            file_root=self.root,
            bucket_config=True,
            versioning=True,
        )
        self.content = ContentFiles(self.root)
        self.index = Index(self.root)
        self.space = SpaceGuard(self.root, min_free=min_free_space, reserve=space_reserve)
        self.space.keep_reserve()
        self._copier = Copier(self.index, self.content)
        self.multipart = FilesystemMultipart(
            self.root, self.index, self.content, self.space, lambda: self.multipart_min_part_size
        )

    def close(self) -> None:
        self.index.close()

    # ---- buckets

    def list_buckets(self) -> list[BucketInfo]:
        with self.index.transaction() as conn:
            rows = conn.execute(
                "SELECT name, created, owner, versioning FROM buckets ORDER BY name"
            )
            return [BucketInfo(n, datetime.fromtimestamp(c, UTC), o, v) for n, c, o, v in rows]

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        with self.index.transaction("IMMEDIATE") as conn:
            row = conn.execute("SELECT owner FROM buckets WHERE name = ?", (bucket,)).fetchone()
            if row is not None:
                raise BucketAlreadyExists(bucket, row[0])
            created = int(time.time())
            conn.execute(
                "INSERT INTO buckets (name, created, owner) VALUES (?, ?, ?)",
                (bucket, created, owner),
            )
        return BucketInfo(bucket, datetime.fromtimestamp(created, UTC), owner)

    def head_bucket(self, bucket: str) -> BucketInfo:
        # One SELECT is a read snapshot of its own: no BEGIN/COMMIT round trips.
        with self.index.connection() as conn:
            row = conn.execute(
                "SELECT created, owner, versioning, (SELECT group_concat(c.name, char(31))"
                " FROM bucket_configs c WHERE c.bucket_id = buckets.id)"
                " FROM buckets WHERE name = ?",
                (bucket,),
            ).fetchone()
        if row is None:
            raise NoSuchBucket(bucket)
        names = frozenset(row[3].split("\x1f")) if row[3] else frozenset()
        return BucketInfo(bucket, datetime.fromtimestamp(row[0], UTC), row[1], row[2], names)

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in (ENABLED, SUSPENDED):
            raise ValueError(f"versioning status {status!r}")
        with self.index.transaction("IMMEDIATE") as conn:
            changed = conn.execute(
                "UPDATE buckets SET versioning = ? WHERE name = ?", (status, bucket)
            ).rowcount
        if not changed:
            raise NoSuchBucket(bucket)

    def is_version_id(self, value: str) -> bool:
        return is_version_id(value)

    def delete_bucket(self, bucket: str) -> None:
        self.space.freeing(lambda: self._delete_bucket(bucket))

    def _delete_bucket(self, bucket: str) -> None:
        # One write transaction: a put committing concurrently either lands first (and
        # we raise BucketNotEmpty) or finds the bucket gone (and raises NoSuchBucket).
        with self.index.transaction("IMMEDIATE") as conn:
            bucket_id = self.index.bucket_id(conn, bucket)
            if versions.has_versions(conn, bucket_id):
                raise BucketNotEmpty(bucket)
            conn.execute("DELETE FROM buckets WHERE id = ?", (bucket_id,))
            conn.execute("DELETE FROM bucket_configs WHERE bucket_id = ?", (bucket_id,))
            # Bucket ids are reused: uploads in progress go with their bucket.
            parts = self.multipart.drop_bucket(conn, bucket_id)
        self.multipart.remove_parts(parts)

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
        self.space.check_write(size)
        with self.space.translated():
            return self._put_object(bucket, key, body, size, attributes, options, etag)

    def _put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        size: int | None,
        attributes: ObjectAttributes | None,
        options: WriteOptions,
        etag: str | None,
    ) -> ObjectInfo:
        precheck(self.index, bucket, key, options, size)
        inline: bytes | None = None
        if size is not None and size <= self.inline_max:
            file_id = ""
            inline, md5 = read_inline(body, size)
            written = size
        else:
            file_id = uuid.uuid4().hex
            written, md5 = self.content.write(file_id, body, size)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=written,
            etag=etag or md5,
            last_modified=datetime.fromtimestamp(int(time.time()), UTC),
            # Only now, after EOF: checksums sent as trailers are known only then.
            attributes=(attributes or ObjectAttributes()).copy(),
        )
        return commit_write(self.index, self.content, info, file_id, options, inline=inline)

    def _lookup(self, bucket: str, key: str, version_id: str | None = None) -> Stored:
        index = self.index
        if version_id is None:  # the common read: the latest version, an object
            with index.connection() as conn:
                _, current = index.bucket_and_current(conn, bucket, key)
            if current is not None:
                return current
        with index.transaction() as conn:
            bucket_id, status = index.bucket(conn, bucket)
            return versions.lookup(conn, bucket_id, bucket, key, version_id, status is not None)

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        missing: str | None = None
        for _ in range(OPEN_ATTEMPTS):
            info, file_id, inline = self._lookup(bucket, key, version_id)
            span = byte_range.resolve(info.size) if byte_range else None
            if inline is not None:  # in the row, read in the lookup's snapshot
                start, stop = span or (0, info.size)
                return ObjectBody(info, [inline[start:stop]], content_range=span)
            if file_id == missing:
                raise StoreError(f"{bucket}/{key}: content file {file_id} is missing")
            try:
                f = self.content.open(file_id)
            except FileNotFoundError:
                # A writer replaced or deleted the object between our lookup and the
                # open and unlinked the file the row named: look the key up again.
                missing = file_id
                continue
            # The open file is ours now: later overwrites and deletes cannot touch it.
            start, stop = span or (0, info.size)
            return ObjectBody(
                info,
                read_span(f, start, stop),
                content_range=span,
                on_close=f.close,
                path=self.content.path(file_id),
                file=f,
            )
        raise StoreError(f"{bucket}/{key}: replaced too often to open")

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        return self._lookup(bucket, key, version_id)[0]

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        return self.space.freeing(
            lambda: self._delete_object(bucket, key, version_id, guard, owner)
        )

    def _delete_object(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        guard: DeleteGuard | None,
        owner: str | None,
        condition: DeleteCondition | None = None,
    ) -> DeleteResult:
        # The check (guard, condition) and the delete share one write transaction:
        # atomic across threads and processes.
        index = self.index
        with index.transaction("IMMEDIATE") as conn:
            bucket_id, status = index.bucket(conn, bucket)
            if condition is not None:
                current = index.current(conn, bucket_id, bucket, key)
                if not condition.allows(bucket, key, current[0] if current else None):
                    return DeleteResult()
            if version_id is None:
                result, removed = versions.delete_latest(
                    conn, bucket_id, status, bucket, key, guard=guard, owner=owner
                )
            else:
                result, removed = versions.delete_version(
                    conn, bucket_id, status, bucket, key, version_id, guard=guard
                )
        for file in removed:
            self.content.remove(file)
        return result

    def delete_object_if(
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        return self.space.freeing(
            lambda: self._delete_object(bucket, key, None, None, owner, condition)
        )

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        # One read transaction: the page is a consistent snapshot.
        index = self.index
        with index.transaction() as conn:
            bucket_id, status = index.bucket(conn, bucket)
            versioned = status is not None
            upper = successor(encode_key(prefix)) if prefix else None
            parsed: dict[str, ObjectAttributes] = {}  # this page's rows share them

            def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
                bound, op = encode_key(lower), ">=" if inclusive else ">"
                # Without a delimiter there is one seek and it needs max_keys + 1 rows.
                # With one, paginate seeks again past every common prefix and often
                # needs a single row from each seek, so batches start at 1 and double.
                batch = 1 if delimiter else min(max_keys + 1, MAX_BATCH)
                while True:
                    rows = index.fetch(conn, bucket_id, bound, op, upper, batch)
                    for row in rows:
                        yield info_from_row(bucket, row, versioned, parsed=parsed)
                    if len(rows) < batch:
                        return
                    bound, op = bytes(rows[-1][0]), ">"
                    batch = min(batch * 2, MAX_BATCH)

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
        # One read transaction (a consistent snapshot); indexed range queries over both
        # version tables, merged: O(max_keys) at any number of versions.
        index = self.index
        with index.transaction() as conn:
            bucket_id = index.bucket_id(conn, bucket)
            upper = successor(encode_key(prefix)) if prefix else None

            def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
                op = ">=" if inclusive else ">"
                return versions.seek_versions(conn, bucket_id, bucket, encode_key(lower), op, upper)

            def after(key: str, version_id: str) -> Iterator[ObjectInfo]:
                return versions.versions_after(conn, bucket_id, bucket, key, version_id)

            return paginate_versions(
                seek,
                after,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                version_id_marker=version_id_marker,
                max_keys=max_keys,
            )

    def storage_full(self) -> bool:
        return self.space.storage_full()

    def multipart_backend(self) -> MultipartBackend:
        """Native multipart: parts under ``parts/``, upload state in the index."""
        return self.multipart

    # ---- copies, attribute updates and bucket configuration

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
        return self._copier.copy(
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            attributes=attributes,
            options=options,
            source_version_id=source_version_id,
        )

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        return self._copier.update_attributes(bucket, key, update.apply, version_id)

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        return self.index.get_config(bucket, name)

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        self.index.put_config(bucket, name, value)

    # ---- maintenance

    def bucket_stats(self) -> list[tuple[str, int, int]]:
        """(bucket, objects, bytes) for every bucket, by name, from the index alone."""
        with self.index.transaction() as conn:
            rows = conn.execute(
                "SELECT b.name, count(o.key), coalesce(sum(o.size), 0) FROM buckets b"
                " LEFT JOIN objects o ON o.bucket_id = b.id GROUP BY b.id ORDER BY b.name"
            ).fetchall()
        return [(str(name), int(count), int(size)) for name, count, size in rows]

    def find_orphans(self, older_than: float = 3600.0) -> list[str]:
        """Paths fsck may delete: temp files not written to for ``older_than`` seconds
        (uploads killed midway) and content files no object references.

        Content files get the same age threshold because a put renames its file into
        place before its commit, which can wait up to BUSY_TIMEOUT for the write lock;
        ``older_than`` must stay well above that.
        """
        cutoff = time.time() - older_than
        found = [p for p in self._files(self.content.tmp_dir) if self._mtime(p) <= cutoff]
        with self.index.connection() as conn:  # no transaction: don't pin the WAL for a walk
            for sub in sorted(os.listdir(self.content.objects_dir)):
                for path in self._files(os.path.join(self.content.objects_dir, sub)):
                    if self._mtime(path) > cutoff:
                        continue
                    if not self.index.referenced(conn, os.path.basename(path)):
                        found.append(path)
        return found

    @staticmethod
    def _files(directory: str) -> list[str]:
        try:
            with os.scandir(directory) as entries:
                return sorted(e.path for e in entries if e.is_file(follow_symlinks=False))
        except NotADirectoryError:
            return []

    @staticmethod
    def _mtime(path: str) -> float:
        try:
            return os.stat(path).st_mtime
        except FileNotFoundError:  # removed meanwhile: not ours to report
            return float("inf")
