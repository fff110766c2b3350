"""The staged multipart default every store without a native implementation gets.

The default (``StagedMultipart``) stages each part as a file under the store's
``multipart_dir`` (``<data_dir>/multipart`` when the store comes from settings),
streamed and fsynced, never held in memory; the upload state (uploads, parts, their
ETags) lives in a SQLite database (WAL, ``synchronous=FULL``, writes in ``BEGIN
IMMEDIATE`` transactions) in the same directory, not in process memory, so several
processes sharing the directory (gunicorn workers) can each take any request of an
upload. Part files are created with ``O_EXCL`` under random names and recorded only
after they are durable. Completion validates the part list, then streams the parts,
concatenated, into ``store.put_object`` with the multipart ETag; conditional writes are
therefore exactly as atomic as the store's put.

A store with no ``multipart_dir`` gets a temporary directory private to its process
(``shared`` is False): fine for one process, and refused at start-up by a server of
several (``application.refuse_private_uploads``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sqlite3
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import TYPE_CHECKING, BinaryIO

from ..errors import NoSuchBucket, NoSuchUpload
from ..file_modes import make_private_dirs, touch_private_file, unlink_quietly
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
from ..streams import IterReader, Readable, iter_chunks
from .parts import (
    check_part_number,
    completed_attributes,
    composed_etag,
    remove_orphan_parts,
    select_parts,
    stage_part,
)
from .records import (
    SCHEMA,
    attrs_from_json,
    decode_key,
    delete_upload,
    find_upload,
    insert_upload,
    page_parts,
    page_uploads,
    part_recorded,
    record_part,
    stored_parts,
)

if TYPE_CHECKING:  # the store calls this module, never the other way round at import
    from ..base import ObjectStore

#: Seconds a connection waits for another writer's lock.
BUSY_TIMEOUT = 30.0


class StagedMultipart:
    """The default multipart implementation for any store: see the module docstring.

    Layout under ``directory``: ``multipart.sqlite3`` (WAL) and ``parts/<upload
    id>.<part number>.<random>`` files. ``directory=None``: a temporary directory
    private to this process, removed when the backend is collected.
    """

    def __init__(self, store: ObjectStore, directory: str | None) -> None:
        self._store = store
        #: Whether other processes can see these uploads (a directory was given).
        self.shared = directory is not None
        #: What the backend was built for (``None``: private), see ``serves``.
        self.configured = directory
        if directory is None:
            directory = tempfile.mkdtemp(prefix="boxdrive-multipart-")
            weakref.finalize(self, _remove_dir, directory, os.getpid())
        #: The directory in use (a temporary one when none was given).
        self.directory = os.path.abspath(directory)
        self._db = os.path.join(self.directory, "multipart.sqlite3")
        self._parts = os.path.join(self.directory, "parts")
        make_private_dirs(self._parts)
        touch_private_file(self._db)
        with self._transaction("IMMEDIATE") as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    @contextlib.contextmanager
    def _transaction(self, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap next to a part upload, and never crosses a fork.
        conn = sqlite3.connect(self._db, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"BEGIN {mode}")
            yield conn
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            conn.close()

    def _path(self, file: str) -> str:
        return os.path.join(self._parts, file)

    def create(self, bucket: str, key: str, *, attributes: ObjectAttributes | None) -> str:
        self._store.head_bucket(bucket)
        with self._transaction("IMMEDIATE") as conn:
            return insert_upload(conn, bucket, key, attributes)

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
        self._store.head_bucket(bucket)
        with self._transaction() as conn:
            find_upload(conn, bucket, bucket, key, upload_id)

        def record(part: PartInfo, file: str) -> str | None:
            with self._transaction("IMMEDIATE") as conn:
                find_upload(conn, bucket, bucket, key, upload_id)  # aborted meanwhile?
                return record_part(conn, upload_id, part, file)

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
        self._store.head_bucket(bucket)
        with self._transaction() as conn:
            upload = find_upload(conn, bucket, bucket, key, upload_id)
            stored = stored_parts(conn, upload_id)
        chosen = select_parts(parts, stored, self._store.multipart_min_part_size)
        final = completed_attributes(upload.attributes, chosen, attributes)
        with contextlib.ExitStack() as stack:
            try:
                # Open files stay readable if the upload is aborted meanwhile.
                files = [stack.enter_context(open(self._path(f), "rb")) for _, f in chosen]
            except FileNotFoundError:
                raise NoSuchUpload(bucket, key, upload_id) from None
            info = self._store.put_object(
                bucket,
                key,
                IterReader(chain.from_iterable(iter_chunks(f) for f in files)),
                size=sum(p.size for p, _ in chosen),
                attributes=final,
                options=options,
                etag=composed_etag(chosen),
            )
        with self._transaction("IMMEDIATE") as conn:
            leftovers = delete_upload(conn, upload_id)
        for file in leftovers:
            unlink_quietly(self._path(file))
        return info

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._store.head_bucket(bucket)
        with self._transaction("IMMEDIATE") as conn:
            find_upload(conn, bucket, bucket, key, upload_id)
            files = delete_upload(conn, upload_id)
        for file in files:
            unlink_quietly(self._path(file))

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartPage:
        self._store.head_bucket(bucket)
        with self._transaction() as conn:
            upload = find_upload(conn, bucket, bucket, key, upload_id)
            page = page_parts(conn, upload_id, part_number_marker, max_parts)
        return dataclasses.replace(page, attributes=upload.attributes)

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
        self._store.head_bucket(bucket)
        with self._transaction() as conn:
            return page_uploads(
                conn,
                bucket,
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
                max_uploads=max_uploads,
            )

    # ---- maintenance: uploads clients started and never finished

    def abandoned_uploads(self, older_than: float) -> list[UploadInfo]:
        """Uploads initiated more than ``older_than`` seconds ago, and uploads whose
        bucket is gone (``bucket`` then names the deleted bucket)."""
        cutoff = int(time.time() - older_than)
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT upload_id, bucket, key, initiated, attrs FROM multipart_uploads"
                " ORDER BY upload_id"
            ).fetchall()
        gone: dict[str, bool] = {}
        found: list[UploadInfo] = []
        for upload_id, bucket, key, initiated, attrs in rows:
            if bucket not in gone:
                gone[bucket] = not self._bucket_exists(bucket)
            if initiated <= cutoff or gone[bucket]:
                found.append(
                    UploadInfo(
                        bucket=bucket,
                        key=decode_key(key),
                        upload_id=upload_id,
                        initiated=datetime.fromtimestamp(initiated, UTC),
                        attributes=attrs_from_json(attrs),
                    )
                )
        return found

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self._store.head_bucket(bucket)
        except NoSuchBucket:
            return False
        return True

    def discard(self, upload_id: str) -> bool:
        """Forget an upload and remove its parts, whether or not its bucket still
        exists (``abort`` needs the bucket); False if it was already gone."""
        with self._transaction("IMMEDIATE") as conn:
            known = conn.execute(
                "SELECT 1 FROM multipart_uploads WHERE upload_id = ?", (upload_id,)
            ).fetchone()
            files = delete_upload(conn, upload_id)
        for file in files:
            unlink_quietly(self._path(file))
        return known is not None

    def remove_abandoned_uploads(self, older_than: float = 7 * 86400.0) -> list[str]:
        """Discard what ``abandoned_uploads`` reports, and part files older than
        ``older_than`` that no upload references (a crash between writing a part and
        recording it). Returns the removed upload ids and orphan part file paths."""
        removed = [
            u.upload_id for u in self.abandoned_uploads(older_than) if self.discard(u.upload_id)
        ]
        with self._transaction() as conn:
            removed += remove_orphan_parts(
                self._parts, older_than, lambda name: part_recorded(conn, name)
            )
        return removed


# --------------------------------------------------------------------------- wiring


def _remove_dir(path: str, pid: int) -> None:
    if os.getpid() == pid:  # never from a forked child sharing the directory
        shutil.rmtree(path, ignore_errors=True)
