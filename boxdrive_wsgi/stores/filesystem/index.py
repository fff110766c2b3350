"""The filesystem store's index: buckets, object rows, bucket configuration and
multipart records in one SQLite database (WAL), behind a small pool of connections.

Keys are UTF-8 BLOBs: SQLite compares BLOBs with memcmp, which is UTF-8 byte order,
the order S3 lists in, so a listing page is a few indexed range queries with LIMIT.
Versions (schema 2): ``objects`` holds the latest version of each key when it is an
object (what list_objects lists); ``versions`` every other version and every delete
marker. ``seq`` orders a key's versions, newer ones smaller (so (key, seq) ascending is
S3's order: key, then newest first); a key's ``objects`` row, if any, has its smallest
seq. Each row names a content file of its own (copies hard-link), removed once the row
is gone. Schema 1 indexes are migrated in place: their rows become null versions of
never-versioned buckets.

Inline content (schema 3): a body of at most ``INLINE_MAX`` bytes, known in advance, is
kept in its row's ``body`` column instead of a content file (``file`` is then '').
The group commit's one WAL fsync then makes body and row durable together: no content
file, no file or directory fsync, nothing to unlink when it is replaced. Schema 2
indexes gain the (NULL) ``body`` columns in place; their rows keep their files.

Durability: SQLite runs with ``synchronous=FULL``, so a commit that returned survives
power loss (NORMAL would never corrupt the index either, but could lose the last
commits, and S3 clients take a 200 as durable). The writes of objects commit in
groups (``group``): one transaction and one WAL fsync for the writers that arrived
together, each acknowledged only after that COMMIT returned.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..documents import from_document, to_document
from ..errors import NoSuchBucket, StoreError
from ..file_modes import touch_private_file
from ..model import ObjectAttributes, ObjectInfo
from ..multipart.records import SCHEMA as MULTIPART_SCHEMA
from ..multipart.records import decode_key, encode_key
from .group import GroupCommit

DB_NAME = "index.sqlite3"
#: Taken by a process's group-commit leader around its write transaction (``group``).
LOCK_NAME = "index.lock"
SCHEMA_VERSION = 3
#: Bodies up to this many bytes are stored inline in their index row (see above).
INLINE_MAX = 64 * 1024
#: Seconds a connection waits for another writer's lock (sqlite busy_timeout).
BUSY_TIMEOUT = 30.0
#: Idle connections kept for reuse; more concurrent threads simply open more.
MAX_IDLE_CONNECTIONS = 32

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS buckets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,  -- Unix seconds (UTC)
        owner TEXT,
        versioning TEXT            -- NULL (never versioned) | Enabled | Suspended
    )""",
    """CREATE TABLE IF NOT EXISTS objects (
        bucket_id INTEGER NOT NULL,
        key BLOB NOT NULL,         -- UTF-8: memcmp order is the S3 listing order
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        modified INTEGER NOT NULL, -- Unix seconds (UTC)
        file TEXT NOT NULL,        -- content file id: objects/<file[:2]>/<file>; '' inline
        attrs TEXT NOT NULL,       -- ObjectAttributes as JSON
        version TEXT NOT NULL DEFAULT 'null',  -- version id, 'null' for the null version
        seq INTEGER NOT NULL DEFAULT 0,        -- see the module docstring
        body BLOB,                 -- the content when inline, else NULL (schema 3)
        PRIMARY KEY (bucket_id, key)
    ) WITHOUT ROWID""",
    # find_orphans asks whether a content file is referenced.
    "CREATE INDEX IF NOT EXISTS objects_file ON objects (file)",
    """CREATE TABLE IF NOT EXISTS versions (
        bucket_id INTEGER NOT NULL,
        key BLOB NOT NULL,
        seq INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        modified INTEGER NOT NULL,
        file TEXT NOT NULL,        -- '' for a delete marker or inline content
        attrs TEXT NOT NULL,
        version TEXT NOT NULL,
        marker INTEGER NOT NULL,   -- 1: a delete marker
        body BLOB,                 -- as in objects
        PRIMARY KEY (bucket_id, key, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS versions_file ON versions (file)",
    "CREATE INDEX IF NOT EXISTS versions_version ON versions (bucket_id, key, version)",
    """CREATE TABLE IF NOT EXISTS bucket_configs (
        bucket_id INTEGER NOT NULL,
        name TEXT NOT NULL,        -- tagging, cors, policy, ...
        value BLOB NOT NULL,
        PRIMARY KEY (bucket_id, name)
    ) WITHOUT ROWID""",
    *MULTIPART_SCHEMA,
)
COLUMNS = "key, size, etag, modified, attrs, version"
#: ``COLUMNS`` of the ``objects`` row joined as ``o``.
_JOINED = ", ".join(f"o.{name}" for name in COLUMNS.split(", "))

#: Columns older schemas lack, added in place (in this order) by the migration.
MIGRATIONS = (
    # schema 1 -> 2
    ("buckets", "versioning", "ALTER TABLE buckets ADD COLUMN versioning TEXT"),
    ("objects", "version", "ALTER TABLE objects ADD COLUMN version TEXT NOT NULL DEFAULT 'null'"),
    ("objects", "seq", "ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0"),
    # schema 2 -> 3
    ("objects", "body", "ALTER TABLE objects ADD COLUMN body BLOB"),
    ("versions", "body", "ALTER TABLE versions ADD COLUMN body BLOB"),
)

#: A current object: its info and its content file id ('' when inline).
Current = tuple[ObjectInfo, str]


class Stored(NamedTuple):
    """One object version as a read opens it: its content file id, or ('' and) the
    content itself when it is inline."""

    info: ObjectInfo
    file: str
    inline: bytes | None = None


def info_from_row(
    bucket: str,
    row: tuple[Any, ...],
    versioned: bool = False,
    *,
    is_latest: bool = True,
    delete_marker: bool = False,
    parsed: dict[str, ObjectAttributes] | None = None,
) -> ObjectInfo:
    """An ObjectInfo from the ``COLUMNS`` of an ``objects`` or ``versions`` row; its
    version id only if the bucket is ``versioned`` (ever was). ``parsed``: the
    attributes already decoded from the same JSON text, shared by the rows of one
    listing page (decoding them was most of a 1000-key page's time; many objects
    carry the same attributes)."""
    key, size, etag, modified, attrs, version = row
    attributes = None if parsed is None else parsed.get(attrs)
    if attributes is None:
        attributes = from_document(json.loads(attrs))
        if parsed is not None:
            parsed[attrs] = attributes
    return ObjectInfo(
        bucket=bucket,
        key=decode_key(bytes(key)),
        size=size,
        etag=etag,
        last_modified=datetime.fromtimestamp(modified, UTC),
        attributes=attributes,
        version_id=str(version) if versioned else None,
        is_latest=is_latest,
        delete_marker=delete_marker,
    )


def attrs_json(a: ObjectAttributes) -> str:
    # ASCII escapes: a lone surrogate (a surrogate-escaped header byte) cannot be UTF-8.
    return json.dumps(to_document(a))


class Index:
    """The SQLite index under ``root``. Safe for many threads (pooled connections, one
    thread at a time on each) and for processes sharing the file (SQLite locking)."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, DB_NAME)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._inherited: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        touch_private_file(self.path)
        self._init_schema()
        #: Where puts, copies and multipart completions commit (``group``).
        self.group = GroupCommit(self.connection, os.path.join(root, LOCK_NAME))

    # ---- connections

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False:
        # pooled connections move between threads, but only one thread uses one at a time.
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
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
                raise StoreError(f"{self.path}: SQLite WAL mode unavailable ({mode})")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: schema {version} is newer than this code")
            if version < SCHEMA_VERSION:
                self._migrate(conn)
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Schema 1 or 2 -> 3, in the schema transaction: add the columns it lacks
        (schema 1 rows become null versions of never-versioned buckets; every old row
        keeps its content file, ``body`` NULL); SCHEMA adds the rest."""
        for table, column, statement in MIGRATIONS:
            names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if names and column not in names:  # no table yet: SCHEMA creates it whole
                conn.execute(statement)

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
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection outside any transaction (walks that must not pin the WAL)."""
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
    def transaction(self, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
        """DEFERRED for reads (one snapshot); IMMEDIATE for writes, so that the write
        lock is taken up front and read-then-write cannot fail halfway with BUSY."""
        with self.connection() as conn:
            conn.execute(f"BEGIN {mode}")
            yield conn
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._forget_if_forked()
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # ---- queries (inside a transaction the caller holds)

    @staticmethod
    def bucket_id(conn: sqlite3.Connection, bucket: str) -> int:
        """The bucket's row id, or NoSuchBucket."""
        return Index.bucket(conn, bucket)[0]

    @staticmethod
    def bucket(conn: sqlite3.Connection, bucket: str) -> tuple[int, str | None]:
        """The bucket's row id and versioning status, or NoSuchBucket."""
        row = conn.execute(
            "SELECT id, versioning FROM buckets WHERE name = ?", (bucket,)
        ).fetchone()
        if row is None:
            raise NoSuchBucket(bucket)
        return int(row[0]), row[1]

    @staticmethod
    def current(
        conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str, versioned: bool = False
    ) -> Current | None:
        """The latest version under ``key`` if it is an object, and its content file id."""
        row = conn.execute(
            f"SELECT {COLUMNS}, file FROM objects WHERE bucket_id = ? AND key = ?",
            (bucket_id, encode_key(key)),
        ).fetchone()
        return None if row is None else (info_from_row(bucket, row[:6], versioned), str(row[6]))

    @staticmethod
    def current_file(conn: sqlite3.Connection, bucket_id: int, key: str) -> str | None:
        """The content file id ('' if inline) of the key's latest version if it is an
        object: ``current`` without building its info."""
        row = conn.execute(
            "SELECT file FROM objects WHERE bucket_id = ? AND key = ?",
            (bucket_id, encode_key(key)),
        ).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def bucket_and_current(
        conn: sqlite3.Connection, bucket: str, key: str
    ) -> tuple[str | None, Stored | None]:
        """The bucket's versioning status and its latest version under ``key`` if that
        is an object (with its content when inline), in one statement (a read snapshot
        of its own, without BEGIN and COMMIT: a GET or HEAD of an object is one call into
        SQLite). NoSuchBucket."""
        row = conn.execute(
            f"SELECT b.versioning, {_JOINED}, o.file, o.body FROM buckets b LEFT JOIN objects o"
            " ON o.bucket_id = b.id AND o.key = ? WHERE b.name = ?",
            (encode_key(key), bucket),
        ).fetchone()
        if row is None:
            raise NoSuchBucket(bucket)
        status = row[0]
        if row[1] is None:  # no object row: a delete marker, older versions, or nothing
            return status, None
        info = info_from_row(bucket, row[1:7], status is not None)
        return status, Stored(info, str(row[7]), None if row[8] is None else bytes(row[8]))

    @staticmethod
    def put_row(
        conn: sqlite3.Connection,
        bucket_id: int,
        info: ObjectInfo,
        file_id: str,
        version: str = "null",
        seq: int = 0,
        inline: bytes | None = None,
    ) -> None:
        """Insert or replace the row of ``info.key``, naming content file ``file_id``
        (or, with ``file_id`` '', holding its content ``inline``)."""
        conn.execute(
            "INSERT OR REPLACE INTO objects"
            " (bucket_id, key, size, etag, modified, file, attrs, version, seq, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bucket_id,
                encode_key(info.key),
                info.size,
                info.etag,
                int(info.last_modified.timestamp()),
                file_id,
                attrs_json(info.attributes),
                version,
                seq,
                inline,
            ),
        )

    @staticmethod
    def delete_row(conn: sqlite3.Connection, bucket_id: int, key: str) -> None:
        conn.execute(
            "DELETE FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, encode_key(key))
        )

    @staticmethod
    def referenced(conn: sqlite3.Connection, file_id: str) -> bool:
        """Whether a row (the latest version or any other) names content file ``file_id``."""
        if not file_id:  # inline rows and delete markers name no file
            return False
        for table in ("objects", "versions"):
            row = conn.execute(f"SELECT 1 FROM {table} WHERE file = ? LIMIT 1", (file_id,))
            if row.fetchone() is not None:
                return True
        return False

    @staticmethod
    def fetch(
        conn: sqlite3.Connection,
        bucket_id: int,
        lower: bytes,
        op: str,
        upper: bytes | None,
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """One indexed range query on the (bucket_id, key) primary key: ``COLUMNS`` of
        the keys ``op`` (``>`` or ``>=``) ``lower`` and below ``upper``, in order."""
        sql = f"SELECT {COLUMNS} FROM objects WHERE bucket_id = ? AND key {op} ?"
        args: list[object] = [bucket_id, lower]
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return conn.execute(sql, args).fetchall()

    # ---- bucket configuration slots

    def get_config(self, bucket: str, name: str) -> bytes | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT value FROM bucket_configs WHERE bucket_id = ? AND name = ?",
                (self.bucket_id(conn, bucket), name),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_config(self, bucket: str, name: str, value: bytes | None) -> None:
        with self.transaction("IMMEDIATE") as conn:
            bucket_id = self.bucket_id(conn, bucket)
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
