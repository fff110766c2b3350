"""Fill a bucket with many keys fast, through the filesystem store's own API (not HTTP).

Listing benchmarks need 100k or 1M keys; over HTTP with durable writes that takes hours. The
seed process writes through ``FilesystemStore.put_object`` as the server would, so the index
and content files are exactly what the server makes, but without waiting for the disk: its
fsyncs are skipped (``os.fsync`` is a no-op here, SQLite runs ``synchronous=OFF``) and the
data reaches the disk whenever the kernel writes it back. Only this process changes; the
servers that read the keys afterwards are as shipped.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.index import Index

SEED_BODY = b"seed"
SEED_PROCESSES = 4


def listing_key(index: int) -> str:
    """Keys sort in index order, with a common prefix like a real tree of files."""
    return f"data/{index // 1000:05d}/file-{index:08d}.bin"


class _FastIndex(Index):
    """The filesystem index with SQLite's commit fsync off (this seeding process only)."""

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.execute("PRAGMA synchronous=OFF")
        return conn


class _FastStore(FilesystemStore):
    """The filesystem store over a ``_FastIndex``."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.index.__class__ = _FastIndex  # same state, its connections made fast


@contextmanager
def _no_fsync() -> Iterator[None]:
    saved = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = saved


def _seed_range(data_dir: str, bucket: str, start: int, stop: int) -> None:
    store = _FastStore(data_dir)
    with _no_fsync():
        for index in range(start, stop):
            store.put_object(bucket, listing_key(index), io.BytesIO(SEED_BODY), size=len(SEED_BODY))
    store.close()


def seed_keys(data_dir: str, bucket: str, count: int, *, processes: int = SEED_PROCESSES) -> float:
    """Put ``count`` small objects into the existing ``bucket``; returns seconds taken.

    Several processes: creating the content files is most of the time, and it runs in
    parallel (the SQLite commits, without their fsync, are short)."""
    started = time.monotonic()
    step = -(-count // processes)
    ranges = [(data_dir, bucket, i, min(count, i + step)) for i in range(0, count, step)]
    with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
        pool.starmap(_seed_range, ranges)
    return time.monotonic() - started


def content_path(data_dir: str, bucket: str, key: str) -> str | None:
    """The content file the store keeps for ``key`` (what nginx serves, and X-Accel
    names); None for a small object kept inline in the index (no file)."""
    store = FilesystemStore(data_dir)
    try:
        with store.get_object(bucket, key) as body:
            return body.path
    finally:
        store.close()
