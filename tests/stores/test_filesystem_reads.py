"""The filesystem store's read path: a GET or HEAD of an object, and the bucket lookup
before it, are one SQLite statement each (no BEGIN/COMMIT), and still answer every
case the transactional lookup does."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import NoSuchBucket, NoSuchKey
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.index import Index
from boxdrive_wsgi.stores.model import ENABLED

BUCKET = "reads"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FilesystemStore]:
    s = FilesystemStore(tmp_path / "data")
    s.create_bucket(BUCKET, owner="owner-1")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def statements(store: FilesystemStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the store's pooled connections run from now on."""
    seen: list[str] = []
    store.index.close()  # drop idle connections made without the trace
    connect = Index._connect

    def traced(self: Index) -> sqlite3.Connection:
        conn = connect(self)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(Index, "_connect", traced)
    return seen


def put(store: FilesystemStore, key: str, data: bytes) -> None:
    store.put_object(BUCKET, key, io.BytesIO(data), size=len(data))


def test_get_and_head_of_an_object_are_one_statement_each(
    store: FilesystemStore, statements: list[str]
) -> None:
    put(store, "k", b"hello")
    statements.clear()
    info = store.head_bucket(BUCKET)
    assert (info.owner, len(statements)) == ("owner-1", 1)
    statements.clear()
    assert store.get_object(BUCKET, "k").read_all() == b"hello"
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    statements.clear()
    assert store.head_object(BUCKET, "k").size == 5
    assert len(statements) == 1


def test_the_one_statement_lookup_answers_as_the_transaction_did(
    store: FilesystemStore,
) -> None:
    with pytest.raises(NoSuchBucket):
        store.get_object("absent-bucket", "k")
    with pytest.raises(NoSuchKey):
        store.head_object(BUCKET, "absent")
    put(store, "k", b"v1")
    assert store.head_object(BUCKET, "k").version_id is None  # never versioned
    store.set_bucket_versioning(BUCKET, ENABLED)
    put(store, "k", b"v2")
    latest = store.head_object(BUCKET, "k")
    assert latest.version_id not in (None, "null") and latest.is_latest
    store.delete_object(BUCKET, "k")  # a delete marker hides it: the slow path says so
    with pytest.raises(NoSuchKey) as raised:
        store.get_object(BUCKET, "k")
    assert raised.value.delete_marker
