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
- Measuring costs a ``statvfs`` (and the reserve an ``exists``) per write, system calls
  that hand the GIL to another thread: a measurement answers the write checks of the
  next ``FREE_TTL`` seconds, less the bytes those writes announced, but only while it
  leaves ``min_free`` and the reserve room to spare. Near the threshold, for a refusal,
  after the reserve was released and after a write ran out of space, it is measured
  again: every refusal and every reserve decision is made on a fresh measurement.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..errors import InsufficientStorage

RESERVE_NAME = "reserve"
#: Defaults of the min_free_space and space_reserve settings.
DEFAULT_MIN_FREE = 64 * 1024 * 1024
DEFAULT_RESERVE = 16 * 1024 * 1024
#: errno values that mean "no space": the disk, or the user's quota on it.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: Seconds one measurement of the free space answers the write checks (see above).
FREE_TTL = 0.1

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
        self._lock = threading.Lock()
        #: (monotonic deadline, free bytes less what the writes since announced), or None
        self._measured: tuple[float, int] | None = None

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer may still use on the root's filesystem."""
        return shutil.disk_usage(self.root).free

    def storage_full(self) -> bool:
        return self.free_bytes() < self.min_free

    def check_write(self, size: int | None) -> None:
        """Raise InsufficientStorage unless a write of ``size`` bytes (None: not
        known yet) leaves ``min_free``; put the reserve back when there is room."""
        wanted = size or 0
        if self._take_measured(wanted):
            return
        free = self.free_bytes()
        if free - wanted < self.min_free:
            raise InsufficientStorage(f"{free} bytes free, {wanted} announced")
        if free - wanted >= self.min_free + self.reserve:
            self.keep_reserve()
            with self._lock:
                self._measured = (time.monotonic() + FREE_TTL, free - wanted)

    def _take_measured(self, wanted: int) -> bool:
        """True if the last measurement, still fresh, leaves room to spare for ``wanted``
        more bytes (which it then counts as spent)."""
        with self._lock:
            measured = self._measured
            if measured is None:
                return False
            deadline, free = measured
            if time.monotonic() >= deadline or free - wanted < self.min_free + self.reserve:
                self._measured = None
                return False
            self._measured = (deadline, free - wanted)
            return True

    def forget_measured(self) -> None:
        """The next write check measures again (space was freed, or ran out)."""
        with self._lock:
            self._measured = None

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
        self.forget_measured()  # the next write check puts it back when there is room
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
            self.forget_measured()
            raise
        except Exception as error:
            if is_out_of_space(error):
                self.forget_measured()
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
