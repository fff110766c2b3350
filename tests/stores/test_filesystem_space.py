"""The filesystem store's free-space policy, without a full disk (test_disk_full has one)."""

from __future__ import annotations

import errno
import sqlite3
import time
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import InsufficientStorage
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem import space as space_module
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


class Disk:
    """A fake measurement of the free space, counting how often it is taken."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.measured = 0

    def __call__(self) -> int:
        self.measured += 1
        return self.free


def counted(root: Path, free: int, monkeypatch: pytest.MonkeyPatch) -> tuple[SpaceGuard, Disk]:
    space = SpaceGuard(str(root), min_free=4 * MiB, reserve=MiB)
    disk = Disk(free)
    monkeypatch.setattr(space, "free_bytes", disk)
    return space, disk


def test_one_measurement_answers_the_writes_of_the_next_moment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    space, disk = counted(tmp_path, 100 * MiB, monkeypatch)
    for _ in range(10):
        space.check_write(4096)
    assert disk.measured == 1
    now[0] += space_module.FREE_TTL  # the measurement is too old now
    space.check_write(4096)
    assert disk.measured == 2


def test_the_writes_a_measurement_answered_are_counted_against_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space, disk = counted(tmp_path, 20 * MiB, monkeypatch)
    space.check_write(5 * MiB)  # measured: 15 MiB left after it
    space.check_write(5 * MiB)  # 10 left: still room to spare
    assert disk.measured == 1
    space.check_write(6 * MiB)  # 4 left would eat into min_free + reserve: measured again
    assert disk.measured == 2


def test_a_refusal_is_made_on_a_fresh_measurement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space, disk = counted(tmp_path, 100 * MiB, monkeypatch)
    space.check_write(MiB)
    disk.free = 5 * MiB  # another program filled the disk meanwhile
    space.check_write(MiB)  # the measurement still answers: room to spare (within FREE_TTL)
    with pytest.raises(InsufficientStorage):
        space.check_write(96 * MiB)  # too near for the old measurement: measured, refused
    assert disk.measured == 2
    with pytest.raises(InsufficientStorage):
        space.check_write(2 * MiB)  # measured again, never answered by the old one
    assert disk.measured == 3


def test_the_reserve_released_is_put_back_by_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space, disk = counted(tmp_path, 100 * MiB, monkeypatch)
    space.check_write(4096)
    reserve = tmp_path / "reserve"
    assert space.release_reserve() and not reserve.exists()
    space.check_write(4096)  # within FREE_TTL, but the release made it measure again
    assert reserve.stat().st_size == MiB and disk.measured == 2


def test_running_out_of_space_makes_the_next_write_measure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space, disk = counted(tmp_path, 100 * MiB, monkeypatch)
    space.check_write(4096)
    with pytest.raises(InsufficientStorage), space.translated():
        raise OSError(errno.ENOSPC, "No space left on device")
    disk.free = 4 * MiB
    with pytest.raises(InsufficientStorage):
        space.check_write(4096)
    assert disk.measured == 2
