"""What the on-disk stores create is their owner's alone, whatever the umask: the data
dir and every directory 0700; content files, multipart parts, the SQLite indexes and
their -wal/-shm files 0600."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import ObjectStore
from boxdrive_wsgi.stores.filesystem import DB_NAME, FilesystemStore
from boxdrive_wsgi.stores.filesystem import content as filesystem_content
from boxdrive_wsgi.stores.memory import MemoryStore


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The usual 022 umask, under which plain open()/makedirs() give 0644/0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def loose(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) that others may read, write or enter."""
    wrong = []
    for name, mode in modes(root).items():
        wanted = 0o700 if (root / name).is_dir() else 0o600
        if mode != wanted:
            wrong.append(f"{name}: {mode:o}")
    return wrong


def exercise(store: ObjectStore) -> None:
    """Objects in a nested key, a copy, bucket configuration and a multipart upload:
    one completed, one left open (so parts stay staged)."""
    store.create_bucket("b")
    store.put_object("b", "dir/k", io.BytesIO(b"data"), size=4)
    store.copy_object("b", "dir/k", "b", "copy")
    store.put_bucket_config("b", "cors", b"[]")
    for key in ("done", "open"):
        upload = store.create_multipart_upload("b", key)
        part = store.upload_part("b", key, upload, 1, io.BytesIO(b"part"), size=4)
        if key == "done":
            store.complete_multipart_upload("b", key, upload, [(1, part.etag)])


def test_filesystem_store_files_are_private(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = FilesystemStore(root)
    exercise(store)
    names = modes(root)
    # The WAL files exist while the store is open: they are checked too.
    assert {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"} <= set(names), names
    assert any(name.startswith("parts/") for name in names), names
    assert loose(root) == []
    store.close()


class _NoLinks:
    """``os`` as the content files module sees it, on a filesystem without hard links."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def link(self, source: str, target: str) -> None:
        raise OSError("no hard links on this filesystem")


def test_filesystem_copy_without_hard_links_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filesystem_content, "os", _NoLinks())
    store = FilesystemStore(tmp_path / "data", inline_max=-1)  # bodies in files, to copy
    exercise(store)
    contents = [p for p in (tmp_path / "data" / "objects").rglob("*") if p.is_file()]
    assert len(contents) == 3 and all(p.stat().st_nlink == 1 for p in contents)  # copied
    assert loose(tmp_path / "data") == []
    store.close()


def test_multipart_staging_of_other_stores_is_private(tmp_path: Path) -> None:
    staging = tmp_path / "staging"

    class Staged(MemoryStore):
        multipart_dir = str(staging / "nested")

    store = Staged()
    exercise(store)
    names = modes(staging)
    assert "nested/multipart.sqlite3" in names and any("parts/" in n for n in names), names
    assert loose(staging / "nested") == [] and names["."] == 0o700
