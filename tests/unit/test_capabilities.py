"""Capabilities: declared by each store, and 501 up front for what a store lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxdrive_wsgi.protocol.capabilities import refuse_incapable
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.stores.base import Capabilities, ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.memory import MemoryStore

BARE = Capabilities(conditional_writes=False)
FULL = Capabilities(conditional_delete=True, bucket_config=True, versioning=True)


@pytest.mark.parametrize(
    ("operation", "headers"),
    [
        ("PutObject", {"If-None-Match": "*"}),
        ("CopyObject", {"If-Match": '"abc"'}),
        ("CompleteMultipartUpload", {"If-Match": "*"}),
        ("DeleteObject", {"If-Match": '"abc"'}),
        ("DeleteObject", {"x-amz-if-match-size": "3"}),
        ("PutBucketCors", {}),
        ("GetBucketTagging", {}),
        ("PutBucketVersioning", {}),
    ],
)
def test_lacking_capability_is_501_up_front(operation: str, headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as caught:
        refuse_incapable(operation, headers, BARE)
    assert caught.value.code == "NotImplemented"
    refuse_incapable(operation, headers, FULL)  # a store that has it is not refused


@pytest.mark.parametrize(
    ("operation", "headers"),
    [("PutObject", {}), ("DeleteObject", {}), ("GetObject", {"If-Match": "x"})],
)
def test_plain_requests_need_no_capability(operation: str, headers: dict[str, str]) -> None:
    refuse_incapable(operation, headers, BARE)


@pytest.mark.parametrize(
    "operation", ["GetObject", "HeadObject", "DeleteObject", "GetObjectTagging", "GetObjectAcl"]
)
def test_only_the_null_version_needs_no_versioning(operation: str) -> None:
    refuse_incapable(operation, {}, BARE, {"versionId": "null"})
    with pytest.raises(S3Error) as caught:
        refuse_incapable(operation, {}, BARE, {"versionId": "3HL4kqtJlcpXroDTDmJ"})
    assert caught.value.code == "NotImplemented"
    refuse_incapable(operation, {}, FULL, {"versionId": "3HL4kqtJlcpXroDTDmJ"})


def test_versioning_status_reads_need_no_capability() -> None:
    # GetBucketVersioning answers the empty document; listing versions lists null ones
    refuse_incapable("GetBucketVersioning", {}, BARE)
    refuse_incapable("ListObjectVersions", {}, BARE, {"versions": ""})


def test_stores_declare_what_they_have(tmp_path: Path) -> None:
    fs = FilesystemStore(tmp_path)
    assert fs.capabilities.file_root == fs.root and fs.capabilities.file_bodies
    assert fs.capabilities.native_multipart and fs.capabilities.conditional_delete
    memory = MemoryStore()
    assert not memory.capabilities.file_bodies and not memory.capabilities.native_multipart
    assert memory.capabilities.conditional_delete and memory.capabilities.bucket_config
    # The ABC's defaults are what its own default methods provide.
    assert ObjectStore.capabilities == Capabilities()
    assert not Capabilities().conditional_delete and not Capabilities().bucket_config


def test_create_app_gives_staged_stores_the_shared_multipart_dir(tmp_path: Path) -> None:
    from boxdrive_wsgi import create_app
    from tests.stores.staged_store import StagedFilesystemStore

    staged = StagedFilesystemStore(str(tmp_path / "data"))
    assert staged.uploads_are_private()
    create_app(staged, data_dir=str(tmp_path / "data"), access_log="off")
    assert staged.multipart_dir == str(tmp_path / "data" / "multipart")
    assert not staged.uploads_are_private()
    upload = staged.create_multipart_upload(*_bucket(staged), "k")
    # The records live in the shared directory: another process's store finds the upload.
    other = StagedFilesystemStore(str(tmp_path / "data"))
    other.multipart_dir = staged.multipart_dir
    assert other.list_parts("b", "k", upload).parts == []

    memory, native = MemoryStore(), FilesystemStore(tmp_path / "native")
    create_app(memory, data_dir=str(tmp_path / "m"), access_log="off")
    create_app(native, data_dir=str(tmp_path / "native"), access_log="off")
    assert memory.multipart_dir is None and memory.uploads_are_private()  # per process anyway
    assert native.multipart_dir is None and not native.uploads_are_private()


def _bucket(store: ObjectStore) -> tuple[str]:
    store.create_bucket("b")
    return ("b",)


READ_ONLY = Capabilities(version_reads=True)


@pytest.mark.parametrize(
    "operation",
    ["GetObject", "HeadObject", "GetObjectTagging", "GetObjectAcl", "GetObjectAttributes"],
)
def test_read_only_versions_serve_reads_by_version(operation: str) -> None:
    refuse_incapable(operation, {}, READ_ONLY, {"versionId": "3HL4kqtJlcpXroDTDmJ"})
    with pytest.raises(S3Error):  # without version_reads: 501
        refuse_incapable(operation, {}, BARE, {"versionId": "3HL4kqtJlcpXroDTDmJ"})


@pytest.mark.parametrize(
    "operation", ["DeleteObject", "PutObjectTagging", "DeleteObjectTagging", "PutObjectAcl"]
)
def test_read_only_versions_refuse_changes_by_version(operation: str) -> None:
    with pytest.raises(S3Error) as caught:
        refuse_incapable(operation, {}, READ_ONLY, {"versionId": "3HL4kqtJlcpXroDTDmJ"})
    assert caught.value.code == "NotImplemented"
    refuse_incapable(operation, {}, READ_ONLY, {"versionId": "null"})  # the object itself


def test_read_only_versions_cannot_turn_versioning_on() -> None:
    with pytest.raises(S3Error) as caught:
        refuse_incapable("PutBucketVersioning", {}, READ_ONLY)
    assert caught.value.code == "NotImplemented"
    refuse_incapable("ListObjectVersions", {}, READ_ONLY, {"versions": ""})
