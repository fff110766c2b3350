"""Running the sweeper: one at a time per data directory (an exclusive, non-blocking
``flock`` on ``<data_dir>/lifecycle.lock``: another worker, or a cron run, sweeping
already means this one skips), once (the CLI) or every ``lifecycle_interval`` seconds
in a daemon thread of each server process (opt-in)."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ..settings import Settings
from ..stores.base import ObjectStore
from .sweeper import SweepReport, sweep

LOCK_NAME = "lifecycle.lock"
log = logging.getLogger("boxdrive_wsgi.lifecycle")


class SweepLock:
    """The one-sweeper-at-a-time lock of a data directory."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, LOCK_NAME)

    @contextmanager
    def held(self) -> Iterator[bool]:
        """True while held; False (at once) if another process or thread holds it."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def run_once(
    store: ObjectStore, settings: Settings, *, buckets: list[str] | None = None
) -> SweepReport | None:
    """One sweep under the data directory's lock; None if another sweeper holds it."""
    with SweepLock(settings.data_dir).held() as mine:
        if not mine:
            return None
        return sweep(
            store,
            now=datetime.now(UTC),
            day=settings.lifecycle_day_seconds,
            buckets=buckets,
        )


def start_background(store: ObjectStore, settings: Settings) -> threading.Event | None:
    """Sweep every ``settings.lifecycle_interval`` seconds in a daemon thread (0: off).
    Returns the event that stops it."""
    interval = settings.lifecycle_interval
    if interval <= 0:
        return None
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                report = run_once(store, settings)
            except Exception:  # a failed pass must not end the thread: log, go on
                log.exception("lifecycle sweep failed")
                continue
            if report is not None and (report.errors or _acted(report)):
                log.info("lifecycle sweep: %s", report.summary())

    threading.Thread(target=loop, name="boxdrive-lifecycle", daemon=True).start()
    return stop


def _acted(report: SweepReport) -> bool:
    return bool(report.expired or report.noncurrent or report.markers or report.aborted)
