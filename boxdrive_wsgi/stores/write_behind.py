"""MD5 and writeback behind a writer appending to a file: a large body is hashed and on its
way to the disk while it is still arriving.

A large PUT used to spend its time in series: receive and write every byte, MD5 it (the
ETag), then one fsync that waited for the whole body to reach the disk. The kernel starts
writing dirty pages back on its own only past ``vm.dirty_background_ratio`` (gigabytes on a
machine with memory), so that fsync wrote the whole body at the disk's rate after the last
byte had arrived. ``WriteBehind`` follows a file as it grows. Past ``threads_after`` bytes
one thread hashes what was appended, and another ``fdatasync``\\ s every ``sync_every``
bytes, so that the disk works while the body arrives and the caller's own final fsync
(this never replaces it) has only the tail left to write. The writer never waits for
either: the hash thread is handed the appended ``bytes`` themselves while it holds fewer
than ``HOLD`` of them, and past that (it fell behind) reads the rest back from the file
(``pread``, from the page cache), so memory stays bounded. Below ``threads_after`` the
writer hashes inline as before: small bodies start no thread.

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
from collections import deque
from typing import TYPE_CHECKING, Any

from .streams import CHUNK_SIZE

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: Bodies up to this size are hashed inline by the writer; past it the threads start.
THREADS_AFTER = 8 * 1024 * 1024
#: The sync thread writes back whenever this much more has been appended.
SYNC_EVERY = 16 * 1024 * 1024
#: Appended bytes handed to the hash thread at most; past it, it reads them back.
HOLD = 2 * 1024 * 1024

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
        #: for the hash thread, in order: appended bytes, or a length to read back
        self._pending: deque[bytes | int] = deque()
        self._held = 0  # bytes held in _pending
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

    def wrote(self, data: ReadableBuffer) -> None:
        """``data`` was just appended to the file's end (a ``bytes`` may be kept a while:
        it cannot change; anything else is read back from the file)."""
        n = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        if not self._threads:
            self._md5.update(data)
            self._written += n
            if self._written >= self._threads_after and not self._abandoned:
                self._start()
            return
        with self._lock:
            self._written += n
            pending = self._pending
            if isinstance(data, bytes) and self._held + n <= HOLD:
                pending.append(data)
                self._held += n
            elif pending and isinstance(pending[-1], int):
                pending[-1] += n
            else:
                pending.append(n)
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
            # The writer hashed the first self._written bytes inline.
            threading.Thread(target=self._hash_loop, args=(fds[0], self._written), daemon=True),
            threading.Thread(target=self._sync_loop, args=(fds[1],), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _fail(self, error: OSError) -> None:
        with self._lock:
            if self._error is None:
                self._error = error

    def _hash_loop(self, fd: int, hashed: int) -> None:
        pending = self._pending
        try:
            while True:
                with self._lock:
                    while not (self._abandoned or self._ending or pending):
                        self._hash_wake.wait()
                    if self._abandoned or not pending:
                        return  # given up, or ending with everything hashed
                    item = pending.popleft()
                    if isinstance(item, bytes):
                        self._held -= len(item)
                if isinstance(item, bytes):
                    self._md5.update(item)
                    hashed += len(item)
                    continue
                upto = hashed + item
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
