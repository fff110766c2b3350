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

Inline content (small bodies kept in the index row, ``index``) is no file: its copy
is a new row holding the same bytes, read in the lookup's snapshot.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from ..errors import StoreError
from ..model import ObjectAttributes, ObjectInfo, SourceAttributes, WriteOptions
from . import versions
from .commit import commit_write, precheck
from .content import ContentFiles
from .index import Index, Stored

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
        source_version_id: str | None = None,
    ) -> ObjectInfo:
        index, content = self._index, self._content
        precheck(index, dst_bucket, dst_key, options)
        source, file_id, inline = self._link_source(src_bucket, src_key, source_version_id)
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
            if file_id:
                content.remove(file_id)
            raise
        return commit_write(index, content, info, file_id, options, inline=inline)

    def _link_source(self, bucket: str, key: str, version_id: str | None) -> Stored:
        """The source's version (latest or named) with a new, durable content file of
        its own, or its inline content (and no file)."""
        index = self._index
        missing: str | None = None
        for _ in range(OPEN_ATTEMPTS):
            with index.transaction() as conn:
                bucket_id, status = index.bucket(conn, bucket)
                found = versions.lookup(
                    conn, bucket_id, bucket, key, version_id, status is not None
                )
            source, source_file, inline = found
            if inline is not None:
                return found
            if source_file == missing:
                raise StoreError(f"{bucket}/{key}: content file {source_file} is missing")
            file_id = uuid.uuid4().hex
            try:
                self._content.link(source_file, file_id)
            except FileNotFoundError:
                missing = source_file  # replaced or deleted meanwhile: look again
                continue
            return Stored(source, file_id)
        raise StoreError(f"{bucket}/{key}: replaced too often to copy")

    def update_attributes(
        self,
        bucket: str,
        key: str,
        change: Callable[[ObjectAttributes], ObjectAttributes],
        version_id: str | None = None,
    ) -> ObjectInfo:
        """One UPDATE of the attrs column of one version (the latest if None): content,
        ETag and Last-Modified stay."""
        index = self._index
        with index.transaction("IMMEDIATE") as conn:
            bucket_id, status = index.bucket(conn, bucket)
            versioned = status is not None
            info = versions.lookup(conn, bucket_id, bucket, key, version_id, versioned).info
            found = (
                versions.newest(conn, bucket_id, bucket, key, versioned)
                if version_id is None
                else versions.find(conn, bucket_id, bucket, key, version_id, versioned)
            )
            assert found is not None  # lookup found it in this transaction
            new = change(info.attributes)
            versions.set_attributes(conn, bucket_id, found, new)
        return replace(info, attributes=new)
