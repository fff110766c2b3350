"""FilesystemStore behaviour beyond the shared contract: odd keys, reopening,
crash and failure leftovers, several processes, readers racing writers, O(page)
listings and find_orphans."""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boxdrive_wsgi.stores.base import (
    CHUNK_SIZE,
    BucketAlreadyExists,
    BucketNotEmpty,
    ByteRange,
    NoSuchBucket,
    NoSuchKey,
    ObjectAttributes,
    PreconditionFailed,
    StoreError,
)
from boxdrive_wsgi.stores.filesystem import DB_NAME, FilesystemStore
from boxdrive_wsgi.stores.filesystem.index import LOCK_NAME
from boxdrive_wsgi.stores.model import WriteOptions
from boxdrive_wsgi.testing.helpers import RecordingReader, get_bytes

BUCKET = "fs-bucket"
SPAWN = multiprocessing.get_context("spawn")
#: Marks a test whose store keeps every body in a content file.
FILES = pytest.mark.parametrize("store", ["files"], indirect=True)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def put(store: FilesystemStore, key: str, data: bytes, **kw: Any) -> None:
    store.put_object(BUCKET, key, io.BytesIO(data), size=len(data), **kw)


def get(store: FilesystemStore, key: str) -> bytes:
    return store.get_object(BUCKET, key).read_all()


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def content_files(root: Path) -> list[Path]:
    return files_under(root / "objects")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(root: Path, request: pytest.FixtureRequest) -> Iterator[FilesystemStore]:
    # FILES: every body in a content file, for tests about those files (by default small
    # bodies are kept inline in the index).
    files = getattr(request, "param", None) == "files"
    s = FilesystemStore(root, inline_max=-1) if files else FilesystemStore(root)
    s.create_bucket(BUCKET, owner="owner-1")
    try:
        yield s
    finally:
        s.close()


# --------------------------------------------------------------------------- keys


def test_a_and_a_slash_b_coexist(store: FilesystemStore) -> None:
    keys = {"a": b"file a", "a/b": b"file a/b", "a/": b"folder marker", "a/b/c": b"deep"}
    for key, data in keys.items():
        put(store, key, data)
    for key, data in keys.items():
        assert get(store, key) == data
    page = store.list_objects(BUCKET, delimiter="/")
    assert [o.key for o in page.objects] == ["a"]
    assert page.common_prefixes == ["a/"]
    page = store.list_objects(BUCKET, prefix="a/", delimiter="/")
    assert [o.key for o in page.objects] == ["a/", "a/b"]
    assert page.common_prefixes == ["a/b/"]


ODD_KEYS = [
    "..",
    "../escape",
    "a/../../b",
    ".",
    "//",
    "/leading",
    "a//b",
    "trailing/",
    "ünïcødé/ключ/日本語/🙂",
    "new\nline\ttab",
    "nul\x00byte",
    "k" * 1024,
    "é" * 512,  # 1024 bytes of UTF-8
    "🙂" * 256,  # 1024 bytes of UTF-8
]


@FILES
def test_odd_keys_round_trip_and_never_become_paths(store: FilesystemStore, root: Path) -> None:
    for i, key in enumerate(ODD_KEYS):
        put(store, key, f"value {i}".encode(), attributes=ObjectAttributes(metadata={"i": str(i)}))
    for i, key in enumerate(ODD_KEYS):
        assert get(store, key) == f"value {i}".encode()
        assert store.head_object(BUCKET, key).metadata == {"i": str(i)}
    listed = [o.key for o in store.list_objects(BUCKET).objects]
    assert listed == sorted(ODD_KEYS, key=str.encode)
    # Nothing outside the root, and inside it only the index, content, tmp dirs and reserve.
    assert sorted(p.name for p in root.parent.iterdir()) == ["data"]
    assert {p.relative_to(root).parts[0] for p in files_under(root)} <= {
        "objects",
        DB_NAME,
        DB_NAME + "-wal",
        DB_NAME + "-shm",
        LOCK_NAME,  # group-commit leaders queue on it between processes
        "reserve",  # space kept for deletes on a full disk
    }
    assert len(content_files(root)) == len(ODD_KEYS)
    for key in ODD_KEYS:
        store.delete_object(BUCKET, key)
    assert content_files(root) == []


def test_data_survives_reopening(store: FilesystemStore, root: Path) -> None:
    attrs = ObjectAttributes(
        content_type="text/plain; charset=utf-8",
        metadata={"colour": "blå"},
        headers={"Cache-Control": "no-cache", "Content-Disposition": "inline"},
        checksums={"CRC32": "AAAAAA=="},
    )
    data = os.urandom(CHUNK_SIZE + 123)
    put(store, "dir/obj", data, attributes=attrs)
    before = store.head_object(BUCKET, "dir/obj")
    bucket_before = store.head_bucket(BUCKET)
    store.close()

    again = FilesystemStore(root)
    try:
        assert again.head_bucket(BUCKET) == bucket_before
        assert bucket_before.owner == "owner-1"
        info = again.head_object(BUCKET, "dir/obj")
        assert info == before
        assert info.attributes == attrs
        assert info.etag == md5(data)
        assert info.last_modified.tzinfo is not None
        assert again.get_object(BUCKET, "dir/obj").read_all() == data
        assert [o.key for o in again.list_objects(BUCKET).objects] == ["dir/obj"]
    finally:
        again.close()


@FILES
def test_ranged_get_exposes_the_content_file(store: FilesystemStore, root: Path) -> None:
    data = bytes(range(256)) * 10
    put(store, "k", data)
    with store.get_object(BUCKET, "k", byte_range=ByteRange(100, 199)) as body:
        assert body.content_range == (100, 200)
        assert body.path is not None
        assert Path(body.path).parent.parent == root / "objects"
        assert (body.offset, body.length) == (100, 100)
        assert Path(body.path).read_bytes() == data
        assert b"".join(body) == data[100:200]


# --------------------------------------------------------------------------- failures


class Boom(Exception):
    pass


def test_failing_body_leaves_no_trace(store: FilesystemStore, root: Path) -> None:
    error = Boom("signature mismatch")
    body = RecordingReader(os.urandom(3 * CHUNK_SIZE), fail_at=CHUNK_SIZE + 10, error=error)
    with pytest.raises(Boom) as caught:
        store.put_object(BUCKET, "k", body, size=3 * CHUNK_SIZE)
    assert caught.value is error
    assert body.served > 0, "the store must have started streaming"
    with pytest.raises(NoSuchKey):
        store.head_object(BUCKET, "k")
    assert store.list_objects(BUCKET).objects == []
    assert files_under(root / "tmp") == []
    assert content_files(root) == []
    assert store.find_orphans(older_than=0) == []


@FILES
def test_failing_overwrite_keeps_the_old_object(store: FilesystemStore, root: Path) -> None:
    put(store, "k", b"old")
    body = RecordingReader(b"x" * 100, fail_at=50, error=Boom())
    with pytest.raises(Boom):
        store.put_object(BUCKET, "k", body)
    assert get(store, "k") == b"old"
    assert len(content_files(root)) == 1
    assert files_under(root / "tmp") == []


@FILES
def test_condition_failing_at_commit_removes_the_new_file(
    store: FilesystemStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer creates the key after the early check passed but before our
    # commit: the check inside the commit transaction must catch it.
    real_write = store.content.write

    def write_then_race(file_id: str, body: Any, size: int | None) -> tuple[int, str]:
        result = real_write(file_id, body, size)
        monkeypatch.setattr(store.content, "write", real_write)
        put(store, "k", b"the other writer")
        return result

    monkeypatch.setattr(store.content, "write", write_then_race)
    with pytest.raises(PreconditionFailed):
        put(store, "k", b"mine", options=WriteOptions.create())
    assert get(store, "k") == b"the other writer"
    assert len(content_files(root)) == 1
    assert store.find_orphans(older_than=0) == []


@FILES
def test_missing_content_file_is_an_error_not_a_loop(store: FilesystemStore, root: Path) -> None:
    put(store, "k", b"data")
    (path,) = content_files(root)
    path.unlink()
    with pytest.raises(StoreError) as caught:
        store.get_object(BUCKET, "k")
    assert not isinstance(caught.value, NoSuchKey)


# --------------------------------------------------------------------------- readers vs writers


def test_reader_keeps_reading_while_overwritten_and_deleted(
    store: FilesystemStore, root: Path
) -> None:
    old = os.urandom(3 * CHUNK_SIZE + 7)
    put(store, "k", old)
    body = store.get_object(BUCKET, "k")
    chunks = iter(body)
    first = next(chunks)
    put(store, "k", b"new content")
    assert body.path is not None and not os.path.exists(body.path), "old file is unlinked"
    assert get(store, "k") == b"new content"
    store.delete_object(BUCKET, "k")
    rest = b"".join(chunks)
    body.close()
    assert first + rest == old
    assert content_files(root) == []


@FILES
def test_get_retries_when_a_writer_unlinks_the_file_first(
    store: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(store, "k", b"old")
    real_open = store.content.open
    calls: list[str] = []

    def racing_open(path: str) -> Any:
        if not calls:  # a writer commits between our lookup and our open
            put(store, "k", b"new")
        calls.append(path)
        return real_open(path)

    monkeypatch.setattr(store.content, "open", racing_open)
    assert get(store, "k") == b"new"
    assert len(calls) == 2 and calls[0] != calls[1]


@FILES
def test_get_of_a_key_deleted_before_open_is_no_such_key(
    store: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(store, "k", b"old")
    real_open = store.content.open

    def racing_open(path: str) -> Any:
        store.delete_object(BUCKET, "k")
        return real_open(path)

    monkeypatch.setattr(store.content, "open", racing_open)
    with pytest.raises(NoSuchKey):
        store.get_object(BUCKET, "k")


# --------------------------------------------------------------------------- concurrency


def _writer(root: str, worker: int, count: int) -> None:
    store = FilesystemStore(root)
    for i in range(count):
        data = f"worker {worker} item {i}".encode()
        store.put_object(BUCKET, f"w{worker}/k{i:03d}", io.BytesIO(data))
        store.put_object(BUCKET, "shared", io.BytesIO(data))
    store.close()


def test_concurrent_writers_in_several_processes(store: FilesystemStore, root: Path) -> None:
    workers, count = 4, 50
    procs = [SPAWN.Process(target=_writer, args=(str(root), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    keys = [o.key for o in store.list_objects(BUCKET).objects]
    assert len(keys) == workers * count + 1
    for w in range(workers):
        for i in range(count):
            assert get(store, f"w{w}/k{i:03d}") == f"worker {w} item {i}".encode()
    shared = store.head_object(BUCKET, "shared")
    assert shared.etag == md5(get(store, "shared"))
    assert get(store, "shared").endswith(f"item {count - 1}".encode())
    # Every replaced content file was unlinked; nothing left over.
    assert len(content_files(root)) == len(keys)
    assert files_under(root / "tmp") == []
    assert store.find_orphans(older_than=0) == []


def _create_only(root: str, worker: int, barrier: Any, results: Any) -> None:
    store = FilesystemStore(root)
    barrier.wait()
    try:
        store.put_object(
            BUCKET, "once", io.BytesIO(f"w{worker}".encode()), options=WriteOptions.create()
        )
        results.put((worker, "won"))
    except PreconditionFailed:
        results.put((worker, "lost"))
    store.close()


def test_create_only_race_across_processes_has_one_winner(
    store: FilesystemStore, root: Path
) -> None:
    workers = 6
    barrier = SPAWN.Barrier(workers)
    results = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_create_only, args=(str(root), w, barrier, results))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcome = dict(results.get(timeout=60) for _ in range(workers))
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    winners = [w for w, r in outcome.items() if r == "won"]
    assert len(winners) == 1
    assert get(store, "once") == f"w{winners[0]}".encode()
    assert len(content_files(root)) == 1


def _open_new_root(root: str, worker: int, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        store = FilesystemStore(root)  # every process initialises the same new root
        with contextlib.suppress(BucketAlreadyExists):
            store.create_bucket(BUCKET)
        store.put_object(BUCKET, f"k{worker}", io.BytesIO(b"x"))
        store.close()
        results.put("ok")
    except BaseException as e:
        results.put(repr(e))


def test_processes_opening_a_new_root_at_once(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    workers = 6
    barrier = SPAWN.Barrier(workers)
    results = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_open_new_root, args=(str(root), w, barrier, results))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in range(workers)]
    for p in procs:
        p.join(60)
    assert outcomes == ["ok"] * workers
    store = FilesystemStore(root)
    assert len(store.list_objects(BUCKET).objects) == workers
    store.close()


def _use_inherited_store(store: FilesystemStore) -> None:
    # Runs in a forked child with the parent's store object and its pooled connection.
    store.put_object(BUCKET, "from-child", io.BytesIO(b"child"))
    assert store.get_object(BUCKET, "parent").read_all() == b"parent"
    store.close()


def test_store_used_across_fork(store: FilesystemStore) -> None:
    put(store, "parent", b"parent")  # leaves an idle connection in the pool
    child = multiprocessing.get_context("fork").Process(target=_use_inherited_store, args=(store,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert get(store, "from-child") == b"child"
    put(store, "after", b"parent still works")
    assert get(store, "after") == b"parent still works"


def test_bucket_create_race_has_one_winner(root: Path) -> None:
    store = FilesystemStore(root)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create(owner: str) -> None:
        barrier.wait()
        try:
            store.create_bucket("race", owner=owner)
            outcomes.append("won")
        except BucketAlreadyExists as e:
            outcomes.append(f"exists:{e.owner}")

    threads = [threading.Thread(target=create, args=(f"o{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    owner = store.head_bucket("race").owner
    assert sorted(outcomes) == [f"exists:{owner}"] * 7 + ["won"]
    store.close()


def test_delete_bucket_races_with_puts(store: FilesystemStore, root: Path) -> None:
    # Writers put until the bucket is gone (at most 40 each, so the deleter wins in
    # the end); the deleter empties the bucket and tries to delete it meanwhile.
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(40):
            try:
                put(store, f"t{n}/{i}", b"x" * 100)
            except NoSuchBucket:
                return
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    while True:
        for o in store.list_objects(BUCKET).objects:
            store.delete_object(BUCKET, o.key)
        try:
            store.delete_bucket(BUCKET)
            break
        except BucketNotEmpty:
            continue
    for t in threads:
        t.join()
    assert errors == []
    with pytest.raises(NoSuchBucket):
        store.head_bucket(BUCKET)
    # Puts that lost the race to the delete removed their content files.
    assert content_files(root) == []
    assert files_under(root / "tmp") == []


# --------------------------------------------------------------------------- crash safety


class _StallingBody:
    def __init__(self, started: Any) -> None:
        self.started = started
        self.reads = 0

    def read(self, size: int = -1, /) -> bytes:
        self.reads += 1
        if self.reads == 3:
            self.started.set()
            time.sleep(60)
        return b"z" * (size if size > 0 else CHUNK_SIZE)


def _stalled_upload(root: str, started: Any) -> None:
    store = FilesystemStore(root)
    store.put_object(BUCKET, "partial", _StallingBody(started), size=10 * CHUNK_SIZE)


def test_kill_9_mid_upload_leaves_no_visible_object(store: FilesystemStore, root: Path) -> None:
    put(store, "kept", b"safe")
    started = SPAWN.Event()
    proc = SPAWN.Process(target=_stalled_upload, args=(str(root), started))
    proc.start()
    assert started.wait(30)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)

    again = FilesystemStore(root)
    try:
        with pytest.raises(NoSuchKey):
            again.head_object(BUCKET, "partial")
        assert [o.key for o in again.list_objects(BUCKET).objects] == ["kept"]
        assert again.get_object(BUCKET, "kept").read_all() == b"safe"
        (leftover,) = files_under(root / "tmp")
        assert leftover.stat().st_size == 2 * CHUNK_SIZE
        assert again.find_orphans(older_than=0) == [str(leftover)]
        assert again.find_orphans() == [], "a fresh temp file may be an upload in progress"
    finally:
        again.close()


@FILES
def test_find_orphans_finds_injected_leftovers(store: FilesystemStore, root: Path) -> None:
    put(store, "referenced", b"data")
    (referenced,) = content_files(root)
    orphan = root / "objects" / "ee" / ("ee" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"unreferenced")
    stale_tmp = root / "tmp" / "dead.part"
    stale_tmp.write_bytes(b"half an upload")
    fresh_tmp = root / "tmp" / "live.part"
    fresh_tmp.write_bytes(b"in progress")
    an_hour_ago = time.time() - 7200
    for p in (orphan, stale_tmp, referenced):
        os.utime(p, (an_hour_ago, an_hour_ago))

    found = store.find_orphans()
    assert sorted(found) == sorted([str(orphan), str(stale_tmp)])
    assert str(referenced) not in found
    assert get(store, "referenced") == b"data"


# --------------------------------------------------------------------------- listing cost


def _fill(root: Path, keys: list[str]) -> None:
    """Insert index rows directly: 20,000 fsynced puts would take far too long.

    The rows point at no content file; listing never opens content files.
    """
    with sqlite3.connect(root / DB_NAME) as db:
        (bucket_id,) = db.execute("SELECT id FROM buckets WHERE name = ?", (BUCKET,)).fetchone()
        db.executemany(
            "INSERT INTO objects (bucket_id, key, size, etag, modified, file, attrs)"
            " VALUES (?, ?, 0, ?, 1700000000, 'none', '{}')",
            [(bucket_id, k.encode(), md5(b"")) for k in keys],
        )
    db.close()


class Counter:
    def __init__(self, store: FilesystemStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queries = 0
        self.rows = 0
        real = store.index.fetch

        def counting(*args: Any) -> list[tuple[Any, ...]]:
            result = real(*args)
            self.queries += 1
            self.rows += len(result)
            return result

        monkeypatch.setattr(store.index, "fetch", counting)

    def reset(self) -> None:
        self.queries = self.rows = 0


def test_listing_costs_o_page_not_o_bucket(
    store: FilesystemStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs, per_dir = 200, 100  # 20,000 keys: d000/k000 .. d199/k099
    keys = [f"d{d:03d}/k{k:03d}" for d in range(dirs) for k in range(per_dir)]
    _fill(root, keys)
    counter = Counter(store, monkeypatch)

    page = store.list_objects(BUCKET, max_keys=100)
    assert [o.key for o in page.objects] == keys[:100] and page.is_truncated
    assert counter.rows <= 101 and counter.queries == 1

    counter.reset()
    page = store.list_objects(BUCKET, delimiter="/", max_keys=10)
    assert page.common_prefixes == [f"d{d:03d}/" for d in range(10)] and page.is_truncated
    assert counter.rows <= 11 and counter.queries <= 11

    counter.reset()
    page = store.list_objects(BUCKET, delimiter="/", start_after="d150/k050", max_keys=5)
    assert page.common_prefixes == [f"d{d:03d}/" for d in range(151, 156)]
    assert counter.rows <= 6

    counter.reset()
    page = store.list_objects(BUCKET, prefix="d123/", start_after="d123/k090", max_keys=1000)
    assert [o.key for o in page.objects] == [f"d123/k{k:03d}" for k in range(91, 100)]
    assert not page.is_truncated and counter.rows == 9

    counter.reset()
    page = store.list_objects(BUCKET, prefix="d199/k", delimiter="/", max_keys=1000)
    assert len(page.objects) == 100 and not page.is_truncated
    assert counter.rows == 100 and counter.queries <= 9  # batches 1, 2, 4, ... 64

    # Walking the whole bucket touches each row about once.
    counter.reset()
    seen: list[str] = []
    after = ""
    while True:
        page = store.list_objects(BUCKET, start_after=after, max_keys=1000)
        seen += [o.key for o in page.objects]
        if not page.is_truncated:
            break
        assert page.last is not None
        after = page.last
    assert seen == keys
    assert counter.rows <= len(keys) + 20 and counter.queries == 20


def test_filesystem_copy_shares_no_file_name(tmp_path: object) -> None:
    # Hard-linked copies: each row owns a file name, so deleting one keeps the other.
    store = FilesystemStore(os.path.join(str(tmp_path), "fs"), inline_max=-1)
    try:
        store.create_bucket(BUCKET)
        put(store, "src", b"shared bytes")
        store.copy_object(BUCKET, "src", BUCKET, "dst")
        paths = [store.get_object(BUCKET, k) for k in ("src", "dst")]
        names = [body.path for body in paths]
        for body in paths:
            body.close()
        assert names[0] != names[1] and names[0] and names[1]
        assert os.path.samefile(str(names[0]), str(names[1]))  # linked, not copied
        store.delete_object(BUCKET, "src")
        assert get_bytes(store, BUCKET, "dst") == b"shared bytes"
        assert store.find_orphans(older_than=0) == []
        store.delete_object(BUCKET, "dst")
        assert not os.path.exists(str(names[1]))
    finally:
        store.close()
