"""The records of multipart uploads in SQLite: uploads, their parts and ETags, and the
paged queries ListParts and ListMultipartUploads need.

Shared by the staged default (its own database) and FilesystemStore (its index).
Upload ids are ``<16 hex digits of time_ns><16 random hex digits>``, so sorting by id is
sorting by initiation, which is the order ListMultipartUploads wants within a key.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..documents import from_document, to_document
from ..errors import NoSuchUpload
from ..model import ObjectAttributes, PartInfo, PartPage, UploadInfo, UploadPage
from .parts import upload_id_of

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


def new_upload_id() -> str:
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


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


def part_recorded(conn: sqlite3.Connection, file_name: str) -> bool:
    """Whether a part file is recorded as a part of its upload (else: an orphan)."""
    return (
        conn.execute(
            "SELECT 1 FROM multipart_parts WHERE upload_id = ? AND file = ? LIMIT 1",
            (upload_id_of(file_name), file_name),
        ).fetchone()
        is not None
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
