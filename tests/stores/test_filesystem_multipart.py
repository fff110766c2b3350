"""FilesystemStore's native multipart uploads, and the staged default shared by processes."""

from __future__ import annotations

import errno
import io
import multiprocessing
import os
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import NoSuchUpload, ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.filesystem.content import copy_fd
from boxdrive_wsgi.stores.multipart.backend import MultipartBackend
from boxdrive_wsgi.stores.multipart.staged import StagedMultipart
from boxdrive_wsgi.testing.helpers import get_bytes, pattern

MIN = 4096


def _store(root: Path) -> FilesystemStore:
    store = FilesystemStore(root)
    store.multipart_min_part_size = MIN
    return store


def _upload_in_process(root: str, upload_id: str, number: int) -> tuple[int, int, str]:
    store = _store(Path(root))
    try:
        data = pattern(MIN * 2, number)
        part = store.upload_part("bkt", "k", upload_id, number, io.BytesIO(data), size=len(data))
        return os.getpid(), number, part.etag
    finally:
        store.close()


def test_parts_from_other_processes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = _store(root)
    store.create_bucket("bkt")
    upload_id = store.create_multipart_upload("bkt", "k")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_upload_in_process, [(str(root), upload_id, n) for n in (1, 2, 3)])
    assert all(pid != os.getpid() for pid, _, _ in results)
    listed = sorted((n, etag) for _, n, etag in results)
    assert [p.part_number for p in store.list_parts("bkt", "k", upload_id).parts] == [1, 2, 3]
    store.complete_multipart_upload("bkt", "k", upload_id, listed)
    assert get_bytes(store, "bkt", "k") == b"".join(pattern(MIN * 2, n) for n in (1, 2, 3))
    assert os.listdir(root / "parts") == []
    store.close()


def test_two_instances_share_uploads(tmp_path: Path) -> None:
    a, b = _store(tmp_path / "data"), _store(tmp_path / "data")
    a.create_bucket("bkt")
    upload_id = a.create_multipart_upload("bkt", "k")
    p1 = b.upload_part("bkt", "k", upload_id, 1, io.BytesIO(pattern(MIN)), size=MIN)
    p2 = a.upload_part("bkt", "k", upload_id, 2, io.BytesIO(b"tail"), size=4)
    assert [u.upload_id for u in b.list_multipart_uploads("bkt").uploads] == [upload_id]
    b.complete_multipart_upload("bkt", "k", upload_id, [(1, p1.etag), (2, p2.etag)])
    assert get_bytes(a, "bkt", "k") == pattern(MIN) + b"tail"
    with pytest.raises(NoSuchUpload):
        a.abort_multipart_upload("bkt", "k", upload_id)
    a.close()
    b.close()


def test_abort_and_replace_remove_part_files(tmp_path: Path) -> None:
    store = _store(tmp_path / "data")
    store.create_bucket("bkt")
    upload_id = store.create_multipart_upload("bkt", "k")
    for _ in range(3):  # replacing a part removes the replaced file
        store.upload_part("bkt", "k", upload_id, 1, io.BytesIO(b"x" * 10), size=10)
    assert len(os.listdir(tmp_path / "data" / "parts")) == 1
    store.abort_multipart_upload("bkt", "k", upload_id)
    assert os.listdir(tmp_path / "data" / "parts") == []
    assert store.find_orphans(older_than=-1) == []
    store.close()


def test_remove_abandoned_uploads(tmp_path: Path) -> None:
    store = _store(tmp_path / "data")
    store.create_bucket("bkt")
    old = store.create_multipart_upload("bkt", "old")
    store.upload_part("bkt", "old", old, 1, io.BytesIO(b"abc"), size=3)
    orphan = tmp_path / "data" / "parts" / "deadbeef.00001.000000"
    orphan.write_bytes(b"left by a crash")
    backend = store.multipart
    assert backend.remove_abandoned_uploads(older_than=3600) == []  # all too young
    assert [u.upload_id for u in backend.abandoned_uploads(older_than=-1)] == [old]
    removed = backend.remove_abandoned_uploads(older_than=-1)
    assert removed == [old, str(orphan)]
    assert os.listdir(tmp_path / "data" / "parts") == []
    with pytest.raises(NoSuchUpload):
        store.list_parts("bkt", "old", old)
    store.close()


@pytest.mark.parametrize("broken", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_copy_fd_fallbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: tuple[str, ...]
) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    for name in broken:
        monkeypatch.setattr(os, name, refuse, raising=False)
    data = pattern(3 * 1024 * 1024 + 5)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    with src.open("rb") as s, dst.open("wb") as d:
        d.write(b"head")
        d.flush()
        copy_fd(s.fileno(), d.fileno(), len(data))
    assert dst.read_bytes() == b"head" + data


class StagedFilesystemStore(FilesystemStore):
    """A store using the default (staged) multipart implementation in a shared dir."""

    def __init__(self, root: Path, staging: Path) -> None:
        super().__init__(root)
        self.multipart_dir = str(staging)
        self.multipart_min_part_size = MIN

    def multipart_backend(self) -> MultipartBackend:
        return ObjectStore.multipart_backend(self)  # the staged default, not the native one


def test_staged_default_shared_between_instances(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    a = StagedFilesystemStore(tmp_path / "data", staging)
    b = StagedFilesystemStore(tmp_path / "data", staging)
    a.create_bucket("bkt")
    upload_id = a.create_multipart_upload("bkt", "k")
    p1 = b.upload_part("bkt", "k", upload_id, 1, io.BytesIO(pattern(MIN)), size=MIN)
    p2 = a.upload_part("bkt", "k", upload_id, 2, io.BytesIO(b"end"), size=3)
    info = b.complete_multipart_upload("bkt", "k", upload_id, [(1, p1.etag), (2, p2.etag)])
    assert info.etag.endswith("-2")
    assert a.head_object("bkt", "k").etag == info.etag  # put_object recorded the given ETag
    assert get_bytes(a, "bkt", "k") == pattern(MIN) + b"end"
    assert os.listdir(staging / "parts") == []
    a.close()
    b.close()


def test_default_staging_dir_is_removed_with_the_store() -> None:
    import gc

    from boxdrive_wsgi.stores.memory import MemoryStore

    store: ObjectStore | None = MemoryStore()
    assert store is not None
    backend = store.multipart_backend()
    assert isinstance(backend, StagedMultipart) and not backend.shared
    path = backend.directory
    del backend
    store.create_bucket("b")
    store.create_multipart_upload("b", "k")
    assert os.path.isdir(path)
    store = None
    gc.collect()
    assert not os.path.exists(path)


def test_deleting_a_bucket_drops_its_uploads(tmp_path: Path) -> None:
    store = _store(tmp_path / "data")
    store.create_bucket("bkt")
    upload_id = store.create_multipart_upload("bkt", "k")
    store.upload_part("bkt", "k", upload_id, 1, io.BytesIO(b"abc"), size=3)
    store.delete_bucket("bkt")
    assert os.listdir(tmp_path / "data" / "parts") == []
    store.create_bucket("bkt2")  # SQLite may hand the same bucket id out again
    assert store.list_multipart_uploads("bkt2").uploads == []
    store.close()
