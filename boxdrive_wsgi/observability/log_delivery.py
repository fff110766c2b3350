"""Delivers server access log records as objects into their target buckets.

Request threads ``add`` a line for a ``Destination`` (target bucket and key prefix);
lines for one destination gather in a batch, and a daemon thread writes each batch as
one object ``<prefix>YYYY-mm-DD-HH-MM-SS-<unique>`` (S3's key format) through the
``ObjectStore`` API once it is ``flush_seconds`` old (or ``MAX_BATCH_BYTES`` big).

Several worker processes: each process batches its own requests and writes its own
objects, named with 16 random hex digits, so processes never overwrite each other and
need no lock. At least once: a batch whose write fails stays queued and is tried again
on the next round (a target that no longer exists drops it, with a warning); at most
``MAX_PENDING_BYTES`` wait per process, beyond that the oldest batch is dropped, with a
warning. Graceful shutdown writes what is queued: ``close`` runs at interpreter exit
(gunicorn's workers and uWSGI's exit through it, each worker writing its own) and
before a SIGTERM that nothing else handles (waitress); a write failing then is tried
again twice, and records it cannot deliver are reported lost. A process killed
outright (SIGKILL, a worker timeout) loses what it had queued, at most
``flush_seconds`` of records. After a fork the child starts empty (the parent
delivers its own lines).

The writes go to the store directly, never through the HTTP layer: deliveries are not
requests, so they are never logged themselves (no loops).
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol.acl import CANONICAL_USER, FULL_CONTROL, AccessControlPolicy, Grant, stored_acl
from ..stores.base import NoSuchBucket, ObjectStore
from ..stores.model import ObjectAttributes
from .line_writer import flush_on_sigterm

log = logging.getLogger("boxdrive_wsgi.server_log")

#: A batch is written once it holds this much, whatever its age.
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: What one process keeps queued at most (undeliverable targets cannot fill memory).
MAX_PENDING_BYTES = 64 * 1024 * 1024
#: How long a failed write waits before the next try.
RETRY_SECONDS = 5.0
#: At exit, how many times a batch is tried, and the pause between tries.
CLOSE_ATTEMPTS = 3
CLOSE_RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class Destination:
    """Where a source bucket's records go; each source has its own batches and objects."""

    bucket: str
    #: the source bucket and its owner (the logging service writes on their behalf)
    source: str
    source_owner: str
    #: the configured TargetPrefix
    target_prefix: str
    #: the key before the date: TargetPrefix, and for PartitionedPrefix also
    #: ``<source owner>/<region>/<source bucket>/``
    prefix: str
    #: PartitionedPrefix: ``YYYY/MM/DD/`` follows the prefix
    partitioned: bool = False
    #: TargetGrants: given on each delivered object, besides its owner's FULL_CONTROL
    #: (the owner is the target bucket's)
    grants: tuple[Grant, ...] = ()


@dataclass
class _Batch:
    opened: float  # monotonic
    lines: list[str] = field(default_factory=list)
    size: int = 0
    not_before: float = 0.0  # monotonic; after a failed write


def log_object_key(destination: Destination, at: float, unique: str) -> str:
    """``<prefix>[YYYY/MM/DD/]YYYY-mm-DD-HH-MM-SS-<unique>`` for time ``at`` (UTC)."""
    t = time.gmtime(at)
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", t)
    day = time.strftime("%Y/%m/%d/", t) if destination.partitioned else ""
    return f"{destination.prefix}{day}{stamp}-{unique}"


class LogDelivery:
    def __init__(
        self,
        store: ObjectStore,
        flush_seconds: float,
        *,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        clock: Callable[[], float] = time.monotonic,
        allow: Callable[[Destination], bool] | None = None,
    ) -> None:
        self.store = store
        #: asked before each delivery: does the target still let the service write?
        self.allow = allow
        self.flush_seconds = flush_seconds
        self.max_batch_bytes = max_batch_bytes
        self.max_pending_bytes = max_pending_bytes
        self.clock = clock
        #: objects written so far by this process (for tests and metrics)
        self.delivered = 0
        self._reset()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _call(ref, "_reset"))
        atexit.register(_call, ref, "close")
        flush_on_sigterm(lambda timeout: _call(ref, "close", timeout))

    def _reset(self) -> None:
        self._batches: dict[Destination, _Batch] = {}
        self._pending = 0
        self._lock = threading.Lock()  # guards _batches and _pending
        self._writing = threading.Lock()  # one delivery round at a time
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, destination: Destination, line: str) -> None:
        data = len(line) + 1
        with self._lock:
            batch = self._batches.get(destination)
            if batch is None:  # a new deadline: the thread may be waiting for none
                batch = self._batches[destination] = _Batch(self.clock())
                self._wake.notify()
            batch.lines.append(line)
            batch.size += data
            self._pending += data
            if self._pending > self.max_pending_bytes:
                self._drop_oldest()
            if batch.size >= self.max_batch_bytes:
                self._wake.notify()
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="log-delivery", daemon=True)
                self._thread.start()

    def _drop_oldest(self) -> None:
        oldest = min(self._batches, key=lambda d: self._batches[d].opened)
        dropped = self._batches.pop(oldest)
        self._pending -= dropped.size
        log.warning(
            "server access log: %d records for %s dropped (over %d bytes queued)",
            len(dropped.lines), oldest.bucket, self.max_pending_bytes,
        )  # fmt: skip

    def _due(self, now: float, everything: bool) -> list[tuple[Destination, _Batch]]:
        due = []
        for destination, batch in list(self._batches.items()):
            ripe = now - batch.opened >= self.flush_seconds or batch.size >= self.max_batch_bytes
            if everything or (ripe and now >= batch.not_before):
                due.append((destination, self._batches.pop(destination)))
                self._pending -= batch.size
        return due

    def _next_wait(self, now: float) -> float | None:
        if not self._batches:
            return None
        times = (max(b.opened + self.flush_seconds, b.not_before) for b in self._batches.values())
        return max(0.0, min(times) - now)

    def _run(self) -> None:
        while True:
            with self._lock:
                wait = self._next_wait(self.clock())
                if wait is None or wait > 0:
                    self._wake.wait(wait)
            self.flush(everything=False)

    def flush(self, timeout: float = -1, *, everything: bool = True) -> bool:
        """Write the batches that are due (``everything``: all of them) now; False if
        a delivery in progress held them past ``timeout`` seconds (-1: no limit)."""
        if not self._writing.acquire(timeout=timeout):
            return False
        try:
            with self._lock:
                due = self._due(self.clock(), everything)
            for destination, batch in due:
                if not self._deliver(destination, batch):
                    self._requeue(destination, batch)
        finally:
            self._writing.release()
        return True

    def _deliver(self, destination: Destination, batch: _Batch) -> bool:
        data = ("\n".join(batch.lines) + "\n").encode("utf-8", "replace")
        key = log_object_key(destination, time.time(), secrets.token_hex(8).upper())
        try:
            if self.allow is not None and not self.allow(destination):
                log.warning(
                    "server access log: %s no longer lets the logging service write %s's "
                    "logs; %d records dropped",
                    destination.bucket, destination.source, len(batch.lines),
                )  # fmt: skip
                return True
            owner = self.store.head_bucket(destination.bucket).owner
            attributes = ObjectAttributes(
                content_type="text/plain", acl=_acl(owner, destination.grants), owner=owner
            )
            self.store.put_object(
                destination.bucket, key, io.BytesIO(data), size=len(data), attributes=attributes
            )
        except NoSuchBucket:
            log.warning(
                "server access log: target bucket %s is gone; %d records dropped",
                destination.bucket, len(batch.lines),
            )  # fmt: skip
            return True
        except Exception:
            log.exception("server access log: writing %s/%s failed", destination.bucket, key)
            return False
        self.delivered += 1
        return True

    def _requeue(self, destination: Destination, batch: _Batch) -> None:
        with self._lock:
            if self._closed:
                log.warning("server access log: %d records lost at exit", len(batch.lines))
                return
            newer = self._batches.get(destination)
            if newer is not None:  # keep order: the failed lines first
                batch.lines.extend(newer.lines)
                batch.size += newer.size
                self._pending -= newer.size
            batch.not_before = self.clock() + RETRY_SECONDS
            self._batches[destination] = batch
            self._pending += batch.size

    def close(self, timeout: float = -1) -> None:
        """Write everything queued (at exit, and on a SIGTERM nothing else handles): a
        batch whose write fails is tried again, ``CLOSE_ATTEMPTS`` times in all, and
        what is still queued then is reported lost. Later records start a new thread
        no more. ``timeout``: as ``flush``'s, for each attempt."""
        for attempt in range(CLOSE_ATTEMPTS):
            if attempt:
                time.sleep(CLOSE_RETRY_SECONDS)
            if not self.flush(timeout):
                break  # a delivery in progress held it too long: the exit goes on
            with self._lock:
                if not self._batches:
                    break
        with self._lock:
            self._closed = True
            lost = sum(len(batch.lines) for batch in self._batches.values())
            self._batches.clear()
            self._pending = 0
        if lost:
            log.warning("server access log: %d records lost at exit", lost)


def _acl(owner: str | None, grants: tuple[Grant, ...]) -> str | None:
    if owner is None or not grants:
        return None
    full = Grant(CANONICAL_USER, owner, FULL_CONTROL)
    return stored_acl(AccessControlPolicy(owner, (full, *grants)))


def _call(ref: weakref.ref[LogDelivery], method: str, *args: float) -> None:
    target = ref()
    if target is not None:
        getattr(target, method)(*args)
