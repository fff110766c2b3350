"""WriteBehind: the MD5 and the writeback of a file that is still being appended to, on two
threads behind the writer (stores/write_behind.py), and its use by the filesystem store's
content files and waitress's spool files."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxdrive_wsgi.stores import write_behind
from boxdrive_wsgi.stores.filesystem.content import ContentFiles
from boxdrive_wsgi.stores.write_behind import WriteBehind

KIB = 1024
MIB = 1024 * KIB


class Synced:
    """Counts the sync thread's fdatasyncs (and can make them fail)."""

    def __init__(self, fail: OSError | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.lock = threading.Lock()
        self.first = threading.Event()

    def __call__(self, fd: int) -> None:
        with self.lock:
            self.calls += 1
        try:
            if self.fail is not None:
                raise self.fail
            os.fsync(fd)
        finally:
            self.first.set()

    def wait(self) -> None:
        """Until the sync thread has written back once (the writer would not wait)."""
        assert self.first.wait(timeout=30), "no writeback"


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Synced:
    counter = Synced()
    monkeypatch.setattr(write_behind, "_fdatasync", counter)
    return counter


def append(path: Path, pieces: list[bytes], behind: WriteBehind) -> None:
    with open(path, "ab", buffering=0) as f:
        for piece in pieces:
            f.write(piece)
            behind.wrote(piece)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def pieces(total: int, size: int) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield os.urandom(min(size, total - start))


def test_a_small_file_is_hashed_inline_without_threads(tmp_path: Path, synced: Synced) -> None:
    path = tmp_path / "f"
    path.touch()
    behind = WriteBehind(str(path), threads_after=MIB)
    data = list(pieces(100 * KIB, 7 * KIB))
    append(path, data, behind)
    assert not behind.following
    assert behind.finish() == hashlib.md5(b"".join(data)).hexdigest()
    assert synced.calls == 0


@pytest.mark.parametrize("hold", [write_behind.HOLD, 0, 300 * KIB], ids=["held", "read", "mixed"])
def test_a_large_file_is_hashed_and_written_back_behind_the_writer(
    tmp_path: Path, synced: Synced, monkeypatch: pytest.MonkeyPatch, hold: int
) -> None:
    # The hash thread is handed the appended bytes up to HOLD, and reads back the rest.
    monkeypatch.setattr(write_behind, "HOLD", hold)
    path = tmp_path / "f"
    path.touch()
    before = open_fds()
    behind = WriteBehind(str(path), threads_after=256 * KIB, sync_every=MIB)
    data = list(pieces(6 * MIB + 5, 100 * KIB + 3))  # pieces not aligned to anything
    append(path, data[:30], behind)
    synced.wait()
    append(path, data[30:], behind)
    assert behind.following
    assert behind.written == 6 * MIB + 5
    assert behind.finish() == hashlib.md5(b"".join(data)).hexdigest()
    assert behind.finish() == hashlib.md5(b"".join(data)).hexdigest()  # the same again
    assert synced.calls >= 1  # written back while the appends went on
    assert open_fds() == before  # the threads closed their descriptors


def test_an_abandoned_follower_stops_and_closes_its_descriptors(
    tmp_path: Path, synced: Synced
) -> None:
    path = tmp_path / "f"
    path.touch()
    before = open_fds()
    behind = WriteBehind(str(path), threads_after=64 * KIB, sync_every=MIB)
    append(path, list(pieces(2 * MIB, 64 * KIB)), behind)
    threads = list(behind._threads)
    behind.abandon()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert open_fds() == before
    with pytest.raises(RuntimeError):
        behind.finish()


def test_a_writeback_error_is_raised_by_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = Synced(OSError(errno.EIO, "I/O error"))
    monkeypatch.setattr(write_behind, "_fdatasync", failing)
    path = tmp_path / "f"
    path.touch()
    behind = WriteBehind(str(path), threads_after=64 * KIB, sync_every=256 * KIB)
    append(path, list(pieces(2 * MIB, 64 * KIB)), behind)
    failing.wait()
    with pytest.raises(OSError) as caught:
        behind.finish()
    assert caught.value.errno == errno.EIO


def test_a_file_shorter_than_what_was_written_fails(tmp_path: Path, synced: Synced) -> None:
    path = tmp_path / "f"
    path.touch()
    behind = WriteBehind(str(path), threads_after=64 * KIB)
    append(path, list(pieces(128 * KIB, 64 * KIB)), behind)
    behind.wrote(bytearray(MIB))  # claimed, never written (not bytes: read back)
    with pytest.raises(OSError, match="shorter"):
        behind.finish()


def test_a_file_that_moved_away_is_hashed_inline(tmp_path: Path, synced: Synced) -> None:
    path = tmp_path / "f"
    behind = WriteBehind(str(path), threads_after=64 * KIB)  # no file there: no threads
    data = [os.urandom(100 * KIB), os.urandom(100 * KIB)]
    for piece in data:
        behind.wrote(piece)
    assert not behind.following
    assert behind.finish() == hashlib.md5(b"".join(data)).hexdigest()


class Chunks:
    """A request body of known size, read in whatever sizes the store asks for; past
    ``pause_at`` bytes it waits for ``synced``'s first writeback (a slow client)."""

    def __init__(self, data: bytes, synced: Synced | None = None, pause_at: int = 0) -> None:
        self.data, self.at = data, 0
        self.synced, self.pause_at = synced, pause_at

    def read(self, n: int = -1, /) -> bytes:
        if self.synced is not None and self.at >= self.pause_at:
            self.synced.wait()
        n = len(self.data) - self.at if n < 0 else n
        piece = self.data[self.at : self.at + n]
        self.at += len(piece)
        return piece


def test_content_files_hash_and_write_back_a_large_body_behind_it(
    tmp_path: Path, synced: Synced, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_behind, "THREADS_AFTER", MIB)
    monkeypatch.setattr(write_behind, "SYNC_EVERY", MIB)
    content = ContentFiles(str(tmp_path / "store"))
    data = os.urandom(5 * MIB + 17)
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def final_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", final_fsync)
    size, md5 = content.write("ab" + "1" * 30, Chunks(data, synced, 3 * MIB), len(data))
    assert (size, md5) == (len(data), hashlib.md5(data).hexdigest())
    assert synced.calls >= 1  # written back while it arrived ...
    assert fsyncs  # ... and still fsynced whole before the write returned
    assert Path(content.path("ab" + "1" * 30)).read_bytes() == data
    assert os.listdir(content.tmp_dir) == []


def test_content_files_keep_small_bodies_inline(tmp_path: Path, synced: Synced) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    size, md5 = content.write("cd" + "1" * 30, Chunks(b"small"), 5)
    assert (size, md5) == (5, hashlib.md5(b"small").hexdigest())
    assert synced.calls == 0
