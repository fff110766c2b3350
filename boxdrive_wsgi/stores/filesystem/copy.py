"""FilesystemStore's copies and attribute updates.

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

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ..errors import NoSuchKey, StoreError
from ..model import ObjectAttributes, ObjectInfo, SourceAttributes, WriteOptions
from .content import ContentFiles
from .index import Index

#: How often a copy or a read looks a key up again when writers keep replacing it.
OPEN_ATTEMPTS = 100


class Copier:
    """Copies and attribute updates over a store's index and content files."""

    def __init__(self, index: Index, content: ContentFiles) -> None:
        self._index = index
        self._content = content

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None,
        options: WriteOptions,
    ) -> ObjectInfo:
        index, content = self._index, self._content
        with index.transaction() as conn:  # fail early: the commit checks again
            found = index.current(conn, index.bucket_id(conn, dst_bucket), dst_bucket, dst_key)
        options.check(dst_bucket, dst_key, found[0] if found else None)
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
            content.remove(file_id)
            raise
        committing = False
        try:
            with index.transaction("IMMEDIATE") as conn:
                dst_id = index.bucket_id(conn, dst_bucket)
                current = index.current(conn, dst_id, dst_bucket, dst_key)
                options.check(dst_bucket, dst_key, current[0] if current else None)
                index.put_row(conn, dst_id, info, file_id)
                committing = True
        except BaseException:
            if not committing:  # as put_object: a failed COMMIT may have landed
                content.remove(file_id)
            raise
        if current is not None:
            content.remove(current[1])
        return info

    def _link_source(self, bucket: str, key: str) -> tuple[ObjectInfo, str]:
        """A new, durable content file holding the source's current version."""
        index = self._index
        missing: str | None = None
        for _ in range(OPEN_ATTEMPTS):
            with index.transaction() as conn:
                found = index.current(conn, index.bucket_id(conn, bucket), bucket, key)
            if found is None:
                raise NoSuchKey(bucket, key)
            source, source_file = found
            if source_file == missing:
                raise StoreError(f"{bucket}/{key}: content file {source_file} is missing")
            file_id = uuid.uuid4().hex
            try:
                self._content.link(source_file, file_id)
            except FileNotFoundError:
                missing = source_file  # replaced or deleted meanwhile: look again
                continue
            return source, file_id
        raise StoreError(f"{bucket}/{key}: replaced too often to copy")

    def update_attributes(
        self, bucket: str, key: str, change: Callable[[ObjectAttributes], ObjectAttributes]
    ) -> ObjectInfo:
        """One UPDATE of the attrs column: content, ETag and Last-Modified stay."""
        index = self._index
        with index.transaction("IMMEDIATE") as conn:
            bucket_id = index.bucket_id(conn, bucket)
            found = index.current(conn, bucket_id, bucket, key)
            if found is None:
                raise NoSuchKey(bucket, key)
            info = found[0]
            new = change(info.attributes)
            index.set_attributes(conn, bucket_id, key, new)
        return ObjectInfo(info.bucket, info.key, info.size, info.etag, info.last_modified, new)
