"""Free space for the filesystem store: refuse writes before the disk is full, and
keep a reserve so that deletes still work when it is full anyway.

- A write (PUT, UploadPart, CompleteMultipartUpload, copy) first checks that the free
  space, less the bytes it announces, stays at or above ``min_free``; otherwise it
  raises InsufficientStorage (507) before writing a byte. ``storage_full`` (below
  ``min_free``) makes readiness answer 503.
- A write that runs out of space anyway (a body of unknown size, another program
  filling the disk) raises InsufficientStorage too: ENOSPC/EDQUOT from a file and
  SQLite's "database or disk is full" (``translated``).
- The reserve: ``reserve`` bytes preallocated in ``<root>/reserve``. At 0 bytes free
  even a delete fails, since SQLite appends the change to its WAL before the data
  is gone. A delete or abort that fails for lack of space releases the reserve and
  runs once more (``freeing``); a later write check puts the reserve back when the
  space allows.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..errors import InsufficientStorage

RESERVE_NAME = "reserve"
#: Defaults of the min_free_space and space_reserve settings.
DEFAULT_MIN_FREE = 64 * 1024 * 1024
DEFAULT_RESERVE = 16 * 1024 * 1024
#: errno values that mean "no space": the disk, or the user's quota on it.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_out_of_space(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno in NO_SPACE_ERRNOS
    return isinstance(error, sqlite3.Error) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )


class SpaceGuard:
    """The free-space policy of one store root (see the module docstring)."""

    def __init__(self, root: str, *, min_free: int, reserve: int) -> None:
        self.root = root
        self.min_free = min_free
        self.reserve = reserve
        self._reserve_path = os.path.join(root, RESERVE_NAME)

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer may still use on the root's filesystem."""
        return shutil.disk_usage(self.root).free

    def storage_full(self) -> bool:
        return self.free_bytes() < self.min_free

    def check_write(self, size: int | None) -> None:
        """Raise InsufficientStorage unless a write of ``size`` bytes (None: not
        known yet) leaves ``min_free``; put the reserve back when there is room."""
        free = self.free_bytes()
        if free - (size or 0) < self.min_free:
            raise InsufficientStorage(f"{free} bytes free, {size or 0} announced")
        if free - (size or 0) >= self.min_free + self.reserve:
            self.keep_reserve()

    def keep_reserve(self) -> None:
        """Preallocate the reserve file if it is missing (a no-op for reserve=0)."""
        if self.reserve <= 0 or os.path.exists(self._reserve_path):
            return
        partial = f"{self._reserve_path}.{os.getpid()}.part"
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _preallocate(fd, self.reserve)
            finally:
                os.close(fd)
            os.replace(partial, self._reserve_path)  # other processes see all or nothing
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            if not is_out_of_space(error) and error.errno != errno.EOPNOTSUPP:
                raise

    def release_reserve(self) -> bool:
        """Give the reserve back to the filesystem; False if there was none."""
        try:
            os.unlink(self._reserve_path)
        except FileNotFoundError:
            return False
        log.warning("disk full under %s: released the %d-byte reserve", self.root, self.reserve)
        return True

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """Out-of-space errors inside become InsufficientStorage."""
        try:
            yield
        except InsufficientStorage:
            raise
        except Exception as error:
            if is_out_of_space(error):
                raise InsufficientStorage(str(error)) from error
            raise

    def freeing(self, operation: Callable[[], T]) -> T:
        """Run a delete-like ``operation``; if it fails for lack of space, release
        the reserve and run it once more."""
        with self.translated():
            try:
                return operation()
            except Exception as error:
                if not is_out_of_space(error) or not self.release_reserve():
                    raise
            return operation()


def _preallocate(fd: int, size: int) -> None:
    """Make ``size`` bytes of ``fd`` take real space on disk (not a sparse hole)."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
        return
    zeros = bytes(min(size, 1024 * 1024))  # macOS, Windows: write them
    remaining = size
    while remaining > 0:
        remaining -= os.write(fd, zeros[:remaining])
    os.fsync(fd)
