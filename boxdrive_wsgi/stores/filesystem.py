"""FilesystemStore: object bytes in content files, the key index and metadata in SQLite.

Layout under ``root``::

    index.sqlite3       buckets and objects (WAL mode)
    objects/ab/<id>     the content of one object version, named by a random id
    tmp/<id>.part       uploads in progress
    reserve             space kept back for deletes on a full disk (filesystem_space)

Keys are never file names, so every S3 key works (``a`` next to ``a/b``, ``..``,
``//``, 1024-byte keys, any UTF-8). Keys are stored as UTF-8 BLOBs: SQLite compares
BLOBs with memcmp, which is UTF-8 byte order, the order S3 lists in, and a listing
page is a few indexed range queries with LIMIT, never a directory walk.

A put streams the body to tmp/, fsyncs it, renames it into objects/ and then commits
the index row in one ``BEGIN IMMEDIATE`` transaction that also checks the conditional
write, so check and commit are atomic across threads and processes. Content files are
immutable; replacing or deleting an object unlinks the old file only after the commit,
and a reader that already has it open keeps reading it. After a crash the leftovers are
temp files and unreferenced content files, never a partial object; ``find_orphans``
lists them for fsck.

Durability: the content file and its directory are fsynced before the commit, and
SQLite runs with ``synchronous=FULL``, so a put that returned survives power loss.
(NORMAL would never corrupt the index either, but could lose the last commits, and S3
clients take a 200 as durable; next to the content fsync the WAL fsync is cheap.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from .base import (
    CHUNK_SIZE,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    DeleteCondition,
    NoSuchBucket,
    NoSuchKey,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    Readable,
    StoreError,
    check_write_condition,
    iter_chunks,
)
from .documents import from_document, to_document
from .file_modes import create_private_file, make_private_dirs, touch_private_file
from .filesystem_copy import CONFIG_SCHEMA, FilesystemCopyMixin
from .filesystem_multipart import FilesystemMultipart
from .filesystem_space import DEFAULT_MIN_FREE, DEFAULT_RESERVE, SpaceGuard
from .listing import paginate

DB_NAME = "index.sqlite3"
SCHEMA_VERSION = 1
#: Seconds a connection waits for another writer's lock (sqlite busy_timeout).
BUSY_TIMEOUT = 30.0
#: Idle connections kept for reuse; more concurrent threads simply open more.
MAX_IDLE_CONNECTIONS = 32
#: Largest batch a listing seek fetches in one query: S3's 1000 keys and one more to
#: tell whether the page is truncated.
MAX_BATCH = 1001
#: How often get_object looks a key up again when writers keep replacing it.
OPEN_ATTEMPTS = 100

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS buckets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,  -- Unix seconds (UTC)
        owner TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS objects (
        bucket_id INTEGER NOT NULL,
        key BLOB NOT NULL,         -- UTF-8: memcmp order is the S3 listing order
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        modified INTEGER NOT NULL, -- Unix seconds (UTC)
        file TEXT NOT NULL,        -- content file id: objects/<file[:2]>/<file>
        attrs TEXT NOT NULL,       -- ObjectAttributes as JSON
        PRIMARY KEY (bucket_id, key)
    ) WITHOUT ROWID""",
    # find_orphans asks whether a content file is referenced.
    "CREATE INDEX IF NOT EXISTS objects_file ON objects (file)",
    CONFIG_SCHEMA,
)
_COLUMNS = "key, size, etag, modified, attrs"


def _encode(key: str) -> bytes:
    # surrogatepass keeps code point order and round-trips keys a WSGI server handed
    # over as surrogate-escaped bytes instead of failing on them.
    return key.encode("utf-8", "surrogatepass")


def _decode(key: bytes) -> str:
    return key.decode("utf-8", "surrogatepass")


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _info(bucket: str, row: tuple[Any, ...]) -> ObjectInfo:
    key, size, etag, modified, attrs = row
    return ObjectInfo(
        bucket=bucket,
        key=_decode(bytes(key)),
        size=size,
        etag=etag,
        last_modified=datetime.fromtimestamp(modified, UTC),
        attributes=from_document(json.loads(attrs)),
    )


def _attrs_json(a: ObjectAttributes) -> str:
    # ASCII escapes: a lone surrogate (a surrogate-escaped header byte) cannot be UTF-8.
    return json.dumps(to_document(a))


def _check_write(
    bucket: str,
    key: str,
    current: tuple[ObjectInfo, str] | None,
    if_match: str | None,
    if_none_match: bool,
) -> None:
    check_write_condition(
        bucket,
        key,
        current[0] if current else None,
        if_match=if_match,
        if_none_match=if_none_match,
    )


def _fsync_dir(path: str) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    if sys.platform == "win32":  # directories cannot be opened, NTFS journals metadata
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    # Cleanup never hides the error being handled; a file left behind is an orphan
    # that find_orphans reports (e.g. Windows refuses to unlink a file being read).
    with contextlib.suppress(OSError):
        os.unlink(path)


def _read_span(f: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
    try:
        f.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                # Never let the server send fewer bytes than Content-Length promised.
                raise OSError(f"content file {f.name} is shorter than its index entry")
            remaining -= len(chunk)
            yield chunk
    finally:
        f.close()


class FilesystemStore(FilesystemCopyMixin, ObjectStore):
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
    ) -> None:
        """``min_free_space``: writes are refused below it; ``space_reserve``: bytes
        kept back for deletes on a full disk (see filesystem_space)."""
        # Absolute, so ObjectBody.path stays valid if the working directory changes.
        self.root = os.path.abspath(os.fspath(root))
        self._db_path = os.path.join(self.root, DB_NAME)
        self._tmp = os.path.join(self.root, "tmp")
        self._objects = os.path.join(self.root, "objects")
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._inherited: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        make_private_dirs(self._tmp)
        make_private_dirs(self._objects)
        touch_private_file(self._db_path)
        self._init_schema()
        self._multipart = FilesystemMultipart(self)
        self._space = SpaceGuard(self.root, min_free=min_free_space, reserve=space_reserve)
        self._space.keep_reserve()

    # ---- connections

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False:
        # pooled connections move between threads, but only one thread uses one at a time.
        conn = sqlite3.connect(
            self._db_path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _init_schema(self) -> None:
        # Not pooled: a store built before a fork (gunicorn --preload) must not hand an
        # open connection to its workers.
        conn = self._connect()
        try:
            mode = self._enable_wal(conn)
            if mode.lower() != "wal":
                raise StoreError(f"{self._db_path}: SQLite WAL mode unavailable ({mode})")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self._db_path}: schema {version} is newer than this code")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection) -> str:
        # journal_mode is persistent in the file. When processes open a new root at
        # once, switching it can fail BUSY at once, without waiting for busy_timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
            except sqlite3.OperationalError as e:
                if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._forget_if_forked()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._release(conn)

    def _forget_if_forked(self) -> None:
        # SQLite connections must not cross a fork: the child neither uses the parent's
        # nor closes them (closing could disturb the parent's locks); it keeps them
        # referenced so that they are never garbage-collected (closed) either.
        if self._pid != os.getpid():
            self._inherited.extend(self._idle)
            self._idle = []
            self._pid = os.getpid()

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # an exception, or a COMMIT that failed, left it open
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                conn.close()
                return
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    @contextlib.contextmanager
    def _transaction(self, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
        """DEFERRED for reads (one snapshot); IMMEDIATE for writes, so that the write
        lock is taken up front and read-then-write cannot fail halfway with BUSY."""
        with self._connection() as conn:
            conn.execute(f"BEGIN {mode}")
            yield conn
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._forget_if_forked()
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # ---- helpers

    def _content_path(self, file_id: str) -> str:
        return os.path.join(self._objects, file_id[:2], file_id)

    @staticmethod
    def _bucket_id(conn: sqlite3.Connection, bucket: str) -> int:
        row = conn.execute("SELECT id FROM buckets WHERE name = ?", (bucket,)).fetchone()
        if row is None:
            raise NoSuchBucket(bucket)
        return int(row[0])

    @staticmethod
    def _current(
        conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str
    ) -> tuple[ObjectInfo, str] | None:
        row = conn.execute(
            f"SELECT {_COLUMNS}, file FROM objects WHERE bucket_id = ? AND key = ?",
            (bucket_id, _encode(key)),
        ).fetchone()
        return None if row is None else (_info(bucket, row[:5]), str(row[5]))

    # ---- buckets

    def list_buckets(self) -> list[BucketInfo]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT name, created, owner FROM buckets ORDER BY name")
            return [BucketInfo(n, datetime.fromtimestamp(c, UTC), o) for n, c, o in rows]

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        with self._transaction("IMMEDIATE") as conn:
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
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT created, owner FROM buckets WHERE name = ?", (bucket,)
            ).fetchone()
        if row is None:
            raise NoSuchBucket(bucket)
        return BucketInfo(bucket, datetime.fromtimestamp(row[0], UTC), row[1])

    def delete_bucket(self, bucket: str) -> None:
        self._space.freeing(lambda: self._delete_bucket(bucket))

    def _delete_bucket(self, bucket: str) -> None:
        # One write transaction: a put committing concurrently either lands first (and
        # we raise BucketNotEmpty) or finds the bucket gone (and raises NoSuchBucket).
        with self._transaction("IMMEDIATE") as conn:
            bucket_id = self._bucket_id(conn, bucket)
            if conn.execute(
                "SELECT 1 FROM objects WHERE bucket_id = ? LIMIT 1", (bucket_id,)
            ).fetchone():
                raise BucketNotEmpty(bucket)
            conn.execute("DELETE FROM buckets WHERE id = ?", (bucket_id,))
            conn.execute("DELETE FROM bucket_configs WHERE bucket_id = ?", (bucket_id,))
            # Bucket ids are reused: uploads in progress go with their bucket.
            parts = self._multipart.drop_bucket(conn, bucket_id)
        self._multipart.remove_parts(parts)

    # ---- objects

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        *,
        size: int | None = None,
        attributes: ObjectAttributes | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        etag: str | None = None,
    ) -> ObjectInfo:
        self._space.check_write(size)
        with self._space.translated():
            return self._put_object(
                bucket, key, body, size, attributes, if_match, if_none_match, etag
            )

    def _put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        size: int | None,
        attributes: ObjectAttributes | None,
        if_match: str | None,
        if_none_match: bool,
        etag: str | None,
    ) -> ObjectInfo:
        # Fail before streaming a large body when the answer is already known; the
        # check that counts is repeated inside the commit transaction below.
        with self._transaction() as conn:
            found = self._current(conn, self._bucket_id(conn, bucket), bucket, key)
        _check_write(bucket, key, found, if_match, if_none_match)
        file_id = uuid.uuid4().hex
        written, md5 = self._write_content(file_id, body, size)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=written,
            etag=etag or md5,
            last_modified=datetime.fromtimestamp(int(time.time()), UTC),
            # Only now, after EOF: checksums sent as trailers are known only then.
            attributes=(attributes or ObjectAttributes()).copy(),
        )
        committing = False
        try:
            with self._transaction("IMMEDIATE") as conn:
                bucket_id = self._bucket_id(conn, bucket)
                current = self._current(conn, bucket_id, bucket, key)
                _check_write(bucket, key, current, if_match, if_none_match)
                conn.execute(
                    "INSERT OR REPLACE INTO objects"
                    " (bucket_id, key, size, etag, modified, file, attrs)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        bucket_id,
                        _encode(key),
                        written,
                        info.etag,
                        int(info.last_modified.timestamp()),
                        file_id,
                        _attrs_json(info.attributes),
                    ),
                )
                committing = True
        except BaseException:
            # If COMMIT itself failed we cannot be sure it did not land: keep the file
            # then (at worst an orphan for fsck) rather than risk a row without content.
            if not committing:
                _unlink(self._content_path(file_id))
            raise
        if current is not None:
            _unlink(self._content_path(current[1]))
        return info

    def _write_content(
        self, file_id: str, body: Readable | BinaryIO, size: int | None
    ) -> tuple[int, str]:
        """Stream ``body`` into a durable content file; return (size, hex MD5)."""
        tmp = os.path.join(self._tmp, file_id + ".part")
        final = self._content_path(file_id)
        directory = os.path.dirname(final)
        md5 = hashlib.md5(usedforsecurity=False)
        written = 0
        try:
            with create_private_file(tmp) as f:
                for chunk in iter_chunks(body, size):
                    md5.update(chunk)
                    f.write(chunk)
                    written += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            if not os.path.isdir(directory):
                make_private_dirs(directory)
                _fsync_dir(self._objects)
            os.replace(tmp, final)
            # The index will point at this name: the rename must be on disk first.
            _fsync_dir(directory)
        except BaseException:
            _unlink(tmp)
            _unlink(final)
            raise
        return written, md5.hexdigest()

    def _lookup(self, bucket: str, key: str) -> tuple[ObjectInfo, str]:
        with self._transaction() as conn:
            found = self._current(conn, self._bucket_id(conn, bucket), bucket, key)
        if found is None:
            raise NoSuchKey(bucket, key)
        return found

    def _open_content(self, path: str) -> BinaryIO:
        return open(path, "rb")  # closed by the body it goes into

    def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> ObjectBody:
        missing: str | None = None
        for _ in range(OPEN_ATTEMPTS):
            info, file_id = self._lookup(bucket, key)
            if file_id == missing:
                raise StoreError(f"{bucket}/{key}: content file {file_id} is missing")
            span = byte_range.resolve(info.size) if byte_range else None
            path = self._content_path(file_id)
            try:
                f = self._open_content(path)
            except FileNotFoundError:
                # A writer replaced or deleted the object between our lookup and the
                # open and unlinked the file the row named: look the key up again.
                missing = file_id
                continue
            # The open file is ours now: later overwrites and deletes cannot touch it.
            start, stop = span or (0, info.size)
            return ObjectBody(
                info,
                _read_span(f, start, stop),
                content_range=span,
                on_close=f.close,
                path=path,
                file=f,
            )
        raise StoreError(f"{bucket}/{key}: replaced too often to open")

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        return self._lookup(bucket, key)[0]

    def delete_object(self, bucket: str, key: str) -> None:
        self._space.freeing(lambda: self._delete_object(bucket, key))

    def _delete_object(self, bucket: str, key: str) -> None:
        with self._transaction("IMMEDIATE") as conn:
            bucket_id = self._bucket_id(conn, bucket)
            row = conn.execute(
                "SELECT file FROM objects WHERE bucket_id = ? AND key = ?",
                (bucket_id, _encode(key)),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "DELETE FROM objects WHERE bucket_id = ? AND key = ?",
                    (bucket_id, _encode(key)),
                )
        if row is not None:
            _unlink(self._content_path(row[0]))

    def delete_object_if(self, bucket: str, key: str, condition: DeleteCondition) -> None:
        # The check and the delete share one write transaction: atomic across processes.
        with self._transaction("IMMEDIATE") as conn:
            bucket_id = self._bucket_id(conn, bucket)
            current = self._current(conn, bucket_id, bucket, key)
            if not condition.allows(bucket, key, current[0] if current else None):
                return
            assert current is not None
            conn.execute(
                "DELETE FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, _encode(key))
            )
        _unlink(self._content_path(current[1]))

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
        with self._transaction() as conn:
            bucket_id = self._bucket_id(conn, bucket)
            upper = _successor(_encode(prefix)) if prefix else None

            def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
                bound, op = _encode(lower), ">=" if inclusive else ">"
                # Without a delimiter there is one seek and it needs max_keys + 1 rows.
                # With one, paginate seeks again past every common prefix and often
                # needs a single row from each seek, so batches start at 1 and double.
                batch = 1 if delimiter else min(max_keys + 1, MAX_BATCH)
                while True:
                    rows = self._fetch(conn, bucket_id, bound, op, upper, batch)
                    for row in rows:
                        yield _info(bucket, row)
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

    def _fetch(
        self,
        conn: sqlite3.Connection,
        bucket_id: int,
        lower: bytes,
        op: str,
        upper: bytes | None,
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """One indexed range query on the (bucket_id, key) primary key."""
        sql = f"SELECT {_COLUMNS} FROM objects WHERE bucket_id = ? AND key {op} ?"
        args: list[object] = [bucket_id, lower]
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return conn.execute(sql, args).fetchall()

    def storage_full(self) -> bool:
        return self._space.storage_full()

    def multipart_backend(self) -> FilesystemMultipart:
        """Native multipart: parts under ``parts/``, upload state in the index."""
        return self._multipart

    # ---- maintenance

    def bucket_stats(self) -> list[tuple[str, int, int]]:
        """(bucket, objects, bytes) for every bucket, by name, from the index alone."""
        with self._transaction() as conn:
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
        found = [p for p in self._files(self._tmp) if self._mtime(p) <= cutoff]
        with self._connection() as conn:  # no transaction: don't pin the WAL for a walk
            for sub in sorted(os.listdir(self._objects)):
                for path in self._files(os.path.join(self._objects, sub)):
                    if self._mtime(path) > cutoff:
                        continue
                    name = os.path.basename(path)
                    if not conn.execute(
                        "SELECT 1 FROM objects WHERE file = ? LIMIT 1", (name,)
                    ).fetchone():
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
