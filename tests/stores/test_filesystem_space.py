"""The filesystem store's free-space policy, without a full disk (test_disk_full has one)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import InsufficientStorage
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.space import SpaceGuard, is_out_of_space

MiB = 1024 * 1024


def guard(root: Path, free: int, monkeypatch: pytest.MonkeyPatch) -> SpaceGuard:
    space = SpaceGuard(str(root), min_free=4 * MiB, reserve=MiB)
    monkeypatch.setattr(space, "free_bytes", lambda: free)
    return space


def test_writes_that_would_go_below_the_threshold_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = guard(tmp_path, 10 * MiB, monkeypatch)
    space.check_write(6 * MiB)
    with pytest.raises(InsufficientStorage):
        space.check_write(6 * MiB + 1)
    assert not space.storage_full()
    assert guard(tmp_path, 4 * MiB - 1, monkeypatch).storage_full()


def test_the_reserve_is_preallocated_released_and_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = guard(tmp_path, 100 * MiB, monkeypatch)
    space.check_write(None)
    reserve = tmp_path / "reserve"
    assert reserve.stat().st_blocks * 512 >= MiB  # allocated, not a sparse hole
    assert space.release_reserve() and not reserve.exists()
    assert not space.release_reserve()
    space.check_write(MiB)
    assert reserve.stat().st_size == MiB


def test_out_of_space_errors_are_recognised() -> None:
    assert is_out_of_space(OSError(errno.ENOSPC, "No space left on device"))
    assert is_out_of_space(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_out_of_space(OSError(errno.EACCES, "Permission denied"))
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert is_out_of_space(full)
    assert not is_out_of_space(sqlite3.OperationalError("database is locked"))


def test_the_store_refuses_a_put_larger_than_the_room_left(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path, min_free_space=1 << 62)  # more than any disk has
    store.create_bucket("b")
    with pytest.raises(InsufficientStorage):
        store.put_object("b", "k", _Unread(), size=1)
    assert store.storage_full()
    store.close()


class _Unread:
    def read(self, size: int = -1, /) -> bytes:
        raise AssertionError("the body must not be read when the answer is known")
