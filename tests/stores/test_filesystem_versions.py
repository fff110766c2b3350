"""FilesystemStore versions beyond the contract kit: the schema 1 -> 2 migration, content
shared by hard link, fsck over versions, kill -9 mid-write of a versioned put, and
version listings that cost O(page) (rows fetched, not time)."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boxdrive_wsgi.stores.base import CHUNK_SIZE
from boxdrive_wsgi.stores.filesystem import DB_NAME, FilesystemStore
from boxdrive_wsgi.stores.filesystem import versions as fs_versions
from boxdrive_wsgi.stores.filesystem.fsck import Fsck
from boxdrive_wsgi.stores.filesystem.index import SCHEMA_VERSION

from .test_filesystem import _StallingBody

BUCKET = "vb"
SPAWN = multiprocessing.get_context("spawn")

#: The schema 1 tables as they were created before versioning (only what the test needs).
SCHEMA_1 = (
    "CREATE TABLE buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL, owner TEXT)",
    "CREATE TABLE objects (bucket_id INTEGER NOT NULL, key BLOB NOT NULL,"
    " size INTEGER NOT NULL, etag TEXT NOT NULL, modified INTEGER NOT NULL,"
    " file TEXT NOT NULL, attrs TEXT NOT NULL, PRIMARY KEY (bucket_id, key)) WITHOUT ROWID",
    "CREATE INDEX objects_file ON objects (file)",
    "CREATE TABLE bucket_configs (bucket_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " value BLOB NOT NULL, PRIMARY KEY (bucket_id, name)) WITHOUT ROWID",
)


def put(store: FilesystemStore, key: str, data: bytes) -> str | None:
    return store.put_object(BUCKET, key, io.BytesIO(data), size=len(data)).version_id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


#: Marks a test whose store keeps every body in a content file (not inline).
FILES = pytest.mark.parametrize("store", ["files"], indirect=True)


@pytest.fixture
def store(root: Path, request: pytest.FixtureRequest) -> Iterator[FilesystemStore]:
    files = getattr(request, "param", None) == "files"
    s = FilesystemStore(root, inline_max=-1) if files else FilesystemStore(root)
    s.create_bucket(BUCKET, owner="owner-1")
    s.set_bucket_versioning(BUCKET, "Enabled")
    try:
        yield s
    finally:
        s.close()


def test_schema_1_index_is_migrated_in_place(root: Path) -> None:
    root.mkdir()
    (root / "objects" / "ab").mkdir(parents=True)
    (root / "objects" / "ab" / "ab01").write_bytes(b"old bytes")
    with sqlite3.connect(root / DB_NAME) as db:
        for statement in SCHEMA_1:
            db.execute(statement)
        db.execute(
            "INSERT INTO buckets (id, name, created, owner) VALUES (1, 'old', 1700000000, 'me')"
        )
        db.execute(
            "INSERT INTO objects VALUES (1, ?, 9, 'e', 1700000000, 'ab01', ?)",
            (b"k", json.dumps({"metadata": {"m": "1"}})),
        )
        db.execute("PRAGMA user_version = 1")
    db.close()
    store = FilesystemStore(root)
    try:
        assert SCHEMA_VERSION == 3
        with sqlite3.connect(root / DB_NAME) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (3,)
        db.close()
        bucket = store.head_bucket("old")
        assert (bucket.owner, bucket.versioning) == ("me", None)
        info = store.head_object("old", "k")
        assert (info.version_id, dict(info.metadata)) == (None, {"m": "1"})
        assert store.get_object("old", "k", version_id="null").read_all() == b"old bytes"
        store.set_bucket_versioning("old", "Enabled")
        new = store.put_object("old", "k", io.BytesIO(b"new"), size=3)
        page = store.list_object_versions("old")
        assert [(v.version_id, v.is_latest) for v in page.versions] == [
            (new.version_id, True),
            ("null", False),
        ]
        assert store.get_object("old", "k", version_id="null").read_all() == b"old bytes"
    finally:
        store.close()
    FilesystemStore(root).close()  # opening a schema 3 index again changes nothing


@FILES
def test_copies_of_versions_share_content_by_hard_link(store: FilesystemStore) -> None:
    old = put(store, "src", b"version one")
    put(store, "src", b"version two")
    store.copy_object(BUCKET, "src", BUCKET, "restored", source_version_id=old)
    with (
        store.get_object(BUCKET, "src", version_id=old) as a,
        store.get_object(BUCKET, "restored") as b,
    ):
        assert a.path and b.path and a.path != b.path
        assert os.path.samefile(a.path, b.path)
    store.delete_object(BUCKET, "src", version_id=old)
    assert store.get_object(BUCKET, "restored").read_all() == b"version one"
    assert store.find_orphans(older_than=0) == []


@FILES
def test_fsck_knows_every_version(store: FilesystemStore, root: Path) -> None:
    old = put(store, "k", b"old")
    put(store, "k", b"new")
    store.delete_object(BUCKET, "k")  # a marker: no content file
    hour_ago = time.time() - 7200
    files = sorted(p for p in (root / "objects").rglob("*") if p.is_file())
    assert len(files) == 2
    for path in files:
        os.utime(path, (hour_ago, hour_ago))
    check = Fsck(store, older_than=3600, uploads_older_than=3600)
    orphans = [p for d in check.content_dirs() for p in check.orphans_in(d)]
    assert orphans == [] and store.find_orphans() == []
    assert check.object_count() == 2
    assert [p for _, p in check.missing_content() if p] == []
    with store.get_object(BUCKET, "k", version_id=old) as body:
        assert body.path
        os.unlink(body.path)
    missing = [p for _, p in check.missing_content() if p]
    assert [p.subject for p in missing] == [f"{BUCKET}/k (version {old})"]


# --------------------------------------------------------------------------- crash safety


def _stalled_put(root: str, started: Any) -> None:
    store = FilesystemStore(root)
    store.put_object(BUCKET, "k", _StallingBody(started), size=10 * CHUNK_SIZE)


def test_kill_9_mid_versioned_put_keeps_every_version(store: FilesystemStore, root: Path) -> None:
    ids = [put(store, "k", b"one"), put(store, "k", b"two")]
    started = SPAWN.Event()
    proc = SPAWN.Process(target=_stalled_put, args=(str(root), started))
    proc.start()
    assert started.wait(30)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    again = FilesystemStore(root)
    try:
        page = again.list_object_versions(BUCKET)
        assert [v.version_id for v in page.versions] == ids[::-1]
        assert again.get_object(BUCKET, "k").read_all() == b"two"
        assert again.get_object(BUCKET, "k", version_id=ids[0]).read_all() == b"one"
        (leftover,) = (root / "tmp").iterdir()
        assert again.find_orphans(older_than=0) == [str(leftover)]
    finally:
        again.close()


# --------------------------------------------------------------------------- listing cost


def fill_versions(root: Path, keys: int, per_key: int, bucket: str = BUCKET) -> None:
    """Index rows written directly (fsynced puts would take far too long): keys
    ``k000000``.., each with ``per_key`` versions (ids ``v<key>-<n>``, n=0 the newest),
    the newest in ``objects``, the rest in ``versions``. No content files: listings
    never open them. (bench/list_versions.py seeds its buckets with this too.)"""
    with sqlite3.connect(root / DB_NAME) as db:
        (bucket_id,) = db.execute("SELECT id FROM buckets WHERE name = ?", (bucket,)).fetchone()
        latest, older = [], []
        for k in range(keys):
            key = f"k{k:06d}".encode()
            latest.append((bucket_id, key, f"v{k:06d}-{0:04d}".ljust(32, "x"), -per_key))
            for n in range(1, per_key):
                older.append((bucket_id, key, -per_key + n, f"v{k:06d}-{n:04d}".ljust(32, "x")))
        db.executemany(
            "INSERT INTO objects (bucket_id, key, size, etag, modified, file, attrs, version, seq)"
            " VALUES (?, ?, 0, 'e', 1700000000, 'none', '{}', ?, ?)",
            latest,
        )
        db.executemany(
            "INSERT INTO versions (bucket_id, key, seq, size, etag, modified, file, attrs,"
            " version, marker) VALUES (?, ?, ?, 0, 'e', 1700000000, 'none', '{}', ?, 0)",
            older,
        )
    db.close()


class RowCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        self.queries = 0
        real = fs_versions.fetch

        def counting(conn: sqlite3.Connection, sql: str, params: list[object]) -> Iterator[Any]:
            self.queries += 1
            for row in real(conn, sql, params):
                self.rows += 1  # rows SQLite stepped to
                yield row

        monkeypatch.setattr(fs_versions, "fetch", counting)


def test_version_listing_costs_o_page(
    store: FilesystemStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_versions(root, keys=2000, per_key=10)  # 20,000 versions
    counter = RowCounter(monkeypatch)
    page = store.list_object_versions(BUCKET, key_marker="k001500", max_keys=95)
    assert len(page.versions) == 95 and page.is_truncated
    assert page.versions[0].key == "k001501" and page.versions[0].is_latest
    assert [v.is_latest for v in page.versions[:10]] == [True] + [False] * 9
    assert counter.rows <= 2 * 96 and counter.queries <= 2

    counter.rows = counter.queries = 0
    marker = page.next_version_id_marker
    assert page.next_key_marker == "k001510" and marker is not None
    following = store.list_object_versions(
        BUCKET, key_marker="k001510", version_id_marker=marker, max_keys=100
    )
    assert [v.key for v in following.versions[:5]] == ["k001510"] * 5
    assert not following.versions[0].is_latest and following.versions[5].is_latest
    assert following.versions[0].version_id == "v001510-0005".ljust(32, "x")
    assert counter.rows <= 2 * 101 + 5

    counter.rows = counter.queries = 0
    prefixed = store.list_object_versions(BUCKET, prefix="k0019", delimiter="/", max_keys=1000)
    assert len(prefixed.versions) == 1000 and not prefixed.is_truncated
    assert counter.rows <= 1000 + 40
