"""Contract: reading past versions (``list_object_versions`` of every version, and
get/head/copy source by ``version_id``), the part of versioning a store with read-only
versions (``capabilities.version_reads``, e.g. GitLab's branch history) has too.

The checks run on every store that reads versions: a ``versioning`` store gets its
bucket Enabled first (then writes and deletes make the same history); a
``version_reads`` store keeps history on a bucket never versioned. Such a store may
leave out the keys absent now, and refuses every change to a version (NotSupported).
A store with neither lists current objects as null versions, which is checked too.
"""

from __future__ import annotations

import pytest

from ...stores import (
    AttributeUpdate,
    ByteRange,
    NoSuchVersion,
    NotSupported,
    ObjectInfo,
    ObjectStore,
    VersionIsDeleteMarker,
)
from ..helpers import get_bytes, keys_of, md5, put, walk_version_pages

#: (key, is_latest, delete_marker): a listed version without its id.
Shape = tuple[str, bool, bool]


def reads_versions(store: ObjectStore, bucket: str) -> bool:
    """True if ``store`` keeps a history of ``bucket`` (Enabled first where needed)."""
    if store.capabilities.versioning:
        store.set_bucket_versioning(bucket, "Enabled")
        return True
    return store.capabilities.version_reads


def read_only(store: ObjectStore) -> bool:
    return store.capabilities.version_reads and not store.capabilities.versioning


def listing(
    store: ObjectStore, bucket: str, *, prefix: str = "", key_marker: str = ""
) -> list[ObjectInfo]:
    page = store.list_object_versions(bucket, prefix=prefix, key_marker=key_marker)
    assert not page.is_truncated
    return page.versions


def write_history(store: ObjectStore, bucket: str, steps: dict[str, str]) -> list[Shape]:
    """Apply ``steps`` ("p": put, "d": delete) per key; the shapes S3's listing has
    (key order, newest first), less the keys deleted last on a read-only store."""
    expected: list[Shape] = []
    for key in sorted(steps, key=str.encode):
        for n, step in enumerate(steps[key]):
            if step == "p":
                put(store, bucket, key, f"{key}-{n}".encode())
            else:
                store.delete_object(bucket, key)
        if read_only(store) and steps[key].endswith("d"):
            continue  # may be left out: a key absent now
        kinds = [step == "d" for step in reversed(steps[key])]
        expected += [(key, n == 0, marker) for n, marker in enumerate(kinds)]
    return expected


def shapes(versions: list[ObjectInfo]) -> list[Shape]:
    return [(v.key, v.is_latest, v.delete_marker) for v in versions]


def test_history_reads_every_version(store: ObjectStore, bucket: str) -> None:
    if not reads_versions(store, bucket):
        put(store, bucket, "k", b"v0")
        put(store, bucket, "k", b"v1")
        assert [(v.key, v.version_id) for v in listing(store, bucket)] == [("k", "null")]
        return
    put(store, bucket, "k", b"v0-0123456789")
    put(store, bucket, "k", b"v1")
    store.delete_object(bucket, "k")
    put(store, bucket, "k", b"v3")
    other = put(store, bucket, "other", b"o")
    versions = [v for v in listing(store, bucket) if v.key == "k"]
    assert shapes(versions) == [("k", True, False), ("k", False, True), ("k", False, False),
                                ("k", False, False)]  # fmt: skip
    ids = [str(v.version_id) for v in versions]
    assert len(set(ids)) == 4 and all(store.is_version_id(i) and i != "null" for i in ids)
    assert all(len(i) <= 64 and i.isascii() for i in ids)
    latest, marker, one, zero = ids
    for vid, data in ((latest, b"v3"), (one, b"v1"), (zero, b"v0-0123456789")):
        assert store.get_object(bucket, "k", version_id=vid).read_all() == data
        head = store.head_object(bucket, "k", version_id=vid)
        assert (head.etag, head.size, head.version_id) == (md5(data), len(data), vid)
        assert head.is_latest == (vid == latest)
    ranged = store.get_object(bucket, "k", byte_range=ByteRange(3, 5), version_id=zero)
    assert ranged.read_all() == b"012"
    for read in (store.head_object, store.get_object):
        with pytest.raises(VersionIsDeleteMarker) as refused:
            read(bucket, "k", version_id=marker)
        assert refused.value.version_id == marker
    other_id = other.version_id or str(listing(store, bucket, prefix="other")[0].version_id)
    with pytest.raises(NoSuchVersion):  # a version of another key
        store.head_object(bucket, "k", version_id=other_id)
    with pytest.raises(NoSuchVersion):
        store.get_object(bucket, "k", version_id="not a version id")
    # restoring an old version by copy
    restored = store.copy_object(bucket, "k", bucket, "k", source_version_id=zero)
    assert restored.etag == md5(b"v0-0123456789")
    assert get_bytes(store, bucket, "k") == b"v0-0123456789"
    assert len([v for v in listing(store, bucket) if v.key == "k"]) == 5


def test_history_listing_pages_prefix_and_delimiter(store: ObjectStore, bucket: str) -> None:
    if not reads_versions(store, bucket):
        return
    steps = {"a": "ppdp", "b/1": "pp", "b/2": "pd", "c": "p", "é": "pdp", "gone": "pd"}
    expected = write_history(store, bucket, steps)
    full = listing(store, bucket)
    assert shapes(full) == expected
    assert keys_of(store, bucket) == ["a", "b/1", "c", "é"]
    for max_keys in (1, 3):
        seen = walk_version_pages(store, bucket, max_keys)
        assert [(v.key, v.version_id) for v in seen] == [(v.key, v.version_id) for v in full]
    assert shapes(listing(store, bucket, prefix="b/")) == [s for s in expected if s[0][:2] == "b/"]
    page = store.list_object_versions(bucket, delimiter="/")
    assert page.common_prefixes == ["b/"]
    assert shapes(page.versions) == [s for s in expected if "/" not in s[0]]
    after = listing(store, bucket, key_marker="b/2")
    assert shapes(after) == [s for s in expected if s[0].encode() > b"b/2"]


def test_read_only_history_refuses_changes(store: ObjectStore, bucket: str) -> None:
    if not read_only(store):
        return
    with pytest.raises(NotSupported):
        store.set_bucket_versioning(bucket, "Enabled")
    assert store.head_bucket(bucket).versioning is None
    assert put(store, bucket, "k", b"one").version_id is None
    put(store, bucket, "k", b"two")
    old = str(listing(store, bucket)[1].version_id)
    with pytest.raises(NotSupported):
        store.delete_object(bucket, "k", version_id=old)
    with pytest.raises(NotSupported):
        store.update_object_attributes(bucket, "k", AttributeUpdate(tags={}), version_id=old)
    assert store.get_object(bucket, "k", version_id=old).read_all() == b"one"
    assert len(listing(store, bucket)) == 2
    # the null version is the object itself: a plain delete, whose history stays
    assert store.delete_object(bucket, "k", version_id="null").version_id is None
    assert keys_of(store, bucket) == []
    assert store.get_object(bucket, "k", version_id=old).read_all() == b"one"
