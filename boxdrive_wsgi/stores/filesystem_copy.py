"""FilesystemStore's copies, tag updates and bucket configuration slots.

A copy is a hard link. Content files are immutable: a put writes a new file and
renames it into place, nothing ever writes into an existing one, and replacing or
deleting an object unlinks its file. So a copy gives the destination row a new
content file name that is a hard link to the source's file: no bytes move (a 5 GiB
copy costs what a 0-byte one does), and the filesystem's link count *is* the
reference count - every existing path that unlinks a replaced or deleted object's
file (put, delete, multipart completion, fsck) stays correct without knowing that
copies exist. Sharing one file name between two rows would need every one of those
paths to ask the index "does anyone else still use it?" inside its transaction; one
forgotten path would destroy another object's content.

The link is made like a put's rename: outside the write lock, made durable (the
directory fsynced), and then the row is committed in one ``BEGIN IMMEDIATE``
transaction that also checks the destination's conditional write. If the source is
replaced between the lookup and the link, the link fails (its file is gone) and the
copy looks again; once linked, the copy holds exactly the version it looked up, and
the ``attributes`` callable saw that version. The link's mtime is refreshed so that
``find_orphans`` does not mistake an uncommitted link to an old file for an old
orphan. Where hard links are unavailable (some network and FUSE filesystems,
Windows shares) the copy falls back to ``shutil.copyfile`` (copy_file_range /
sendfile in the kernel on Linux) into a temp file and a rename.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import filesystem as fs
from .base import NoSuchKey, ObjectAttributes, ObjectInfo, SourceAttributes, StoreError
from .file_modes import create_private_file, make_private_dirs

CONFIG_SCHEMA = """CREATE TABLE IF NOT EXISTS bucket_configs (
        bucket_id INTEGER NOT NULL,
        name TEXT NOT NULL,        -- tagging, cors, policy, ...
        value BLOB NOT NULL,
        PRIMARY KEY (bucket_id, name)
    ) WITHOUT ROWID"""


class FilesystemCopyMixin:
    """Copy, retag and configuration methods of FilesystemStore (see module doc)."""

    if TYPE_CHECKING:

        def _transaction(
            self, mode: str = "DEFERRED"
        ) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

        @staticmethod
        def _bucket_id(conn: sqlite3.Connection, bucket: str) -> int: ...

        @staticmethod
        def _current(
            conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str
        ) -> tuple[ObjectInfo, str] | None: ...

        def _content_path(self, file_id: str) -> str: ...

        _objects: str
        _tmp: str

    @staticmethod
    def _unreferenced(conn: sqlite3.Connection, file_id: str) -> bool:
        """Whether no row names ``file_id`` (ask inside the write transaction that
        dropped a reference). Copies hard-link, so every row has a file name of its
        own and this holds once its row is gone; a cheap guard for paths that unlink."""
        row = conn.execute("SELECT 1 FROM objects WHERE file = ? LIMIT 1", (file_id,))
        return row.fetchone() is None

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        with self._transaction() as conn:  # fail early: the commit checks again
            self._bucket_id(conn, dst_bucket)
            found = self._current(conn, self._bucket_id(conn, dst_bucket), dst_bucket, dst_key)
        fs._check_write(dst_bucket, dst_key, found, if_match, if_none_match)
        source, file_id = self._link_source(src_bucket, src_key)
        try:
            if attributes is None:
                new = source.attributes
            elif callable(attributes):
                new = attributes(source)
            else:
                new = attributes
            info = ObjectInfo(
                bucket=dst_bucket,
                key=dst_key,
                size=source.size,
                etag=source.etag,
                last_modified=datetime.fromtimestamp(int(time.time()), UTC),
                attributes=new.copy(),
            )
        except BaseException:
            fs._unlink(self._content_path(file_id))
            raise
        committing = False
        try:
            with self._transaction("IMMEDIATE") as conn:
                dst_id = self._bucket_id(conn, dst_bucket)
                current = self._current(conn, dst_id, dst_bucket, dst_key)
                fs._check_write(dst_bucket, dst_key, current, if_match, if_none_match)
                conn.execute(
                    "INSERT OR REPLACE INTO objects"
                    " (bucket_id, key, size, etag, modified, file, attrs)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        dst_id,
                        fs._encode(dst_key),
                        info.size,
                        info.etag,
                        int(info.last_modified.timestamp()),
                        file_id,
                        fs._attrs_json(info.attributes),
                    ),
                )
                committing = True
        except BaseException:
            if not committing:  # as put_object: a failed COMMIT may have landed
                fs._unlink(self._content_path(file_id))
            raise
        if current is not None:
            fs._unlink(self._content_path(current[1]))
        return info

    def _link_source(self, bucket: str, key: str) -> tuple[ObjectInfo, str]:
        """A new, durable content file holding the source's current version."""
        missing: str | None = None
        for _ in range(fs.OPEN_ATTEMPTS):
            with self._transaction() as conn:
                found = self._current(conn, self._bucket_id(conn, bucket), bucket, key)
            if found is None:
                raise NoSuchKey(bucket, key)
            source, source_file = found
            if source_file == missing:
                raise StoreError(f"{bucket}/{key}: content file {source_file} is missing")
            file_id = uuid.uuid4().hex
            try:
                self._link_content(self._content_path(source_file), file_id)
            except FileNotFoundError:
                missing = source_file  # replaced or deleted meanwhile: look again
                continue
            return source, file_id
        raise StoreError(f"{bucket}/{key}: replaced too often to copy")

    def _link_content(self, source: str, file_id: str) -> None:
        final = self._content_path(file_id)
        directory = os.path.dirname(final)
        if not os.path.isdir(directory):
            make_private_dirs(directory)
            fs._fsync_dir(self._objects)
        try:
            try:
                os.link(source, final)
                os.utime(final)  # see the module doc: find_orphans goes by mtime
            except FileNotFoundError:
                raise
            except OSError:  # no hard links here: copy in the kernel, then rename
                tmp = os.path.join(self._tmp, file_id + ".part")
                try:
                    create_private_file(tmp).close()  # copyfile keeps the mode
                    shutil.copyfile(source, tmp)
                    with open(tmp, "rb") as f:
                        os.fsync(f.fileno())
                    os.replace(tmp, final)
                finally:
                    fs._unlink(tmp)
            fs._fsync_dir(directory)
        except BaseException:
            fs._unlink(final)
            raise

    def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> ObjectInfo:
        return self._update_attributes(bucket, key, tags=dict(tags))

    def put_object_acl(self, bucket: str, key: str, acl: str | None) -> ObjectInfo:
        return self._update_attributes(bucket, key, acl=acl)

    def _update_attributes(self, bucket: str, key: str, **changes: Any) -> ObjectInfo:
        # One UPDATE of the attrs column: content, ETag and Last-Modified stay.
        with self._transaction("IMMEDIATE") as conn:
            bucket_id = self._bucket_id(conn, bucket)
            found = self._current(conn, bucket_id, bucket, key)
            if found is None:
                raise NoSuchKey(bucket, key)
            info = found[0]
            new = replace(info.attributes, **changes)
            conn.execute(
                "UPDATE objects SET attrs = ? WHERE bucket_id = ? AND key = ?",
                (fs._attrs_json(new), bucket_id, fs._encode(key)),
            )
        return ObjectInfo(info.bucket, info.key, info.size, info.etag, info.last_modified, new)

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT value FROM bucket_configs WHERE bucket_id = ? AND name = ?",
                (self._bucket_id(conn, bucket), name),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        with self._transaction("IMMEDIATE") as conn:
            bucket_id = self._bucket_id(conn, bucket)
            if value is None:
                conn.execute(
                    "DELETE FROM bucket_configs WHERE bucket_id = ? AND name = ?",
                    (bucket_id, name),
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO bucket_configs (bucket_id, name, value)"
                    " VALUES (?, ?, ?)",
                    (bucket_id, name, bytes(value)),
                )
