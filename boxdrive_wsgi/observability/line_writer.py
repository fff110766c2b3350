"""Log lines written by a background thread, so a request never waits on the write.

A ``write`` from a request thread appends the line to a queue and, if the writer
is idle, wakes it; the writer takes every line queued by then and writes them in
as few writes as it can. Each write holds whole lines only and at most
``PIPE_BUF`` bytes, the size the kernel writes to a pipe in one piece: processes
sharing one stderr (gunicorn's workers) never interleave parts of lines, on a
pipe as on a file. A line goes out within ``LINGER_SECONDS`` (20 ms) of its
request, with the lines that arrived meanwhile, in order.

While lines keep coming the writer wakes itself every ``LINGER_SECONDS`` and the
request threads never signal it: waking a thread from a request costs that request
a system call and, on an idle core, a trip of the GIL to the writer and back. Only
after ``PARK_AFTER`` empty rounds does it park on an event, which the next line sets.

Nothing is lost on the way out: ``flush`` writes what is queued from the calling
thread, and ``BufferedLineHandler.flush`` is what ``logging.shutdown`` calls at
interpreter exit; ``flush_on_sigterm`` covers a server that dies of SIGTERM
without running exit handlers (waitress). After a fork the child starts with an
empty queue (the parent writes its own lines) and its own writer thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

#: What a pipe takes in one piece (POSIX guarantees at least 512; Linux has 4096).
PIPE_BUF: int = getattr(select, "PIPE_BUF", 512)
#: How long the writer waits, once woken, for more lines to write with the first.
LINGER_SECONDS = 0.02
#: Empty rounds (of LINGER_SECONDS) after which the writer waits to be woken.
PARK_AFTER = 10
#: How long SIGTERM waits for a write in progress before giving up on the queue.
SIGTERM_FLUSH_SECONDS = 2.0


class LineWriter:
    """Lines (without their newline) to ``stream``, written by a daemon thread."""

    def __init__(
        self, stream: TextIO, *, max_write: int = PIPE_BUF, linger: float = LINGER_SECONDS
    ) -> None:
        self.stream = stream
        self.max_write = max_write
        self.linger = linger
        self._lines: deque[str] = deque()
        self._reset()
        os.register_at_fork(after_in_child=self._forked)

    def _reset(self) -> None:
        self._wake = threading.Event()
        #: The writer waits on ``_wake`` (else it wakes itself: nobody needs to set it).
        self._parked = False
        self._writing = threading.Lock()  # held while lines leave the queue
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None

    def _forked(self) -> None:
        self._lines.clear()
        self._reset()

    def write(self, line: str) -> None:
        self._lines.append(line)
        if self._thread is None:
            self._start()
        if self._parked:  # read after the append: see _park
            self._wake.set()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="access-log", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        idle = 0
        while True:
            # Let the lines of the next few milliseconds join this write: one wake-up
            # and one write per batch, not per request (a thread switch costs the
            # request threads more than the write itself).
            time.sleep(self.linger)
            if self._lines:
                idle = 0
                self.flush()
            elif idle < PARK_AFTER:
                idle += 1
            else:
                self._park()
                idle = 0

    def _park(self) -> None:
        """Wait until a line is queued. A writer that appends after the check below saw
        ``_parked`` set (it reads the flag after its append) and sets the event; one
        that appended before it is seen by the check."""
        self._wake.clear()
        self._parked = True
        try:
            if not self._lines:
                self._wake.wait()
        finally:
            self._parked = False

    def flush(self, timeout: float = -1) -> bool:
        """Write every queued line now; False if a write in progress held it past
        ``timeout`` seconds (-1: wait as long as it takes)."""
        if not self._writing.acquire(timeout=timeout):
            return False
        try:
            self._drain()
        finally:
            self._writing.release()
        return True

    def _drain(self) -> None:
        lines = self._lines
        while lines:
            chunk: list[str] = []
            size = 0
            while lines:
                line = lines[0]
                length = len(line) + 1  # characters; bytes checked below
                if chunk and size + length > self.max_write:
                    break
                chunk.append(lines.popleft())
                size += length
            self._emit(chunk)

    def _emit(self, chunk: list[str]) -> None:
        text = "\n".join(chunk) + "\n"
        too_wide = not text.isascii() and len(text.encode("utf-8", "replace")) > self.max_write
        if len(chunk) > 1 and too_wide:
            # Wider than it counted (non-ASCII): one line per write keeps lines whole.
            for line in chunk:
                self._put(line + "\n")
            return
        self._put(text)

    def _put(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: as logging does, go on
            pass


class BufferedLineHandler(logging.Handler):
    """A logging handler that hands each formatted record to a ``LineWriter``."""

    def __init__(self, stream: TextIO, *, max_write: int = PIPE_BUF) -> None:
        super().__init__()
        self.writer = LineWriter(stream, max_write=max_write)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write(self.format(record))
        except Exception:  # as logging.StreamHandler: report, never raise into the request
            self.handleError(record)

    def flush(self) -> None:
        self.writer.flush()


#: What our SIGTERM handler runs, in order (access log lines, server access logs...).
_before_sigterm: list[Callable[[float], object]] = []


def flush_on_sigterm(flush: Callable[[float], object]) -> bool:
    """Run ``flush`` before the process dies of SIGTERM, if nothing else handles it.

    Only where SIGTERM still has its default action (a server that installed its own
    handler, such as gunicorn's workers, exits through ``logging.shutdown`` and atexit)
    or our own handler (every ``flush`` given runs, in order), and only from the main
    thread (where Python runs signal handlers). The process still dies of SIGTERM, as
    it would have. Returns whether ``flush`` will run.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        _before_sigterm.append(flush)
        return True
    if current is not signal.SIG_DFL:
        return False
    _before_sigterm.clear()
    _before_sigterm.append(flush)
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def _on_sigterm(signum: int, frame: object) -> None:
    for flush in list(_before_sigterm):
        # a failing one does not stop the next, nor the process from dying
        with contextlib.suppress(Exception):
            flush(SIGTERM_FLUSH_SECONDS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
