"""Group commit in the filesystem store: writers that arrive during a commit share the
next transaction, each with its own result or exception, and concurrent puts to one
key and to many keys all land with the right contents and versions. Each test runs
with small bodies inline in the index (the default) and with content files for all."""

from __future__ import annotations

import fcntl
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

from boxdrive_wsgi.stores.errors import NoSuchBucket, PreconditionFailed
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.index import INLINE_MAX, LOCK_NAME
from boxdrive_wsgi.stores.model import ENABLED, ObjectInfo, WriteOptions

BUCKET = "bkt"
WAIT = 10.0


@pytest.fixture(params=["inline", "files"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FilesystemStore]:
    s = FilesystemStore(
        tmp_path / "data", inline_max=-1 if request.param == "files" else INLINE_MAX
    )
    s.create_bucket(BUCKET, owner="owner-1")
    try:
        yield s
    finally:
        s.close()


def put(store: FilesystemStore, key: str, data: bytes, **kw: object) -> ObjectInfo:
    return store.put_object(BUCKET, key, io.BytesIO(data), size=len(data), **kw)  # type: ignore[arg-type]


def content_files(store: FilesystemStore) -> list[Path]:
    return [p for p in Path(store.content.objects_dir).rglob("*") if p.is_file()]


def files_expected(store: FilesystemStore, with_files: int) -> int:
    """Content files left when every body of these tests is small: none if inline."""
    return with_files if store.inline_max < 0 else 0


def configs(store: FilesystemStore) -> dict[str, bytes]:
    with store.index.transaction() as conn:
        rows = conn.execute("SELECT name, value FROM bucket_configs").fetchall()
    return {str(name): bytes(value) for name, value in rows}


def test_writers_queued_during_a_commit_share_the_next_one(store: FilesystemStore) -> None:
    group = store.index.group
    started, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> str:
        started.set()
        assert release.wait(WAIT)
        return "first"

    ran_in: dict[int, int] = {}
    undone: list[int] = []
    results: dict[int, object] = {}

    def writer(i: int) -> None:
        def work(conn: sqlite3.Connection) -> int:
            ran_in[i] = threading.get_ident()
            conn.execute(
                "INSERT INTO bucket_configs (bucket_id, name, value) VALUES (1, ?, ?)",
                (f"w{i}", b"x"),
            )
            if i == 2:  # after writing: its savepoint must take the row back
                raise PreconditionFailed("writer 2 refuses")
            return i * 10

        try:
            results[i] = group.run(work, undo=lambda: undone.append(i))
        except PreconditionFailed as e:
            results[i] = e

    first = threading.Thread(target=lambda: results.setdefault(-1, group.run(slow)))
    first.start()
    assert started.wait(WAIT)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WAIT
    while len(group._queue) < 5:  # all five wait behind the commit in progress
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert not ran_in  # nobody ran (nor was answered) before the first commit
    release.set()
    for t in [first, *threads]:
        t.join(WAIT)
    assert results[-1] == "first"
    assert {i: results[i] for i in (0, 1, 3, 4)} == {0: 0, 1: 10, 3: 30, 4: 40}
    assert isinstance(results[2], PreconditionFailed)
    assert undone == [2]  # only the writer that failed was rolled back
    assert len(set(ran_in.values())) == 1  # one leader ran all five: one transaction
    assert set(configs(store)) == {"w0", "w1", "w3", "w4"}


def test_writers_queued_while_another_process_commits_share_one_commit(
    store: FilesystemStore,
) -> None:
    group = store.index.group
    # Another process's leader holds the lock (a second open file description of
    # index.lock excludes like another process does).
    other = os.open(os.path.join(store.root, LOCK_NAME), os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    ran_in: list[tuple[int, int]] = []
    results: dict[int, object] = {}

    def writer(i: int) -> None:
        def work(conn: sqlite3.Connection) -> int:
            tx = conn.execute("SELECT count(*) FROM bucket_configs").fetchone()[0]
            conn.execute(
                "INSERT INTO bucket_configs (bucket_id, name, value) VALUES (1, ?, ?)",
                (f"w{i}", b"x"),
            )
            ran_in.append((threading.get_ident(), tx))
            return i

        results[i] = group.run(work)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + WAIT
        while len(group._queue) < 4:  # one leader waiting for the lock, three behind it
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert ran_in == []
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    for t in threads:
        t.join(WAIT)
    assert results == {i: i for i in range(4)}
    # One leader ran all four in one transaction, each seeing the rows before it.
    assert len({ident for ident, _ in ran_in}) == 1
    assert [tx for _, tx in ran_in] == [0, 1, 2, 3]
    assert set(configs(store)) == {"w0", "w1", "w2", "w3"}


def test_a_lock_that_fails_fails_its_writers(
    store: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = store.index.group

    def broken() -> Any:
        raise OSError("no lock file")

    monkeypatch.setattr(group, "_process_lock", broken)
    with pytest.raises(OSError, match="no lock file"):
        group.run(lambda conn: 7)
    monkeypatch.undo()
    assert group.run(lambda conn: 7) == 7  # and the group goes on


def test_a_failed_transaction_fails_its_whole_batch_and_commits_nothing(
    store: FilesystemStore,
) -> None:
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(sqlite3.OperationalError):
        store.index.group.run(bad)
    # The group still works afterwards.
    assert store.index.group.run(lambda conn: 7) == 7


def test_concurrent_puts_to_one_key_and_many_keys_all_land(store: FilesystemStore) -> None:
    store.set_bucket_versioning(BUCKET, ENABLED)
    threads_n, rounds = 6, 8
    got: dict[tuple[int, int], ObjectInfo] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def work(t: int) -> None:
        try:
            barrier.wait(WAIT)
            for r in range(rounds):
                got[(t, r)] = put(store, "hot", f"hot {t} {r}".encode())
                put(store, f"own/{t}/{r}", f"own {t} {r}".encode())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    page = store.list_object_versions(BUCKET, prefix="hot")
    versions = {v.version_id for v in page.versions}
    assert versions == {info.version_id for info in got.values()}
    assert len(versions) == threads_n * rounds  # every put a version of its own
    for (t, r), info in got.items():
        body = store.get_object(BUCKET, "hot", version_id=info.version_id).read_all()
        assert body == f"hot {t} {r}".encode()
    latest = [v for v in page.versions if v.is_latest]
    assert len(latest) == 1
    newest = store.get_object(BUCKET, "hot").read_all()
    assert newest == store.get_object(BUCKET, "hot", version_id=latest[0].version_id).read_all()
    for t in range(threads_n):
        for r in range(rounds):
            assert store.get_object(BUCKET, f"own/{t}/{r}").read_all() == f"own {t} {r}".encode()
    # Versions keep their content.
    assert len(content_files(store)) == files_expected(store, threads_n * rounds * 2)


def test_concurrent_unversioned_overwrites_keep_one_file_per_key(store: FilesystemStore) -> None:
    bodies = [f"body {i}".encode() * 100 for i in range(12)]
    errors: list[BaseException] = []

    def work(body: bytes) -> None:
        try:
            for _ in range(5):
                put(store, "same", body)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert store.get_object(BUCKET, "same").read_all() in bodies
    # Every replaced file went after its commit.
    assert len(content_files(store)) == files_expected(store, 1)


def test_concurrent_create_only_puts_let_exactly_one_win(store: FilesystemStore) -> None:
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait(WAIT)
        try:
            outcomes.append(
                put(store, "once", f"writer {i}".encode(), options=WriteOptions.create())
            )
        except PreconditionFailed as e:
            outcomes.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [o for o in outcomes if isinstance(o, ObjectInfo)]
    assert len(won) == 1 and len(outcomes) == 8
    assert store.head_object(BUCKET, "once").etag == won[0].etag
    assert len(content_files(store)) == files_expected(store, 1)  # the losers' files are gone


def test_small_put_to_a_missing_bucket_leaves_no_file(store: FilesystemStore) -> None:
    # Unconditional small puts skip the pre-check; the commit finds the bucket missing.
    with pytest.raises(NoSuchBucket):
        store.put_object("nope", "k", io.BytesIO(b"x"), size=1)
    assert content_files(store) == []


# --------------------------------------------------------------------------- processes

SPAWN = multiprocessing.get_context("spawn")


def _stall_in_commit(root: str, started: Any) -> None:
    store = FilesystemStore(root)

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO bucket_configs (bucket_id, name, value) VALUES (1, 'half', x'00')"
        )
        started.set()
        time.sleep(60)  # killed here: holding the flock and SQLite's write lock

    store.index.group.run(work)


def test_kill_9_of_a_leader_mid_commit_loses_only_its_batch(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = FilesystemStore(root)
    store.create_bucket(BUCKET)
    put(store, "kept", b"old")
    started = SPAWN.Event()
    proc = SPAWN.Process(target=_stall_in_commit, args=(str(root), started))
    proc.start()
    try:
        assert started.wait(30)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        # The kernel dropped its flock and SQLite lock: writers go on, nothing half-done.
        put(store, "kept", b"new")
        assert store.get_object(BUCKET, "kept").read_all() == b"new"
        assert "half" not in configs(store)
    finally:
        store.close()


def _put_many(root: str, worker: int, rounds: int, barrier: Any) -> None:
    store = FilesystemStore(root)

    def work(t: int) -> None:
        for r in range(rounds):
            put(store, "hot", f"{worker} {t} {r}".encode())
            put(store, f"own/{worker}/{t}/{r}", b"own")

    barrier.wait(30)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    store.close()


def test_processes_writing_at_once_all_land(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = FilesystemStore(root)
    store.create_bucket(BUCKET)
    store.set_bucket_versioning(BUCKET, ENABLED)
    workers, rounds = 3, 6
    barrier = SPAWN.Barrier(workers)
    procs = [
        SPAWN.Process(target=_put_many, args=(str(root), w, rounds, barrier))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    try:
        assert [p.exitcode for p in procs] == [0] * workers
        hot = store.list_object_versions(BUCKET, prefix="hot").versions
        assert len({v.version_id for v in hot}) == workers * 3 * rounds
        assert len(store.list_objects(BUCKET, prefix="own/").objects) == workers * 3 * rounds
        for v in hot:
            body = store.get_object(BUCKET, "hot", version_id=v.version_id).read_all()
            assert len(body.split()) == 3
    finally:
        store.close()
