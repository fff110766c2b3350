"""MD5 and writeback behind a writer appending to a file: a large body is hashed and on its
way to the disk while it is still arriving.

A large PUT used to spend its time in series: receive and write every byte, MD5 it (the
ETag), then one fsync that waited for the whole body to reach the disk. The kernel starts
writing dirty pages back on its own only past ``vm.dirty_background_ratio`` (gigabytes on a
machine with memory), so that fsync wrote the whole body at the disk's rate after the last
byte had arrived. ``WriteBehind`` follows a file as it grows. Past ``threads_after`` bytes
one thread reads back what was appended (``pread``: from the page cache, nothing held in
memory, the writer never waits for it) and hashes it, and another ``fdatasync``\\ s every
``sync_every`` bytes, so that the disk works while the body arrives and the caller's own
final fsync (this never replaces it) has only the tail left to write. Below
``threads_after`` the writer hashes inline as before: small bodies start no thread.

Both threads use a file description of their own, opened by path when they start: a file
closed under them cannot hand them another file's descriptor, and a writeback error the
sync thread sees is still reported to the caller's fsync on its own description (Linux
reports such an error once to every description open when it happened); ``finish`` raises
it as well.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from .streams import CHUNK_SIZE

#: Bodies up to this size are hashed inline by the writer; past it the threads start.
THREADS_AFTER = 8 * 1024 * 1024
#: The sync thread writes back whenever this much more has been appended.
SYNC_EVERY = 16 * 1024 * 1024
#: The hash thread wakes up once this much is waiting to be hashed (or at the end).
HASH_STEP = CHUNK_SIZE

_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


class WriteBehind:
    """Follows ``path`` while one writer appends to it and calls ``wrote`` after each
    append that reached the file (not a userspace buffer). ``finish`` returns the MD5 of
    everything appended; ``abandon`` stops following without waiting (a file given up)."""

    def __init__(
        self, path: str, *, threads_after: int | None = None, sync_every: int | None = None
    ) -> None:
        self.path = path
        self._threads_after = THREADS_AFTER if threads_after is None else threads_after
        self._sync_every = SYNC_EVERY if sync_every is None else sync_every
        self._md5: Any = hashlib.md5(usedforsecurity=False)
        self._written = 0  # bytes appended (the writer's, under the lock once threaded)
        self._hash_target = 0  # what the hash thread has taken on, up to _written
        self._sync_target = 0  # what the sync thread last wrote back, up to _written
        self._lock = threading.Lock()
        self._hash_wake = threading.Condition(self._lock)
        self._sync_wake = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._ending = False  # no more appends: hash what is left, then stop
        self._abandoned = False  # stop at once
        self._error: OSError | None = None
        self._result: str | None = None

    @property
    def written(self) -> int:
        return self._written

    @property
    def following(self) -> bool:
        """The threads run: appends must be in the file when ``wrote`` is called."""
        return bool(self._threads)

    def wrote(self, data: bytes | bytearray | memoryview) -> None:
        """``data`` was just appended to the file's end."""
        n = len(data)
        if not self._threads:
            self._md5.update(data)
            self._written += n
            self._hash_target = self._written
            if self._written >= self._threads_after and not self._abandoned:
                self._start()
            return
        with self._lock:
            self._written += n
            if self._written - self._hash_target >= HASH_STEP:
                self._hash_wake.notify()
            if self._written - self._sync_target >= self._sync_every:
                self._sync_wake.notify()

    def finish(self) -> str:
        """The hex MD5 of all that was appended, once the hash thread has caught up;
        the sync thread stops after its current write-back. Raises the OSError a thread
        met (the caller's fsync would report a writeback error too)."""
        if self._result is not None:
            return self._result
        if self._abandoned:
            raise RuntimeError("finish() after abandon()")
        self._stop(ending=True)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error
        self._result = str(self._md5.hexdigest())
        return self._result

    def abandon(self) -> None:
        """Stop following (the file is closed or no longer an append): the threads end
        on their own, closing their own descriptors; nothing waits for them."""
        if self._result is None:
            self._abandoned = True
            self._stop(ending=False)

    # ---- the threads

    def _stop(self, *, ending: bool) -> None:
        with self._lock:
            self._ending = self._ending or ending
            self._hash_wake.notify_all()
            self._sync_wake.notify_all()

    def _start(self) -> None:
        fds: list[int] = []
        try:
            for _ in range(2):
                fds.append(os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
        except OSError:  # the file is not where it was: keep hashing inline
            for fd in fds:
                os.close(fd)
            return
        self._threads = [
            threading.Thread(target=self._hash_loop, args=(fds[0],), daemon=True),
            threading.Thread(target=self._sync_loop, args=(fds[1],), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _fail(self, error: OSError) -> None:
        with self._lock:
            if self._error is None:
                self._error = error

    def _hash_loop(self, fd: int) -> None:
        hashed = self._hash_target
        try:
            while True:
                with self._lock:
                    while not (
                        self._abandoned or self._ending or self._written - hashed >= HASH_STEP
                    ):
                        self._hash_wake.wait()
                    if self._abandoned or (self._ending and self._written == hashed):
                        return
                    upto = self._hash_target = self._written
                while hashed < upto and not self._abandoned:
                    chunk = os.pread(fd, min(CHUNK_SIZE, upto - hashed), hashed)
                    if not chunk:
                        raise OSError(f"{self.path} is shorter than what was written to it")
                    self._md5.update(chunk)
                    hashed += len(chunk)
        except OSError as error:
            self._fail(error)
        finally:
            os.close(fd)

    def _sync_loop(self, fd: int) -> None:
        try:
            while True:
                with self._lock:
                    while not (
                        self._abandoned
                        or self._ending
                        or self._written - self._sync_target >= self._sync_every
                    ):
                        self._sync_wake.wait()
                    if self._abandoned or self._ending:
                        return
                    target = self._written
                _fdatasync(fd)
                with self._lock:
                    self._sync_target = target
        except OSError as error:
            self._fail(error)
        finally:
            os.close(fd)
