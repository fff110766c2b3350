"""``ObjectStore.list_object_versions`` decides by the store's capabilities: a store that
keeps versions answers through its ``list_stored_versions`` hook, one without lists its
current objects as null versions, and one that declares versions but implements no hook
is refused (501), never shown its current objects as if they were all it had."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest

from boxdrive_wsgi.stores.base import NotSupported, ObjectStore, VersionPage, current_versions
from boxdrive_wsgi.stores.capabilities import Capabilities
from boxdrive_wsgi.stores.memory import MemoryStore
from boxdrive_wsgi.stores.model import ENABLED


class HookedStore(MemoryStore):
    """A memory store answering through the ABC's decision, its own listing as the hook."""

    list_object_versions = ObjectStore.list_object_versions

    def __init__(self, capabilities: Capabilities) -> None:
        super().__init__()
        self.capabilities = capabilities
        self.hooked = 0

    def list_stored_versions(self, bucket: str, **options: Any) -> VersionPage:
        self.hooked += 1
        return MemoryStore.list_object_versions(self, bucket, **options)


class NoHookStore(MemoryStore):
    list_object_versions = ObjectStore.list_object_versions


def _two_versions(store: MemoryStore) -> None:
    store.create_bucket("b")
    store.set_bucket_versioning("b", ENABLED)
    for body in (b"one", b"two"):
        store.put_object("b", "k", io.BytesIO(body))


@pytest.mark.parametrize(
    "capabilities",
    [replace(MemoryStore.capabilities, versioning=True), Capabilities(version_reads=True)],
    ids=["versioning", "version-reads"],
)
def test_a_store_keeping_versions_lists_them_through_its_hook(
    capabilities: Capabilities,
) -> None:
    store = HookedStore(capabilities)
    _two_versions(store)
    page = store.list_object_versions("b", prefix="k", max_keys=5)
    assert store.hooked == 1
    assert [(v.key, v.is_latest) for v in page.versions] == [("k", True), ("k", False)]


def test_a_store_without_versions_lists_its_objects_as_null_versions() -> None:
    store = HookedStore(replace(MemoryStore.capabilities, versioning=False))
    _two_versions(store)  # the memory store keeps both; the capabilities say none
    page = store.list_object_versions("b")
    assert store.hooked == 0
    assert [(v.key, v.version_id, v.is_latest) for v in page.versions] == [("k", "null", True)]


def test_declared_versions_without_a_hook_are_refused() -> None:
    store = NoHookStore()
    _two_versions(store)
    with pytest.raises(NotSupported):
        store.list_object_versions("b")


def test_current_versions_lists_current_objects_whatever_the_store_keeps() -> None:
    """What the lifecycle sweeper lists on a store it may not remove history from."""
    store = HookedStore(Capabilities(version_reads=True))
    _two_versions(store)
    page = current_versions(store, "b")
    assert store.hooked == 0
    assert [(v.key, v.version_id, v.is_latest) for v in page.versions] == [("k", "null", True)]
