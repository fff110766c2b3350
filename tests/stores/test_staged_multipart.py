"""The staged multipart default in a shared directory: what one store instance (one
worker) starts, another finishes; processes racing on one upload; abandoned uploads;
the start-up check of multi-process servers; every store's one extension point."""

from __future__ import annotations

import io
import multiprocessing
import os
from pathlib import Path

import pytest

from boxdrive_wsgi import create_app
from boxdrive_wsgi.application import PrivateUploads, refuse_private_uploads
from boxdrive_wsgi.stores.aio import AsyncStoreAdapter
from boxdrive_wsgi.stores.base import NoSuchUpload, ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.memory import MemoryStore
from boxdrive_wsgi.stores.multipart import MultipartBackend, StagedMultipart
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.testing.helpers import get_bytes, pattern

from .async_memory import AsyncMemoryStore, AsyncNativeMultipartStore

MIN = 1024


class SharedMemory(MemoryStore):
    """A memory store standing in for a store shared by processes (GitLab, S3): two
    instances over the same bucket names, as two workers would be."""

    multipart_min_part_size = MIN

    def __init__(self, multipart_dir: Path) -> None:
        super().__init__()
        self.multipart_dir = str(multipart_dir)
        self.create_bucket("bkt")


def test_an_upload_moves_between_instances(tmp_path: Path) -> None:
    a, b = SharedMemory(tmp_path / "mp"), SharedMemory(tmp_path / "mp")
    upload_id = a.create_multipart_upload("bkt", "k")
    p1 = b.upload_part("bkt", "k", upload_id, 1, io.BytesIO(pattern(MIN)), size=MIN)
    p2 = a.upload_part("bkt", "k", upload_id, 2, io.BytesIO(b"end"), size=3)
    assert [p.part_number for p in a.list_parts("bkt", "k", upload_id).parts] == [1, 2]
    assert [u.upload_id for u in b.list_multipart_uploads("bkt").uploads] == [upload_id]
    info = b.complete_multipart_upload("bkt", "k", upload_id, [(1, p1.etag), (2, p2.etag)])
    assert info.etag.endswith("-2")
    assert get_bytes(b, "bkt", "k") == pattern(MIN) + b"end"
    with pytest.raises(NoSuchUpload):
        a.upload_part("bkt", "k", upload_id, 3, io.BytesIO(b"late"), size=4)
    assert os.listdir(tmp_path / "mp" / "parts") == []


def test_changing_multipart_dir_changes_the_backend(tmp_path: Path) -> None:
    store = MemoryStore()
    private = store.multipart_backend()
    assert isinstance(private, StagedMultipart) and not private.shared
    store.multipart_dir = str(tmp_path / "shared")
    shared = store.multipart_backend()
    assert isinstance(shared, StagedMultipart) and shared.shared
    assert shared.directory == str(tmp_path / "shared")
    assert store.multipart_backend() is shared  # built once per directory


def _upload_parts(directory: str, upload_id: str, numbers: list[int]) -> None:
    store = SharedMemory(Path(directory))
    for n in numbers:
        data = bytes([n]) * (MIN + n)
        store.upload_part("bkt", "k", upload_id, n, io.BytesIO(data), size=len(data))


def test_processes_upload_parts_of_one_upload_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "mp"
    store = SharedMemory(directory)
    upload_id = store.create_multipart_upload("bkt", "k")
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as workers are
    groups = [list(range(start, 41, 4)) for start in range(1, 5)]
    procs = [
        context.Process(target=_upload_parts, args=(str(directory), upload_id, g)) for g in groups
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    parts = store.list_parts("bkt", "k", upload_id, max_parts=1000).parts
    assert [p.part_number for p in parts] == list(range(1, 41))
    info = store.complete_multipart_upload(
        "bkt", "k", upload_id, [(p.part_number, p.etag) for p in parts]
    )
    expected = b"".join(bytes([n]) * (MIN + n) for n in range(1, 41))
    assert info.size == len(expected) and get_bytes(store, "bkt", "k") == expected


def test_abandoned_uploads_are_listed_and_removed(tmp_path: Path) -> None:
    store = SharedMemory(tmp_path / "mp")
    backend = store.multipart_backend()
    assert isinstance(backend, StagedMultipart)
    kept = store.create_multipart_upload("bkt", "kept")
    store.create_bucket("gone")
    orphaned = store.create_multipart_upload("gone", "k")
    store.upload_part("gone", "k", orphaned, 1, io.BytesIO(b"abc"), size=3)
    store.delete_bucket("gone")
    crash = tmp_path / "mp" / "parts" / "deadbeef.00001.000000"
    crash.write_bytes(b"written, never recorded")
    # Young uploads are kept unless their bucket is gone.
    assert [u.upload_id for u in backend.abandoned_uploads(older_than=3600)] == [orphaned]
    assert {u.upload_id for u in backend.abandoned_uploads(older_than=-1)} == {kept, orphaned}
    assert backend.remove_abandoned_uploads(older_than=3600) == [orphaned]
    assert crash.exists()  # too young to be called an orphan
    removed = backend.remove_abandoned_uploads(older_than=-1)
    assert removed == [kept, str(crash)]
    assert os.listdir(tmp_path / "mp" / "parts") == []
    assert store.list_multipart_uploads("bkt").uploads == []
    assert backend.discard(kept) is False


# --------------------------------------------------------------------------- wiring


@pytest.mark.parametrize("processes", [2, 8])
def test_multi_process_server_refuses_private_uploads(processes: int) -> None:
    app = create_app(store=MemoryStore(), anonymous=True, access_log="off")
    with pytest.raises(PrivateUploads, match=f"runs {processes} worker processes"):
        refuse_private_uploads(app, processes, "gunicorn")
    refuse_private_uploads(app, 1, "gunicorn")  # one process sees all its uploads


def test_multi_process_server_accepts_shared_uploads(tmp_path: Path) -> None:
    shared = MemoryStore()
    shared.multipart_dir = str(tmp_path / "mp")
    for store in (shared, FilesystemStore(tmp_path / "fs")):
        refuse_private_uploads(
            create_app(store=store, anonymous=True, access_log="off"), 4, "uWSGI"
        )
    refuse_private_uploads(object(), 4, "gunicorn")  # not our app: not ours to judge


def test_one_extension_point_for_every_store(tmp_path: Path) -> None:
    """Every store answers multipart through the backend multipart_backend() returns."""

    def backend(store: ObjectStore) -> MultipartBackend:
        return store.multipart_backend()

    fs = FilesystemStore(tmp_path / "fs")
    assert type(backend(fs)).__name__ == "FilesystemMultipart"
    s3 = S3Store(endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b")
    assert type(backend(s3)).__name__ == "S3Multipart"
    staged_s3 = S3Store(endpoint_url="http://127.0.0.1:9", native_multipart=False)
    assert isinstance(backend(staged_s3), StagedMultipart)
    staged_async = AsyncStoreAdapter(AsyncMemoryStore())
    assert isinstance(backend(staged_async), StagedMultipart)
    inner = AsyncNativeMultipartStore()
    native_async = AsyncStoreAdapter(inner)
    assert type(backend(native_async)).__name__ == "AsyncMultipart"
    native_async.create_bucket("b")
    upload_id = native_async.create_multipart_upload("b", "k")
    part = native_async.upload_part("b", "k", upload_id, 1, io.BytesIO(b"abc"), size=3)
    native_async.complete_multipart_upload("b", "k", upload_id, [(1, part.etag)])
    assert get_bytes(native_async, "b", "k") == b"abc" and inner.multipart_calls == 3
    for store in (fs, s3, staged_s3, staged_async, native_async):
        store.close()
