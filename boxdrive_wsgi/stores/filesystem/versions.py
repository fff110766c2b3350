"""The filesystem store's version rows: one commit step for every write (put, copy,
multipart completion) that knows versioning, deletes (markers, by version), lookups
by version and the version listing, all inside a transaction the caller holds.

See ``index`` for the tables: ``objects`` has the latest version of a key when it is
an object, ``versions`` every other version and every delete marker, and ``seq``
orders a key's versions (newer smaller). Every function keeps these invariants:
a key's ``objects`` row, if any, has the key's smallest seq; a key without one has
a delete marker as its latest, or no version at all. Content files of rows a step
removed are returned to the caller, to unlink after COMMIT (never before: a crash
between them leaves an orphan for fsck, never a row without content).
"""

from __future__ import annotations

import heapq
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..errors import NoSuchKey, NoSuchVersion, VersionIsDeleteMarker
from ..model import (
    ENABLED,
    NULL_VERSION,
    SUSPENDED,
    DeleteResult,
    ObjectAttributes,
    ObjectInfo,
)
from ..multipart.records import encode_key
from ..versions import is_version_id, new_version_id
from .index import COLUMNS, Index, Stored, attrs_json, info_from_row

#: Called with a version about to be removed for good; may raise to refuse.
DeleteGuard = Callable[[ObjectInfo], None] | None

#: Columns of a ``versions`` row as ``version_row`` reads them.
_VCOLUMNS = f"{COLUMNS}, seq, marker, file"


@dataclass(frozen=True)
class Found:
    """One version row: where it lives, its info, order and content file ('' if marker
    or inline), and its content if inline (when the query read it)."""

    table: str  # "objects" | "versions"
    info: ObjectInfo
    seq: int
    file: str
    inline: bytes | None = None

    @property
    def marker(self) -> bool:
        return self.info.delete_marker


def _found(table: str, bucket: str, row: tuple[Any, ...], versioned: bool, latest: bool) -> Found:
    marker = table == "versions" and bool(row[7])
    info = info_from_row(bucket, row[:6], versioned, is_latest=latest, delete_marker=marker)
    at = 7 if table == "objects" else 8  # the file column; body (if read) follows it
    body = row[at + 1] if len(row) > at + 1 else None
    return Found(table, info, int(row[6]), str(row[at]), None if body is None else bytes(body))


def _select(table: str, body: bool = False) -> str:
    """The columns ``_found`` reads; with ``body``, inline content too (point lookups:
    listings never read it)."""
    extra = ", body" if body else ""
    if table == "objects":
        return f"SELECT {COLUMNS}, seq, file{extra} FROM objects"
    return f"SELECT {_VCOLUMNS}{extra} FROM versions"


# --------------------------------------------------------------------------- lookups


def newest(
    conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str, versioned: bool
) -> Found | None:
    """The latest version of ``key`` (an object or a delete marker), or None."""
    kb = encode_key(key)
    row = conn.execute(
        f"{_select('objects', True)} WHERE bucket_id = ? AND key = ?", (bucket_id, kb)
    ).fetchone()
    if row is not None:
        return _found("objects", bucket, row, versioned, True)
    row = conn.execute(
        f"{_select('versions', True)} WHERE bucket_id = ? AND key = ? ORDER BY seq LIMIT 1",
        (bucket_id, kb),
    ).fetchone()
    return None if row is None else _found("versions", bucket, row, versioned, True)


def find(
    conn: sqlite3.Connection,
    bucket_id: int,
    bucket: str,
    key: str,
    version_id: str,
    versioned: bool,
) -> Found | None:
    """Version ``version_id`` of ``key`` (object or marker), or None."""
    kb = encode_key(key)
    row = conn.execute(
        f"{_select('objects', True)} WHERE bucket_id = ? AND key = ? AND version = ?",
        (bucket_id, kb, version_id),
    ).fetchone()
    if row is not None:
        return _found("objects", bucket, row, versioned, True)
    row = conn.execute(
        f"{_select('versions', True)} WHERE bucket_id = ? AND key = ? AND version = ?",
        (bucket_id, kb, version_id),
    ).fetchone()
    if row is None:
        return None
    found = _found("versions", bucket, row, versioned, False)
    top = newest(conn, bucket_id, bucket, key, versioned)
    if top is not None and top.seq == found.seq:
        return replace(found, info=replace(found.info, is_latest=True))
    return found


def lookup(
    conn: sqlite3.Connection,
    bucket_id: int,
    bucket: str,
    key: str,
    version_id: str | None,
    versioned: bool,
) -> Stored:
    """What a read of ``key`` (latest, or ``version_id``) opens, or the error S3 gives:
    NoSuchKey (with ``delete_marker`` when the latest is one), NoSuchVersion,
    VersionIsDeleteMarker."""
    if version_id is None:
        found = newest(conn, bucket_id, bucket, key, versioned)
        if found is None:
            raise NoSuchKey(bucket, key)
        if found.marker:
            raise NoSuchKey(bucket, key, delete_marker=True, version_id=found.info.version_id)
        return Stored(found.info, found.file, found.inline)
    found = (
        find(conn, bucket_id, bucket, key, version_id, versioned)
        if is_version_id(version_id)
        else None
    )
    if found is None:
        if not versioned and version_id == NULL_VERSION:
            raise NoSuchKey(bucket, key)
        raise NoSuchVersion(bucket, key, version_id)
    if found.marker:
        raise VersionIsDeleteMarker(bucket, key, version_id, found.info.last_modified)
    return Stored(found.info, found.file, found.inline)


# --------------------------------------------------------------------------- row moves


def _next_seq(conn: sqlite3.Connection, bucket_id: int, kb: bytes) -> int:
    """A seq smaller than every version of the key has (0 for a key without any)."""
    row = conn.execute(
        "SELECT min(s) FROM (SELECT seq AS s FROM objects WHERE bucket_id = ? AND key = ?"
        " UNION ALL SELECT min(seq) FROM versions WHERE bucket_id = ? AND key = ?)",
        (bucket_id, kb, bucket_id, kb),
    ).fetchone()
    return 0 if row[0] is None else int(row[0]) - 1


def _demote(conn: sqlite3.Connection, bucket_id: int, kb: bytes) -> None:
    """The key's ``objects`` row (if any) becomes a noncurrent version."""
    conn.execute(
        "INSERT INTO versions"
        " (bucket_id, key, seq, size, etag, modified, file, attrs, version, marker, body)"
        " SELECT bucket_id, key, seq, size, etag, modified, file, attrs, version, 0, body"
        " FROM objects WHERE bucket_id = ? AND key = ?",
        (bucket_id, kb),
    )
    conn.execute("DELETE FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, kb))


def _promote(conn: sqlite3.Connection, bucket_id: int, kb: bytes) -> None:
    """If the key has no ``objects`` row and its newest version is an object, move it
    there (it became the latest)."""
    if conn.execute(
        "SELECT 1 FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, kb)
    ).fetchone():
        return
    row = conn.execute(
        "SELECT seq, marker FROM versions WHERE bucket_id = ? AND key = ? ORDER BY seq LIMIT 1",
        (bucket_id, kb),
    ).fetchone()
    if row is None or row[1]:
        return
    conn.execute(
        "INSERT INTO objects"
        " (bucket_id, key, size, etag, modified, file, attrs, version, seq, body)"
        " SELECT bucket_id, key, size, etag, modified, file, attrs, version, seq, body"
        " FROM versions WHERE bucket_id = ? AND key = ? AND seq = ?",
        (bucket_id, kb, row[0]),
    )
    conn.execute(
        "DELETE FROM versions WHERE bucket_id = ? AND key = ? AND seq = ?", (bucket_id, kb, row[0])
    )


def _remove(conn: sqlite3.Connection, bucket_id: int, kb: bytes, found: Found) -> list[str]:
    """Remove one version row; return its content file (to unlink after COMMIT; ''
    for inline content, which goes with the row)."""
    if found.table == "objects":
        conn.execute("DELETE FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, kb))
    else:
        conn.execute(
            "DELETE FROM versions WHERE bucket_id = ? AND key = ? AND seq = ?",
            (bucket_id, kb, found.seq),
        )
    return [] if found.marker else [found.file]


def _unreferenced(conn: sqlite3.Connection, files: list[str]) -> list[str]:
    """The files no row names any more (each row has a file of its own; a guard); ''
    (a marker's, inline content's) is no file."""
    return [f for f in files if f and not Index.referenced(conn, f)]


# --------------------------------------------------------------------------- writes


def commit(
    conn: sqlite3.Connection,
    bucket_id: int,
    status: str | None,
    info: ObjectInfo,
    file_id: str,
    current_file: str | None,
    inline: bytes | None = None,
) -> tuple[ObjectInfo, list[str]]:
    """Make ``info`` (content in ``file_id``, or ``inline`` with ``file_id`` '') the
    latest version of its key, as the bucket's versioning ``status`` says: never
    versioned: it replaces the object (whose content is ``current_file``, looked up in
    this transaction); Enabled: a new version; Suspended: it replaces the null version.
    Returns the info as committed (its version id) and the content files to unlink
    after COMMIT."""
    kb = encode_key(info.key)
    drop: list[str] = []
    if status is None:
        if current_file is not None:
            drop.append(current_file)
        version, seq = NULL_VERSION, 0
    else:
        seq = _next_seq(conn, bucket_id, kb)
        version = new_version_id() if status == ENABLED else NULL_VERSION
        if version == NULL_VERSION:
            drop += _remove_null(conn, bucket_id, info.bucket, info.key)
        _demote(conn, bucket_id, kb)
    Index.put_row(conn, bucket_id, info, file_id, version, seq, inline)
    committed = replace(info, version_id=None if status is None else version, is_latest=True)
    return committed, _unreferenced(conn, drop)


def _remove_null(
    conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str, guard: DeleteGuard = None
) -> list[str]:
    found = find(conn, bucket_id, bucket, key, NULL_VERSION, True)
    if found is None:
        return []
    if guard is not None:
        guard(found.info)
    return _remove(conn, bucket_id, encode_key(key), found)


def delete_latest(
    conn: sqlite3.Connection,
    bucket_id: int,
    status: str | None,
    bucket: str,
    key: str,
    *,
    guard: DeleteGuard = None,
    owner: str | None = None,
) -> tuple[DeleteResult, list[str]]:
    """DeleteObject without a version: remove the object (never versioned), or add a
    delete marker (Enabled: a new one; Suspended: the null version becomes one)."""
    kb = encode_key(key)
    if status is None:
        found = newest(conn, bucket_id, bucket, key, False)
        if found is None:
            return DeleteResult(), []
        if guard is not None:
            guard(found.info)
        return DeleteResult(), _unreferenced(conn, _remove(conn, bucket_id, kb, found))
    seq = _next_seq(conn, bucket_id, kb)
    drop: list[str] = []
    version = new_version_id() if status == ENABLED else NULL_VERSION
    if status == SUSPENDED:
        drop = _remove_null(conn, bucket_id, bucket, key, guard)
    _demote(conn, bucket_id, kb)
    conn.execute(
        "INSERT INTO versions"
        " (bucket_id, key, seq, size, etag, modified, file, attrs, version, marker)"
        " VALUES (?, ?, ?, 0, '', ?, '', ?, ?, 1)",
        (
            bucket_id,
            kb,
            seq,
            int(time.time()),
            attrs_json(ObjectAttributes(owner=owner)),
            version,
        ),
    )
    return DeleteResult(version, True), _unreferenced(conn, drop)


def delete_version(
    conn: sqlite3.Connection,
    bucket_id: int,
    status: str | None,
    bucket: str,
    key: str,
    version_id: str,
    *,
    guard: DeleteGuard = None,
) -> tuple[DeleteResult, list[str]]:
    """DeleteObject with a version: remove that version or marker for good; the next
    newest becomes the latest. An unknown id of our format is no error."""
    if not is_version_id(version_id):
        raise NoSuchVersion(bucket, key, version_id)
    shown = None if status is None else version_id
    found = find(conn, bucket_id, bucket, key, version_id, status is not None)
    if found is None:
        return DeleteResult(shown, False), []
    if guard is not None:
        guard(found.info)
    kb = encode_key(key)
    drop = _remove(conn, bucket_id, kb, found)
    _promote(conn, bucket_id, kb)
    return DeleteResult(shown, found.marker), _unreferenced(conn, drop)


def set_attributes(
    conn: sqlite3.Connection, bucket_id: int, found: Found, attributes: ObjectAttributes
) -> None:
    """Replace the attributes of one version row (content, ETag, dates stay)."""
    kb = encode_key(found.info.key)
    if found.table == "objects":
        conn.execute(
            "UPDATE objects SET attrs = ? WHERE bucket_id = ? AND key = ?",
            (attrs_json(attributes), bucket_id, kb),
        )
    else:
        conn.execute(
            "UPDATE versions SET attrs = ? WHERE bucket_id = ? AND key = ? AND seq = ?",
            (attrs_json(attributes), bucket_id, kb, found.seq),
        )


def has_versions(conn: sqlite3.Connection, bucket_id: int) -> bool:
    """Whether the bucket holds any version or delete marker."""
    for table in ("objects", "versions"):
        sql = f"SELECT 1 FROM {table} WHERE bucket_id = ? LIMIT 1"
        if conn.execute(sql, (bucket_id,)).fetchone():
            return True
    return False


# --------------------------------------------------------------------------- listing


def fetch(conn: sqlite3.Connection, sql: str, params: list[object]) -> Iterator[tuple[Any, ...]]:
    """One range query of a version listing, stepped lazily: SQLite reads a row of the
    index only when the listing asks for it, so a page reads what it returns and one
    row more, from each table. (A seam for tests that count rows.)"""
    return iter(conn.execute(sql, params))


def _rows(
    conn: sqlite3.Connection,
    table: str,
    bucket_id: int,
    lower: bytes,
    op: str,
    upper: bytes | None,
) -> Iterator[tuple[tuple[bytes, int], tuple[Any, ...]]]:
    """((key, seq), row) of one table from ``lower`` on, in (key, seq) order: one
    indexed range query on the table's primary key."""
    sql = f"{_select(table)} WHERE bucket_id = ? AND key {op} ?"
    params: list[object] = [bucket_id, lower]
    if upper is not None:
        sql += " AND key < ?"
        params.append(upper)
    sql += " ORDER BY key, seq" if table == "versions" else " ORDER BY key"
    for row in fetch(conn, sql, params):
        yield (bytes(row[0]), int(row[6])), row


def seek_versions(
    conn: sqlite3.Connection,
    bucket_id: int,
    bucket: str,
    lower: bytes,
    op: str,
    upper: bytes | None,
) -> Iterator[ObjectInfo]:
    """Every version and marker of the keys ``op`` ``lower`` (and below ``upper``), by
    key then newest first: the two tables merged, each read by indexed range queries."""
    merged = heapq.merge(
        ((k, "objects", r) for k, r in _rows(conn, "objects", bucket_id, lower, op, upper)),
        ((k, "versions", r) for k, r in _rows(conn, "versions", bucket_id, lower, op, upper)),
        key=lambda item: item[0],
    )
    previous: bytes | None = None
    for (kb, _), table, row in merged:
        yield _found(table, bucket, row, True, kb != previous).info
        previous = kb


def versions_after(
    conn: sqlite3.Connection, bucket_id: int, bucket: str, key: str, version_id: str
) -> Iterator[ObjectInfo]:
    """The versions of ``key`` older than ``version_id`` (none if it has no such)."""
    found = (
        find(conn, bucket_id, bucket, key, version_id, True) if is_version_id(version_id) else None
    )
    if found is None:
        return
    sql = f"{_select('versions')} WHERE bucket_id = ? AND key = ? AND seq > ? ORDER BY seq"
    for row in fetch(conn, sql, [bucket_id, encode_key(key), found.seq]):
        yield _found("versions", bucket, row, True, False).info
