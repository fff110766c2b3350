"""The store contract (boxdrive_wsgi.testing) run against every built-in store.

One class per store; a check that store cannot pass is a strict xfail with its reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from boxdrive_wsgi.stores import (
    AsyncStoreAdapter,
    BoxDriveStoreAdapter,
    FilesystemStore,
    MemoryStore,
    NotSupported,
    ObjectStore,
)
from boxdrive_wsgi.testing import KnownGap, StoreContract, StoreFactory, StoreFixtures, with_checks
from boxdrive_wsgi.testing.checks import copy_tags, history, multipart, versioning
from boxdrive_wsgi.testing.helpers import MIN_PART_SIZE

from . import fake_gitlab, s3_upstream
from .async_memory import AsyncMemoryStore, AsyncNativeMultipartStore, AsyncVersionedStore
from .boxdrive_shaped import BoxDriveShapedStore

#: The checks of delete_object_if: a store without it raises NotSupported (answered 501).
CONDITIONAL_DELETE_CHECKS = (
    "test_conditional_delete",
    "test_conditional_delete_star_and_absent_keys",
    "test_conditional_delete_never_removes_a_newer_version",
)


class TestMemory(StoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return MemoryStore


class TestFilesystem(StoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return lambda: FilesystemStore(tmp_path / "data")


class TestAsyncAdapter(StoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: AsyncStoreAdapter(AsyncMemoryStore())


class TestAsyncNativeMultipart(StoreContract):
    """An async store with multipart methods of its own: the adapter hands multipart
    to them (AsyncMultipart) instead of the staged default."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        # Its minimum part size is its own, as upstream S3's is: the contract's, set here.
        return lambda: AsyncStoreAdapter(AsyncNativeMultipartStore(min_part_size=MIN_PART_SIZE))


@with_checks(versioning, history, multipart)
class TestAsyncVersioned(StoreFixtures):
    """An async store that declares versions: the adapter forwards set_bucket_versioning,
    list_object_versions and every version keyword to it."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: AsyncStoreAdapter(AsyncVersionedStore(min_part_size=MIN_PART_SIZE))


class TestBoxDriveAdapter(StoreContract):
    known_gaps = {
        check: KnownGap("a BoxDrive store has no conditional delete", raises=NotSupported)
        for check in CONDITIONAL_DELETE_CHECKS
    }

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: BoxDriveStoreAdapter(BoxDriveShapedStore())


class TestGitlab(StoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return fake_gitlab.make_store


#: Native multipart: the upstream composes the object and keeps its boundaries, so the
#: store answers 501 to ?partNumber= and GetObjectAttributes ObjectParts (never a wrong part).
NO_PARTS = "native multipart: upstream composes the object and keeps its boundaries"
KEY_TOO_LONG = "prefix mode: <prefix><bucket>/ + a 1024-byte key exceeds upstream's key limit"


#: The S3 store's own gaps, over any upstream (tests/upstreams runs it over moto and RGW).
S3_STORE_GAPS: dict[str, str | KnownGap] = {
    "test_completion_keeps_part_boundaries": NO_PARTS,
    "test_completion_keeps_only_the_listed_parts": NO_PARTS,
    "test_completion_derives_attributes": KnownGap(NO_PARTS, raises=NotSupported),
    "test_put_keeps_parts_and_checksum_type": NO_PARTS,
    **{
        check: KnownGap("upstream's conditional delete is not passed through", NotSupported)
        for check in CONDITIONAL_DELETE_CHECKS
    },
}


class TestS3Upstream(StoreContract):
    """An S3Store over boxdrive-wsgi itself (tests/stores/s3_upstream.py), prefix mode."""

    known_gaps = {
        "test_odd_key_round_trip[1024-ascii]": KEY_TOO_LONG,
        "test_odd_key_round_trip[1024-utf8]": KEY_TOO_LONG,
        "test_odd_key_round_trip[1023-deep]": KEY_TOO_LONG,
        "test_odd_keys_coexist": KEY_TOO_LONG,
        "test_list_parts_pagination_and_checksums": (
            "part checksums are not kept upstream (ListParts returns upstream's own)"
        ),
        "test_list_parts_tells_the_upload_checksum": (
            "upstream's ListParts is passed through as it is"
        ),
        **S3_STORE_GAPS,
    }

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return s3_upstream.make_store


class DefaultsStore(MemoryStore):
    """A store relying on ObjectStore's default copy_object and put_object_tags."""

    copy_object = ObjectStore.copy_object
    update_object_attributes = ObjectStore.update_object_attributes


@with_checks(copy_tags)
class TestDefaultMethods(StoreFixtures):
    """The copy and tag checks over the base class's default implementations."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return DefaultsStore
