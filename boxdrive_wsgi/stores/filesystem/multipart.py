"""FilesystemStore's native multipart uploads.

Parts are files under ``<root>/parts/`` (``<upload id>.<part number>.<random>``),
written like content files (streamed, fsynced) and recorded in the store's SQLite
index (tables ``multipart_uploads`` / ``multipart_parts``, see ``multipart.records``),
so an upload started on one worker process is continued and completed on another.

Completion composes the content file from the parts inside the kernel where it can
(``os.copy_file_range``, which reflinks on btrfs/XFS; else ``os.sendfile``; else a
read/write loop), fsyncs and renames it into ``objects/``, and then one
``BEGIN IMMEDIATE`` transaction re-checks the upload and its parts, checks the
conditional write, commits the object row and deletes the upload. The multipart ETag
comes from the part MD5s recorded at upload time: no byte is hashed twice.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO

from ..errors import InvalidPart, NoSuchUpload
from ..file_modes import make_private_dirs, unlink_quietly
from ..model import (
    CompletedAttributes,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    PartPage,
    UploadInfo,
    UploadPage,
    WriteOptions,
)
from ..multipart.parts import (
    check_part_number,
    completed_attributes,
    composed_etag,
    remove_orphan_parts,
    select_parts,
    stage_part,
)
from ..multipart.records import (
    attrs_from_json,
    delete_upload,
    find_upload,
    insert_upload,
    page_parts,
    page_uploads,
    part_recorded,
    record_part,
    stored_parts,
)
from ..streams import Readable
from .commit import commit_write
from .content import ContentFiles
from .index import Index
from .space import SpaceGuard


class FilesystemMultipart:
    """The multipart backend of a FilesystemStore (see the module docstring)."""

    def __init__(
        self,
        root: str,
        index: Index,
        content: ContentFiles,
        space: SpaceGuard,
        min_part_size: Callable[[], int],
    ) -> None:
        """``min_part_size``: the store's ``multipart_min_part_size`` when asked (tests
        lower it on the store)."""
        self._index = index
        self._content = content
        self._space = space
        self._min_part_size = min_part_size
        self.parts_dir = os.path.join(root, "parts")
        make_private_dirs(self.parts_dir)

    def _path(self, file: str) -> str:
        return os.path.join(self.parts_dir, file)

    @contextlib.contextmanager
    def _upload(
        self, bucket: str, key: str, upload_id: str, mode: str = "DEFERRED"
    ) -> Iterator[tuple[sqlite3.Connection, UploadInfo]]:
        with self._index.transaction(mode) as conn:
            bucket_id = self._index.bucket_id(conn, bucket)
            yield conn, find_upload(conn, bucket_id, bucket, key, upload_id)

    def create(self, bucket: str, key: str, *, attributes: ObjectAttributes | None) -> str:
        with self._index.transaction("IMMEDIATE") as conn:
            bucket_id = self._index.bucket_id(conn, bucket)
            return insert_upload(conn, bucket_id, key, attributes)

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Readable | BinaryIO,
        *,
        size: int | None,
        checksums: Mapping[str, str] | None,
    ) -> PartInfo:
        check_part_number(part_number)
        with self._upload(bucket, key, upload_id):
            pass  # fail before streaming a body nobody will keep

        def record(part: PartInfo, file: str) -> str | None:
            # Re-checked under the write lock: an abort that won the race stays aborted.
            with self._upload(bucket, key, upload_id, "IMMEDIATE") as (conn, _):
                return record_part(conn, upload_id, part, file)

        self._space.check_write(size)
        with self._space.translated():
            return stage_part(self._path, upload_id, part_number, body, size, checksums, record)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        options: WriteOptions,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo:
        index = self._index
        with self._upload(bucket, key, upload_id) as (conn, upload):
            chosen = select_parts(parts, stored_parts(conn, upload_id), self._min_part_size())
            found = index.current(conn, index.bucket_id(conn, bucket), bucket, key)
        final = completed_attributes(upload.attributes, chosen, attributes)
        # Fail fast; the check that counts is repeated in the commit transaction.
        options.check(bucket, key, found[0] if found else None)
        file_id = uuid.uuid4().hex
        # The object is a new file as large as its parts until they go.
        self._space.check_write(sum(part.size for part, _ in chosen))
        with self._space.translated(), contextlib.ExitStack() as stack:
            files = [stack.enter_context(self._open_part(f, upload)) for _, f in chosen]
            total = self._content.compose(file_id, files)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=total,
            etag=composed_etag(chosen),
            last_modified=datetime.fromtimestamp(int(time.time()), UTC),
            attributes=final,
        )
        leftovers: list[str] = []

        def finish_upload(conn: sqlite3.Connection) -> None:
            # Inside the commit: the upload still exists with the chosen parts, then goes.
            bucket_id = index.bucket_id(conn, bucket)
            find_upload(conn, bucket_id, bucket, key, upload_id)
            now_stored = stored_parts(conn, upload_id)
            for part, file in chosen:  # a part re-uploaded meanwhile changes the object
                if now_stored.get(part.part_number, (None, None))[1] != file:
                    raise InvalidPart(part.part_number)
            leftovers.extend(delete_upload(conn, upload_id))

        info = commit_write(index, self._content, info, file_id, options, finish_upload)
        for file in leftovers:
            unlink_quietly(self._path(file))
        return info

    def _open_part(self, file: str, upload: UploadInfo) -> BinaryIO:
        try:
            return open(self._path(file), "rb")
        except FileNotFoundError:  # aborted (or completed) meanwhile
            raise NoSuchUpload(upload.bucket, upload.key, upload.upload_id) from None

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._space.freeing(lambda: self._abort(bucket, key, upload_id))

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self._upload(bucket, key, upload_id, "IMMEDIATE") as (conn, _):
            files = delete_upload(conn, upload_id)
        for file in files:
            unlink_quietly(self._path(file))

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartPage:
        with self._upload(bucket, key, upload_id) as (conn, upload):
            page = page_parts(conn, upload_id, part_number_marker, max_parts)
        return replace(page, attributes=upload.attributes)

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadPage:
        with self._index.transaction() as conn:
            return page_uploads(
                conn,
                self._index.bucket_id(conn, bucket),
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
                max_uploads=max_uploads,
            )

    # ---- bucket removal and maintenance (fsck)

    @staticmethod
    def drop_bucket(conn: sqlite3.Connection, bucket_id: int) -> list[str]:
        """Inside delete_bucket's transaction: forget the bucket's uploads; return
        their part files, to remove (``remove_parts``) after the commit."""
        files: list[str] = []
        ids = conn.execute("SELECT upload_id FROM multipart_uploads WHERE bucket = ?", (bucket_id,))
        for (upload_id,) in ids.fetchall():
            files += delete_upload(conn, upload_id)
        return files

    def remove_parts(self, files: list[str]) -> None:
        for file in files:
            unlink_quietly(self._path(file))

    def abandoned_uploads(self, older_than: float) -> list[UploadInfo]:
        """Uploads initiated more than ``older_than`` seconds ago, and uploads whose
        bucket is gone."""
        cutoff = int(time.time() - older_than)
        with self._index.transaction() as conn:
            rows = conn.execute(
                "SELECT u.upload_id, u.key, u.initiated, u.attrs, b.name"
                " FROM multipart_uploads u LEFT JOIN buckets b ON b.id = u.bucket"
                " WHERE u.initiated <= ? OR b.id IS NULL ORDER BY u.upload_id",
                (cutoff,),
            ).fetchall()
        return [
            UploadInfo(
                bucket=name or "",
                key=bytes(key).decode("utf-8", "surrogatepass"),
                upload_id=upload_id,
                initiated=datetime.fromtimestamp(initiated, UTC),
                attributes=attrs_from_json(attrs),
            )
            for upload_id, key, initiated, attrs, name in rows
        ]

    def remove_abandoned_uploads(self, older_than: float = 7 * 86400.0) -> list[str]:
        """Remove what ``abandoned_uploads`` reports, and part files older than
        ``older_than`` that no upload references (a crash between writing a part and
        recording it). Returns the removed upload ids and orphan part file paths."""
        removed: list[str] = []
        for upload in self.abandoned_uploads(older_than):
            with self._index.transaction("IMMEDIATE") as conn:
                files = delete_upload(conn, upload.upload_id)
            for file in files:
                unlink_quietly(self._path(file))
            removed.append(upload.upload_id)
        with self._index.connection() as conn:
            removed += remove_orphan_parts(
                self.parts_dir, older_than, lambda name: part_recorded(conn, name)
            )
        return removed
