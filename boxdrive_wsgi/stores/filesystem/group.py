"""Group commit for the filesystem store's index: the writes of one process that
arrive while a commit is in progress share the next transaction and its one COMMIT
(with ``synchronous=FULL``, one WAL fsync for all of them).

A writer hands ``run`` its work: a function of the connection that checks what it
must (conditional writes, versioning) and writes its rows. The first writer to find
no commit in progress leads: it takes every writer queued so far (itself included,
at most ``MAX_BATCH``) and, in one ``BEGIN IMMEDIATE`` transaction, runs each one's
work in arrival order inside a SAVEPOINT of its own, so a writer whose work raises
(a precondition that fails, say) is rolled back alone and gets its own exception
while the others go on. Then one COMMIT; only after it returned does any writer of
the batch get its result. The leader then hands the lead to the first writer that
queued meanwhile, which does the same for the next batch.

If the transaction as a whole fails (BEGIN, a statement that aborts it, a failed
rollback to a savepoint), every writer of the batch not yet failed on its own gets
that error, and nothing of the batch committed. If COMMIT itself fails, nobody can
be sure whether it landed: those writers get the error but are not told it rolled
back (``run`` does not call their ``undo``), so their content stays.

Between processes (gunicorn workers) each leader takes an exclusive ``flock`` on
``index.lock`` before BEGIN: a waiting process sleeps in the kernel and wakes when
the lock is free, instead of SQLite's busy handler polling with growing sleeps. The
leader takes its batch only once it holds the lock, so the writers that queued while
another process committed share its commit instead of waiting for one more.
Writers that do not go through here (deletes, configuration) still meet SQLite's own
lock; the flock only queues group leaders fairly and is never needed for safety.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

T = TypeVar("T")

#: Writers committed in one transaction at most; the rest wait for the next one.
MAX_BATCH = 64

Work = Callable[[sqlite3.Connection], T]


class _Writer(Generic[T]):
    __slots__ = ("committed", "done", "error", "result", "wake", "work")

    def __init__(self, work: Work[T]) -> None:
        self.work = work
        self.wake = threading.Event()
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None
        #: False when the error came before COMMIT: nothing of this write landed.
        self.committed = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Batches the write transactions of this process (see the module docstring)."""

    def __init__(
        self,
        connection: Callable[[], AbstractContextManager[sqlite3.Connection]],
        lock_path: str,
    ) -> None:
        self._connection = connection
        self._lock_path = lock_path
        self._lock = threading.Lock()
        self._queue: list[_Writer[object]] = []
        self._leading = False
        self._pid = os.getpid()
        self._lock_fd: int | None = None

    def run(self, work: Work[T], undo: Callable[[], None] | None = None) -> T:
        """Run ``work`` in the next group transaction; return its result once the
        transaction committed, or raise its exception (or the transaction's). ``undo``
        runs first when the write is known not to have committed."""
        writer: _Writer[T] = _Writer(work)
        with self._lock:
            self._forget_if_forked()
            self._queue.append(writer)  # type: ignore[arg-type]
            lead = not self._leading
            self._leading = True
        if not lead:
            writer.wake.wait()
        if not writer.done:  # the lead was handed to us
            self._lead()
        if writer.error is not None and not writer.committed and undo is not None:
            undo()
        return writer.outcome()

    def _forget_if_forked(self) -> None:
        # A child of a fork has none of the parent's threads: nobody leads here, and
        # the parent's lock file description must not be shared (flock would not
        # exclude between the two).
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._queue = []
            self._leading = False
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # ours only: the parent's flock is untouched
                self._lock_fd = None

    def _take(self) -> list[_Writer[object]]:
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        return batch

    def _lead(self) -> None:
        batch: list[_Writer[object]] = []
        try:
            with self._process_lock():
                # The batch is taken once the lock is ours: the writers that queued
                # while another process committed join this commit (and its fsync).
                batch = self._take()
                self._commit(batch)
        except BaseException as e:  # the transaction failed: it is everyone's error
            if not batch:  # the lock itself failed: the error is the waiting writers'
                batch = self._take()
            for writer in batch:
                if writer.error is None:
                    writer.error = e
        finally:
            for writer in batch:
                writer.done = True
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            for writer in batch:
                writer.wake.set()
            if following is not None:
                following.wake.set()

    def _commit(self, batch: list[_Writer[object]]) -> None:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            for writer in batch:
                conn.execute("SAVEPOINT write")
                try:
                    writer.result = writer.work(conn)
                except Exception as e:
                    writer.error = e
                    if not conn.in_transaction:  # the statement aborted the transaction
                        raise
                    conn.execute("ROLLBACK TO write")
                conn.execute("RELEASE write")
            for writer in batch:
                writer.committed = writer.error is None
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
