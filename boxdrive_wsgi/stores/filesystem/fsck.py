"""Consistency checks for a FilesystemStore root, for ``boxdrive-wsgi fsck``.

What a crash (kill -9, power loss) or a lost race can leave behind, none of it ever
visible to clients (a put commits its index row only after its content is durable):

- ``temp``: ``tmp/*.part`` files of uploads that never finished;
- ``orphan``: content files under ``objects/`` that no index row names (the latest
  version of a key or any other version);
- ``upload``: multipart uploads started long ago and never completed or aborted
  (clients that crashed), or whose bucket is gone;
- ``part``: part files under ``parts/`` that no upload records;
- ``missing``: index rows whose content file is gone (damage from outside: a
  restored backup, a manual delete). Reported, never "repaired": only a human can
  say whether to restore the file or delete the object. Inline rows (small bodies
  kept in the index itself) have no file to miss.

Files younger than ``older_than`` seconds are left alone, so fsck can run next to a
live server: a put renames its content into ``objects/`` just before it commits.
Each check is a generator of Problems over units of work (directories, rows), so
the CLI can show progress; ``repair`` re-checks each finding before it removes it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..multipart.records import delete_upload, part_recorded
from .index import Index
from .store import FilesystemStore


@dataclass(frozen=True)
class Problem:
    kind: str  # temp | orphan | upload | part | missing
    #: a file path, or ``bucket/key`` for uploads and missing content.
    subject: str
    detail: str = ""
    #: upload id, for kind ``upload``.
    upload_id: str | None = None

    @property
    def repairable(self) -> bool:
        return self.kind != "missing"

    def describe(self) -> str:
        labels = {
            "temp": "stale temp file",
            "orphan": "orphan content file",
            "upload": "abandoned multipart upload",
            "part": "orphan part file",
            "missing": "missing content file",
        }
        text = f"{labels[self.kind]}: {self.subject}"
        return f"{text} ({self.detail})" if self.detail else text


def _age(path: str, now: float) -> float | None:
    try:
        return now - os.stat(path).st_mtime
    except FileNotFoundError:
        return None


def _files(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.path for e in entries if e.is_file(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []


class Fsck:
    def __init__(self, store: FilesystemStore, *, older_than: float, uploads_older_than: float):
        self.store = store
        self.older_than = older_than
        self.uploads_older_than = uploads_older_than
        self.parts_dir = os.path.join(store.root, "parts")

    # ---- units of work (for progress bars)

    def content_dirs(self) -> list[str]:
        objects = self.store.content.objects_dir
        return sorted(os.path.join(objects, d) for d in os.listdir(objects))

    def object_count(self) -> int:
        """Rows ``missing_content`` walks: every version that has a content file."""
        with self.store.index.connection() as conn:
            latest = conn.execute("SELECT count(*) FROM objects WHERE file != ''").fetchone()[0]
            older = conn.execute(
                "SELECT count(*) FROM versions WHERE marker = 0 AND file != ''"
            ).fetchone()[0]
            return int(latest) + int(older)

    # ---- checks

    def temp_files(self) -> Iterator[Problem]:
        now = time.time()
        for path in _files(self.store.content.tmp_dir):
            age = _age(path, now)
            if age is not None and age >= self.older_than:
                yield Problem("temp", path, f"{age:.0f}s old")

    def orphans_in(self, directory: str) -> Iterator[Problem]:
        now = time.time()
        with self.store.index.connection() as conn:  # no transaction: don't pin the WAL
            for path in _files(directory):
                age = _age(path, now)
                if age is None or age < self.older_than:
                    continue
                if not self._referenced(conn, os.path.basename(path)):
                    yield Problem("orphan", path, f"{age:.0f}s old")

    @staticmethod
    def _referenced(conn: sqlite3.Connection, file_id: str) -> bool:
        return Index.referenced(conn, file_id)

    def missing_content(self, batch: int = 1000) -> Iterator[tuple[int, Problem | None]]:
        """Walk the index (latest versions, then the others) in batches; yields (rows
        done, problem or None) for progress."""
        yield from self._missing_in("objects", ("bucket_id", "key"), batch, "file != ''")
        yield from self._missing_in(
            "versions", ("bucket_id", "key", "seq"), batch, "marker = 0 AND o.file != ''"
        )

    def _missing_in(
        self, table: str, order: tuple[str, ...], batch: int, only: str = ""
    ) -> Iterator[tuple[int, Problem | None]]:
        # Keyset pagination on the table's primary key (row values use the index).
        columns = ", ".join(f"o.{c}" for c in order)
        marks = ", ".join("?" for _ in order)
        extra = f" AND o.{only}" if only else ""
        sql = (
            f"SELECT {columns}, o.file, o.version, b.name FROM {table} o"
            " LEFT JOIN buckets b ON b.id = o.bucket_id"
            f" WHERE ({columns}) > ({marks}){extra} ORDER BY {columns} LIMIT ?"
        )
        last: tuple[object, ...] = (-1, b"", -(2**62))[: len(order)]
        while True:
            with self.store.index.connection() as conn:
                rows = conn.execute(sql, (*last, batch)).fetchall()
            for row in rows:
                key, (file, version, name) = bytes(row[1]), row[len(order) :]
                path = self.store.content.path(file)
                found = None
                if not os.path.exists(path):
                    subject = f"{name}/{key.decode('utf-8', 'surrogatepass')}"
                    if table == "versions":
                        subject += f" (version {version})"
                    found = Problem("missing", subject, path)
                yield 1, found
                last = (row[0], key, *row[2 : len(order)])
            if len(rows) < batch:
                return

    def abandoned_uploads(self) -> Iterator[Problem]:
        uploads = self.store.multipart.abandoned_uploads(self.uploads_older_than)
        for upload in uploads:
            where = f"{upload.bucket}/{upload.key}" if upload.bucket else f"(deleted)/{upload.key}"
            detail = f"id {upload.upload_id}, initiated {upload.initiated:%Y-%m-%d %H:%M:%S}Z"
            yield Problem("upload", where, detail, upload_id=upload.upload_id)

    def orphan_parts(self) -> Iterator[Problem]:
        now = time.time()
        with self.store.index.connection() as conn:
            for path in _files(self.parts_dir):
                age = _age(path, now)
                if age is None or age < self.older_than:
                    continue
                if not part_recorded(conn, os.path.basename(path)):
                    yield Problem("part", path, f"{age:.0f}s old")

    # ---- repair

    def repair(self, problem: Problem) -> bool:
        """Remove what ``problem`` names, if it is still a problem; True when done."""
        if problem.kind in ("temp", "part"):
            return self._remove(problem.subject)
        if problem.kind == "orphan":
            with self.store.index.connection() as conn:
                if self._referenced(conn, os.path.basename(problem.subject)):
                    return True  # committed meanwhile: not an orphan after all
            return self._remove(problem.subject)
        if problem.kind == "upload" and problem.upload_id:
            with self.store.index.transaction("IMMEDIATE") as conn:
                files = delete_upload(conn, problem.upload_id)
            return all([self._remove(os.path.join(self.parts_dir, f)) for f in files])
        return False

    @staticmethod
    def _remove(path: str) -> bool:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            return False
        return True
