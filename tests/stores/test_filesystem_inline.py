"""FilesystemStore inline content: bodies of at most INLINE_MAX bytes (size known up
front) live in their index row, not in a content file. Where the threshold falls,
reads (whole, ranged, by version), overwrites inline <-> file both ways, copies, delete
markers, fsck, a truncated body, the schema 2 -> 3 migration, and kill -9 after the
acknowledgment of an inline put."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boxdrive_wsgi.stores.base import ByteRange, IncompleteBody, NoSuchKey
from boxdrive_wsgi.stores.filesystem import DB_NAME, FilesystemStore
from boxdrive_wsgi.stores.filesystem.fsck import Fsck
from boxdrive_wsgi.stores.filesystem.index import INLINE_MAX, SCHEMA_VERSION
from boxdrive_wsgi.stores.model import ENABLED, SUSPENDED, ObjectInfo
from boxdrive_wsgi.stores.versions import new_version_id

BUCKET = "ib"
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(root: Path) -> Iterator[FilesystemStore]:
    s = FilesystemStore(root)
    s.create_bucket(BUCKET)
    try:
        yield s
    finally:
        s.close()


def put(store: FilesystemStore, key: str, data: bytes) -> ObjectInfo:
    return store.put_object(BUCKET, key, io.BytesIO(data), size=len(data))


def content_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


def rows(root: Path, table: str = "objects") -> list[tuple[Any, ...]]:
    """(key, file, body) of every row of ``table``, read straight from the index."""
    with sqlite3.connect(root / DB_NAME) as db:
        found = db.execute(f"SELECT key, file, body FROM {table} ORDER BY key, seq").fetchall()
    db.close()
    return [(bytes(k).decode(), f, None if b is None else bytes(b)) for k, f, b in found]


def test_small_bodies_live_in_the_row_and_large_ones_in_files(
    store: FilesystemStore, root: Path
) -> None:
    small, edge, large = b"s" * 100, os.urandom(INLINE_MAX), os.urandom(INLINE_MAX + 1)
    for key, data in (("small", small), ("edge", edge), ("large", large), ("empty", b"")):
        info = put(store, key, data)
        assert info.etag == hashlib.md5(data).hexdigest() and info.size == len(data)
    by_key = {k: (f, b) for k, f, b in rows(root)}
    assert by_key["small"] == ("", small)
    assert by_key["edge"] == ("", edge)
    assert by_key["empty"] == ("", b"")
    assert by_key["large"][1] is None and by_key["large"][0]
    assert [p.name for p in content_files(root)] == [by_key["large"][0]]
    for key, data in (("small", small), ("edge", edge), ("large", large), ("empty", b"")):
        assert store.get_object(BUCKET, key).read_all() == data
        assert store.head_object(BUCKET, key).size == len(data)


def test_a_body_of_unknown_size_goes_to_a_file(store: FilesystemStore, root: Path) -> None:
    store.put_object(BUCKET, "k", io.BytesIO(b"abc"))
    ((_, file, body),) = rows(root)
    assert body is None and [p.name for p in content_files(root)] == [file]
    assert store.get_object(BUCKET, "k").read_all() == b"abc"


def test_inline_reads_whole_and_ranged_have_no_path(store: FilesystemStore) -> None:
    put(store, "k", b"0123456789")
    with store.get_object(BUCKET, "k") as whole:
        assert whole.path is None and whole.file is None
        assert b"".join(whole) == b"0123456789"
    ranged = store.get_object(BUCKET, "k", byte_range=ByteRange(2, 5))
    assert ranged.content_range == (2, 6)
    assert ranged.read_all() == b"2345"


def test_a_short_body_commits_nothing(store: FilesystemStore, root: Path) -> None:
    with pytest.raises(IncompleteBody):
        store.put_object(BUCKET, "k", io.BytesIO(b"abc"), size=10)
    with pytest.raises(NoSuchKey):
        store.head_object(BUCKET, "k")
    assert rows(root) == [] and content_files(root) == []


def test_overwrites_between_inline_and_file_both_ways(store: FilesystemStore, root: Path) -> None:
    large = os.urandom(INLINE_MAX + 10)
    put(store, "k", b"small one")
    put(store, "k", large)  # inline -> file
    assert store.get_object(BUCKET, "k").read_all() == large
    (file,) = content_files(root)
    assert rows(root) == [("k", file.name, None)]
    put(store, "k", b"small two")  # file -> inline: the replaced file is unlinked
    assert store.get_object(BUCKET, "k").read_all() == b"small two"
    assert content_files(root) == []
    assert rows(root) == [("k", "", b"small two")]
    assert store.find_orphans(older_than=0) == []


def test_a_reader_keeps_the_inline_version_it_opened(store: FilesystemStore) -> None:
    put(store, "k", b"first")
    body = store.get_object(BUCKET, "k")
    put(store, "k", b"second")
    store.delete_object(BUCKET, "k")
    assert body.read_all() == b"first"


def test_copies_of_inline_objects_are_inline(store: FilesystemStore, root: Path) -> None:
    put(store, "src", b"copied bytes")
    large = os.urandom(INLINE_MAX + 1)
    put(store, "big", large)
    store.copy_object(BUCKET, "src", BUCKET, "dst")
    store.copy_object(BUCKET, "big", BUCKET, "big-copy")  # a file stays a (linked) file
    store.delete_object(BUCKET, "src")
    store.delete_object(BUCKET, "big")
    assert store.get_object(BUCKET, "dst").read_all() == b"copied bytes"
    assert store.get_object(BUCKET, "big-copy").read_all() == large
    assert ("dst", "", b"copied bytes") in rows(root)
    assert len(content_files(root)) == 1
    assert store.find_orphans(older_than=0) == []


def test_inline_versions_markers_and_suspension(store: FilesystemStore, root: Path) -> None:
    store.set_bucket_versioning(BUCKET, ENABLED)
    v1 = put(store, "k", b"one").version_id
    v2 = put(store, "k", os.urandom(INLINE_MAX + 1)).version_id
    v3 = put(store, "k", b"three").version_id
    store.delete_object(BUCKET, "k")  # a marker on top
    with pytest.raises(NoSuchKey):
        store.get_object(BUCKET, "k")
    assert store.get_object(BUCKET, "k", version_id=v1).read_all() == b"one"
    assert store.get_object(BUCKET, "k", version_id=v3).read_all() == b"three"
    ranged = store.get_object(BUCKET, "k", version_id=v1, byte_range=ByteRange(1, None))
    assert ranged.read_all() == b"ne"
    assert len(content_files(root)) == 1  # only v2 has a file
    store.copy_object(BUCKET, "k", BUCKET, "restored", source_version_id=v1)
    assert store.get_object(BUCKET, "restored").read_all() == b"one"
    # Removing the marker makes v3 (inline, in ``versions``) the latest again.
    marker = store.list_object_versions(BUCKET, prefix="k").versions[0]
    assert marker.delete_marker
    store.delete_object(BUCKET, "k", version_id=marker.version_id)
    assert store.get_object(BUCKET, "k").read_all() == b"three"
    # Suspended: the null version is replaced in place, inline both times.
    store.set_bucket_versioning(BUCKET, SUSPENDED)
    put(store, "k", b"null one")
    put(store, "k", b"null two")
    assert store.get_object(BUCKET, "k", version_id="null").read_all() == b"null two"
    for version in (v1, v2, v3):
        assert version is not None
        store.delete_object(BUCKET, "k", version_id=version)
    assert content_files(root) == []
    ids = [v.version_id for v in store.list_object_versions(BUCKET, prefix="k").versions]
    assert ids == ["null"]
    assert store.find_orphans(older_than=0) == []


def test_fsck_finds_nothing_missing_in_inline_rows(store: FilesystemStore, root: Path) -> None:
    store.set_bucket_versioning(BUCKET, ENABLED)
    put(store, "a", b"one")
    put(store, "a", b"two")
    put(store, "b", os.urandom(INLINE_MAX + 1))
    check = Fsck(store, older_than=0, uploads_older_than=0)
    assert check.object_count() == 1  # only b has a content file to look for
    assert [p for _, p in check.missing_content() if p] == []
    (file,) = content_files(root)
    file.unlink()
    missing = [p for _, p in check.missing_content() if p]
    assert [p.subject for p in missing] == [f"{BUCKET}/b"]


#: The objects and versions tables of schema 2 (before inline content).
SCHEMA_2_TABLES = (
    "CREATE TABLE buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL, owner TEXT, versioning TEXT)",
    "CREATE TABLE objects (bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
    " size INTEGER NOT NULL, etag TEXT NOT NULL, modified INTEGER NOT NULL,"
    " file TEXT NOT NULL, attrs TEXT NOT NULL, version TEXT NOT NULL DEFAULT 'null',"
    " seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (bucket_id, key)) WITHOUT ROWID",
    "CREATE INDEX objects_file ON objects (file)",
    "CREATE TABLE versions (bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
    " seq INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
    " modified INTEGER NOT NULL, file TEXT NOT NULL, attrs TEXT NOT NULL,"
    " version TEXT NOT NULL, marker INTEGER NOT NULL,"
    " PRIMARY KEY (bucket_id, key, seq)) WITHOUT ROWID",
)


def test_schema_2_index_is_migrated_in_place(root: Path) -> None:
    (root / "objects" / "ab").mkdir(parents=True)
    (root / "objects" / "ab" / "ab01").write_bytes(b"latest")
    (root / "objects" / "ab" / "ab02").write_bytes(b"older")
    attrs = json.dumps({})
    v_new, v_old = new_version_id(), new_version_id()
    with sqlite3.connect(root / DB_NAME) as db:
        for statement in SCHEMA_2_TABLES:
            db.execute(statement)
        db.execute("INSERT INTO buckets VALUES (1, 'old', 1700000000, 'me', 'Enabled')")
        db.execute(
            "INSERT INTO objects VALUES (1, ?, 6, 'e1', 1700000000, 'ab01', ?, ?, -1)",
            (b"k", attrs, v_new),
        )
        db.execute(
            "INSERT INTO versions VALUES (1, ?, 0, 5, 'e2', 1700000000, 'ab02', ?, ?, 0)",
            (b"k", attrs, v_old),
        )
        db.execute("PRAGMA user_version = 2")
    db.close()
    store = FilesystemStore(root)
    try:
        assert SCHEMA_VERSION == 3
        with sqlite3.connect(root / DB_NAME) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (3,)
        db.close()
        assert store.get_object("old", "k").read_all() == b"latest"
        assert store.get_object("old", "k", version_id=v_old).read_all() == b"older"
        new = store.put_object("old", "k", io.BytesIO(b"inline now"), size=10)
        assert store.get_object("old", "k").read_all() == b"inline now"
        ids = [v.version_id for v in store.list_object_versions("old").versions]
        assert ids == [new.version_id, v_new, v_old]
        assert store.get_object("old", "k", version_id=v_new).read_all() == b"latest"
        assert store.find_orphans(older_than=0) == []
    finally:
        store.close()
    FilesystemStore(root).close()  # opening a schema 3 index again changes nothing


def _put_and_report(root: str, acked: Any) -> None:
    """Put small objects one after another, reporting each once put_object returned
    (the 200), until killed."""
    store = FilesystemStore(root)
    n = 0
    while True:
        data = f"body {n}".encode() * 10
        store.put_object(BUCKET, f"k{n}", io.BytesIO(data), size=len(data))
        acked.put(n)
        n += 1


def test_kill_9_after_acknowledged_inline_puts_keeps_every_one(
    store: FilesystemStore, root: Path
) -> None:
    acked = SPAWN.Queue()
    proc = SPAWN.Process(target=_put_and_report, args=(str(root), acked))
    proc.start()
    done: list[int] = []
    try:
        while len(done) < 20:
            done.append(acked.get(timeout=60))
    finally:
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
    again = FilesystemStore(root)
    try:
        for n in done:
            expected = f"body {n}".encode() * 10
            assert again.get_object(BUCKET, f"k{n}").read_all() == expected
        assert again.find_orphans(older_than=0) == []
        assert content_files(root) == []
    finally:
        again.close()
