"""Multipart uploads: the default implementation every store gets, and the SQL
that it and FilesystemStore's native implementation share.

The default (``StagedMultipart``) stages each part as a file under the store's
``multipart_staging_dir()``, streamed and fsynced, never held in memory; the
upload state (uploads, parts, their ETags) lives in a SQLite database in the same
directory, not in process memory, so several processes sharing the directory
(gunicorn workers) can each take any request of an upload. Completion validates
the part list, then streams the parts, concatenated, into ``store.put_object``
with the multipart ETag; conditional writes are therefore exactly as atomic as
the store's put.

Upload ids are ``<16 hex digits of time_ns><16 random hex digits>``, so sorting
by id is sorting by initiation, which is the order ListMultipartUploads wants
within a key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from .base import (
    CompletedAttributes,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    NoSuchUpload,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    PartPage,
    Readable,
    UploadInfo,
    UploadPage,
    iter_chunks,
    multipart_etag,
)
from .documents import from_document, to_document
from .file_modes import create_private_file, make_private_dirs, touch_private_file

MAX_PART_NUMBER = 10_000
#: Seconds a connection waits for another writer's lock.
BUSY_TIMEOUT = 30.0
_BATCH = 1001

#: Tables shared by the staged default (its own database) and FilesystemStore (its
#: index). ``bucket`` has no type affinity: a name here, a bucket id there.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS multipart_uploads (
        upload_id TEXT PRIMARY KEY,
        bucket NOT NULL,
        key BLOB NOT NULL,          -- UTF-8: memcmp order is S3's listing order
        initiated INTEGER NOT NULL, -- Unix seconds (UTC)
        attrs TEXT NOT NULL         -- ObjectAttributes as JSON
    )""",
    "CREATE INDEX IF NOT EXISTS multipart_uploads_key"
    " ON multipart_uploads (bucket, key, upload_id)",
    """CREATE TABLE IF NOT EXISTS multipart_parts (
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        etag TEXT NOT NULL,
        size INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        checksums TEXT NOT NULL,    -- JSON object
        file TEXT NOT NULL,         -- name of the part file in the parts directory
        PRIMARY KEY (upload_id, part_number)
    ) WITHOUT ROWID""",
)


# --------------------------------------------------------------------------- helpers


def new_upload_id() -> str:
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), UTC)


def encode_key(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def decode_key(key: bytes) -> str:
    return bytes(key).decode("utf-8", "surrogatepass")


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def attrs_to_json(a: ObjectAttributes) -> str:
    return json.dumps(to_document(a))


def attrs_from_json(text: str) -> ObjectAttributes:
    return from_document(json.loads(text))


def completed_attributes(
    upload: ObjectAttributes,
    chosen: Sequence[tuple[PartInfo, str]],
    derive: CompletedAttributes | None,
) -> ObjectAttributes:
    """The attributes a completed object gets: ``derive``'s (or the upload's), with
    the chosen parts recorded as its part boundaries."""
    parts = tuple(p for p, _ in chosen)
    final = derive(upload, parts) if derive is not None else upload
    return dataclasses.replace(final, parts=parts)


def fsync_dir(path: str) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def part_file_name(upload_id: str, part_number: int) -> str:
    return f"{upload_id}.{part_number:05d}.{secrets.token_hex(6)}"


def upload_id_of(file_name: str) -> str:
    return file_name.split(".", 1)[0]


def write_part_file(path: str, body: Readable | BinaryIO, size: int | None) -> tuple[int, str]:
    """Stream ``body`` into a new, fsynced file; return (size, hex MD5).
    On any error the file is removed and the error propagates."""
    md5 = hashlib.md5(usedforsecurity=False)
    written = 0
    try:
        with create_private_file(path) as f:
            for chunk in iter_chunks(body, size):
                md5.update(chunk)
                f.write(chunk)
                written += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(os.path.dirname(path))
    except BaseException:
        unlink_quietly(path)
        raise
    return written, md5.hexdigest()


def stage_part(
    path: Callable[[str], str],
    upload_id: str,
    part_number: int,
    body: Readable | BinaryIO,
    size: int | None,
    checksums: Mapping[str, str] | None,
    record: Callable[[PartInfo, str], str | None],
) -> PartInfo:
    """Stream a part into a file of its own, then ``record(part, file)`` it (in a
    transaction that re-checks the upload). If recording fails the new file goes;
    the file of a part it replaced goes after it is recorded."""
    file = part_file_name(upload_id, part_number)
    written, etag = write_part_file(path(file), body, size)
    part = PartInfo(part_number, etag, written, now(), dict(checksums or {}))
    try:
        replaced = record(part, file)
    except BaseException:
        unlink_quietly(path(file))
        raise
    if replaced is not None:
        unlink_quietly(path(replaced))
    return part


def select_parts(
    requested: Sequence[tuple[int, str]],
    stored: Mapping[int, tuple[PartInfo, str]],
    min_size: int,
) -> list[tuple[PartInfo, str]]:
    """Apply S3's completion rules; return the chosen (part, file) in order."""
    previous = 0
    for number, _ in requested:
        if number <= previous:
            raise InvalidPartOrder(f"part {number} after part {previous}")
        previous = number
    chosen: list[tuple[PartInfo, str]] = []
    for number, etag in requested:
        found = stored.get(number)
        if found is None or found[0].etag != etag.strip().strip('"'):
            raise InvalidPart(number)
        chosen.append(found)
    if not chosen:
        raise InvalidPart(0)
    for part, _ in chosen[:-1]:
        if part.size < min_size:
            raise EntityTooSmall(part.part_number, part.size, min_size)
    return chosen


def composed_etag(parts: Sequence[tuple[PartInfo, str]]) -> str:
    return multipart_etag(bytes.fromhex(p.etag) for p, _ in parts)


class ConcatReader:
    """Read several open files one after the other (closing none of them)."""

    def __init__(self, files: Sequence[IO[bytes]]) -> None:
        self._files = list(files)
        self._index = 0

    def read(self, size: int = -1, /) -> bytes:
        while self._index < len(self._files):
            chunk = self._files[self._index].read(size)
            if chunk:
                return chunk
            self._index += 1
        return b""


# --------------------------------------------------------------------------- SQL


def _part_from_row(row: Sequence[Any]) -> tuple[PartInfo, str]:
    number, etag, size, modified, checksums, file = row
    info = PartInfo(
        part_number=number,
        etag=etag,
        size=size,
        last_modified=datetime.fromtimestamp(modified, UTC),
        checksums=json.loads(checksums),
    )
    return info, str(file)


_PART_COLUMNS = "part_number, etag, size, modified, checksums, file"


def insert_upload(
    conn: sqlite3.Connection,
    ref: object,
    key: str,
    attributes: ObjectAttributes | None,
) -> str:
    upload_id = new_upload_id()
    conn.execute(
        "INSERT INTO multipart_uploads (upload_id, bucket, key, initiated, attrs)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            upload_id,
            ref,
            encode_key(key),
            int(time.time()),
            attrs_to_json((attributes or ObjectAttributes()).copy()),
        ),
    )
    return upload_id


def find_upload(
    conn: sqlite3.Connection, ref: object, bucket: str, key: str, upload_id: str
) -> UploadInfo:
    """The upload, or NoSuchUpload (also when it belongs to another bucket or key)."""
    row = conn.execute(
        "SELECT initiated, attrs FROM multipart_uploads"
        " WHERE upload_id = ? AND bucket = ? AND key = ?",
        (upload_id, ref, encode_key(key)),
    ).fetchone()
    if row is None:
        raise NoSuchUpload(bucket, key, upload_id)
    return UploadInfo(
        bucket=bucket,
        key=key,
        upload_id=upload_id,
        initiated=datetime.fromtimestamp(row[0], UTC),
        attributes=attrs_from_json(row[1]),
    )


def record_part(conn: sqlite3.Connection, upload_id: str, part: PartInfo, file: str) -> str | None:
    """Insert or replace a part row; return the replaced part's file name."""
    old = conn.execute(
        "SELECT file FROM multipart_parts WHERE upload_id = ? AND part_number = ?",
        (upload_id, part.part_number),
    ).fetchone()
    conn.execute(
        f"INSERT OR REPLACE INTO multipart_parts (upload_id, {_PART_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            upload_id,
            part.part_number,
            part.etag,
            part.size,
            int(part.last_modified.timestamp()),
            json.dumps(dict(part.checksums)),
            file,
        ),
    )
    return None if old is None else str(old[0])


def stored_parts(conn: sqlite3.Connection, upload_id: str) -> dict[int, tuple[PartInfo, str]]:
    rows = conn.execute(
        f"SELECT {_PART_COLUMNS} FROM multipart_parts WHERE upload_id = ?", (upload_id,)
    )
    return {row[0]: _part_from_row(row) for row in rows}


def page_parts(conn: sqlite3.Connection, upload_id: str, marker: int, max_parts: int) -> PartPage:
    if max_parts <= 0:
        return PartPage(parts=[], is_truncated=False)
    rows = conn.execute(
        f"SELECT {_PART_COLUMNS} FROM multipart_parts WHERE upload_id = ? AND part_number > ?"
        " ORDER BY part_number LIMIT ?",
        (upload_id, marker, max_parts + 1),
    ).fetchall()
    parts = [_part_from_row(row)[0] for row in rows[:max_parts]]
    truncated = len(rows) > max_parts
    return PartPage(
        parts=parts,
        is_truncated=truncated,
        next_part_number_marker=parts[-1].part_number if parts else None,
    )


def delete_upload(conn: sqlite3.Connection, upload_id: str) -> list[str]:
    """Delete an upload's rows; return its part file names."""
    files = [
        str(r[0])
        for r in conn.execute("SELECT file FROM multipart_parts WHERE upload_id = ?", (upload_id,))
    ]
    conn.execute("DELETE FROM multipart_parts WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM multipart_uploads WHERE upload_id = ?", (upload_id,))
    return files


def _common_prefix(key: bytes, prefix: bytes, delimiter: bytes) -> bytes | None:
    if not delimiter or not key.startswith(prefix):
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def page_uploads(
    conn: sqlite3.Connection,
    ref: object,
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadPage:
    """One page of uploads in (key, upload id) order with delimiter roll-up; a page
    costs O(max_uploads) indexed range queries, never a scan of the bucket."""
    if max_uploads <= 0:
        return UploadPage(uploads=[], common_prefixes=[], is_truncated=False)
    pfx, delim = encode_key(prefix), encode_key(delimiter)
    upper = successor(pfx) if pfx else None
    # The position is (key, upload id or None, inclusive): rows strictly after
    # (key, upload id), or with key > key / key >= key when the id is None.
    position: tuple[bytes, str | None, bool] = (
        encode_key(key_marker),
        upload_id_marker if key_marker and upload_id_marker else None,
        False,
    )
    if pfx > position[0]:
        position = (pfx, None, True)
    covering = _common_prefix(encode_key(key_marker), pfx, delim)
    if covering is not None:  # the marker lies inside a common prefix already listed
        skip = successor(covering)
        if skip is None:
            return UploadPage(uploads=[], common_prefixes=[], is_truncated=False)
        position = max(position, (skip, None, True), key=lambda p: p[0])
    uploads: list[UploadInfo] = []
    prefixes: list[str] = []
    last: tuple[str, str | None] | None = None
    while True:
        rows = _fetch_uploads(conn, ref, position, upper, _BATCH)
        jumped = False
        for row in rows:
            upload_id, key_blob, initiated, attrs = row
            key = bytes(key_blob)
            if len(uploads) + len(prefixes) == max_uploads:
                assert last is not None
                return UploadPage(uploads, prefixes, True, last[0], last[1])
            common = _common_prefix(key, pfx, delim)
            if common is None:
                uploads.append(
                    UploadInfo(
                        bucket=bucket,
                        key=decode_key(key),
                        upload_id=upload_id,
                        initiated=datetime.fromtimestamp(initiated, UTC),
                        attributes=attrs_from_json(attrs),
                    )
                )
                last = (decode_key(key), upload_id)
                continue
            prefixes.append(decode_key(common))
            last = (decode_key(common), None)
            skip = successor(common)
            if skip is None:
                return UploadPage(uploads, prefixes, False)
            position, jumped = (skip, None, True), True
            break
        if not jumped:
            if len(rows) < _BATCH:
                return UploadPage(uploads, prefixes, False)
            position = (bytes(rows[-1][1]), str(rows[-1][0]), False)


def _fetch_uploads(
    conn: sqlite3.Connection,
    ref: object,
    position: tuple[bytes, str | None, bool],
    upper: bytes | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    key, upload_id, inclusive = position
    sql = "SELECT upload_id, key, initiated, attrs FROM multipart_uploads WHERE bucket = ?"
    args: list[object] = [ref]
    if upload_id is not None:
        sql += " AND (key > ? OR (key = ? AND upload_id > ?))"
        args += [key, key, upload_id]
    else:
        sql += f" AND key {'>=' if inclusive else '>'} ?"
        args.append(key)
    if upper is not None:
        sql += " AND key < ?"
        args.append(upper)
    sql += " ORDER BY key, upload_id LIMIT ?"
    args.append(limit)
    return conn.execute(sql, args).fetchall()


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part number {part_number} is outside 1..{MAX_PART_NUMBER}")


# --------------------------------------------------------------------------- the default


class StagedMultipart:
    """The default multipart implementation for any store: see the module docstring.

    Layout under ``directory``: ``multipart.sqlite3`` (WAL) and ``parts/<upload
    id>.<part number>.<random>`` files.
    """

    def __init__(self, store: ObjectStore, directory: str) -> None:
        self._store = store
        self._dir = os.path.abspath(directory)
        self._db = os.path.join(self._dir, "multipart.sqlite3")
        self._parts = os.path.join(self._dir, "parts")
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
        if_match: str | None,
        if_none_match: bool,
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
                ConcatReader(files),
                size=sum(p.size for p, _ in chosen),
                attributes=final,
                if_match=if_match,
                if_none_match=if_none_match,
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


# --------------------------------------------------------------------------- wiring

_lock = threading.RLock()
_STAGING_ATTR = "_boxdrive_multipart_staging"
_BACKEND_ATTR = "_boxdrive_multipart_backend"


def _remove_dir(path: str, pid: int) -> None:
    if os.getpid() == pid:  # never from a forked child sharing the directory
        shutil.rmtree(path, ignore_errors=True)


def default_staging_dir(store: ObjectStore) -> str:
    """A temporary directory for ``store``, removed when the store is collected."""
    with _lock:
        path: str | None = store.__dict__.get(_STAGING_ATTR)
        if path is None:
            path = tempfile.mkdtemp(prefix="boxdrive-multipart-")
            weakref.finalize(store, _remove_dir, path, os.getpid())
            store.__dict__[_STAGING_ATTR] = path
        return path


def staged_backend(store: ObjectStore) -> StagedMultipart:
    """The default backend of ``store``, created on first use."""
    backend: StagedMultipart | None = store.__dict__.get(_BACKEND_ATTR)
    if backend is None:
        with _lock:
            backend = store.__dict__.get(_BACKEND_ATTR)
            if backend is None:
                backend = StagedMultipart(store, store.multipart_staging_dir())
                store.__dict__[_BACKEND_ATTR] = backend
    return backend
