"""Contract: bucket versioning (set_bucket_versioning, version ids on every read and
write, delete markers, deletes by version, list_object_versions).

A store declares ``capabilities.versioning``. Stores that declare it must pass every
check below; for the others each check asserts the refusal instead (NotSupported from
set_bucket_versioning, only the null version by id), so a declaration that does not
match the behaviour fails either way. Stores with read-only versions
(``capabilities.version_reads``) refuse as the others here; ``checks/history.py``
checks what they can.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from ...stores import (
    AttributeUpdate,
    BucketNotEmpty,
    ByteRange,
    DeleteCondition,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    PreconditionFailed,
    VersionIsDeleteMarker,
    WriteOptions,
)
from ..helpers import (
    MIN_PART_SIZE,
    THREADS,
    get_bytes,
    keys_of,
    md5,
    pattern,
    put,
    run_threads,
    walk_version_pages,
)


def versioned(store: ObjectStore, bucket: str, status: str = "Enabled") -> bool:
    """Set ``bucket``'s versioning; False (after checking the refusal) if the store
    declares it has none."""
    if not store.capabilities.versioning:
        with pytest.raises(NotSupported):
            store.set_bucket_versioning(bucket, status)
        assert store.head_bucket(bucket).versioning is None
        return False
    store.set_bucket_versioning(bucket, status)
    return True


Listed = tuple[str, str, bool, bool]


def versions_of(
    store: ObjectStore,
    bucket: str,
    *,
    prefix: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
) -> list[Listed]:
    """(key, version id, is_latest, delete_marker) of one full listing page."""
    page = store.list_object_versions(
        bucket, prefix=prefix, key_marker=key_marker, version_id_marker=version_id_marker
    )
    assert not page.is_truncated
    return [(v.key, str(v.version_id), v.is_latest, v.delete_marker) for v in page.versions]


def get_version(store: ObjectStore, bucket: str, key: str, version_id: str) -> bytes:
    return store.get_object(bucket, key, version_id=version_id).read_all()


# --------------------------------------------------------------------------- status


def test_versioning_status_round_trip(store: ObjectStore, bucket: str) -> None:
    assert store.head_bucket(bucket).versioning is None
    if not versioned(store, bucket):
        return
    assert store.head_bucket(bucket).versioning == "Enabled"
    assert [b.versioning for b in store.list_buckets() if b.name == bucket] == ["Enabled"]
    store.set_bucket_versioning(bucket, "Suspended")
    assert store.head_bucket(bucket).versioning == "Suspended"
    with pytest.raises(NoSuchBucket):
        store.set_bucket_versioning("no-such-bucket-here", "Enabled")


def test_unversioned_bucket_knows_only_the_null_version(store: ObjectStore, bucket: str) -> None:
    """Every store: an object of a never-versioned bucket is its null version."""
    info = put(store, bucket, "k", b"data")
    assert info.version_id is None  # S3 sends no x-amz-version-id here
    assert store.head_object(bucket, "k").version_id is None
    assert get_version(store, bucket, "k", "null") == b"data"
    assert store.head_object(bucket, "k", version_id="null").etag == md5(b"data")
    assert store.is_version_id("null")
    with pytest.raises(NoSuchVersion):
        store.head_object(bucket, "k", version_id="not-a-version-of-anything")
    page = store.list_object_versions(bucket)
    listed = [(v.key, v.version_id, v.is_latest) for v in page.versions]
    if store.capabilities.version_reads and not store.capabilities.versioning:
        # read-only versions (checks/history.py): the write is listed under its own id
        [(key, vid, latest)] = listed
        assert (key, latest) == ("k", True) and vid != "null" and store.is_version_id(str(vid))
        assert get_version(store, bucket, "k", str(vid)) == b"data"
    else:
        assert listed == [("k", "null", True)]
    result = store.delete_object(bucket, "k", version_id="null")
    assert result.version_id is None and not result.delete_marker
    assert keys_of(store, bucket) == []
    plain = put(store, bucket, "p", b"x")
    assert plain.version_id is None
    assert store.delete_object(bucket, "p").delete_marker is False
    assert keys_of(store, bucket) == []


# --------------------------------------------------------------------------- writes


def test_each_write_makes_a_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    infos = [put(store, bucket, "k", f"v{n}".encode()) for n in range(3)]
    ids = [i.version_id for i in infos]
    assert all(v is not None and v != "null" and store.is_version_id(v) for v in ids)
    assert all(len(str(v)) <= 64 and str(v).isascii() for v in ids)
    assert len(set(ids)) == 3
    for n, version_id in enumerate(ids):
        assert get_version(store, bucket, "k", str(version_id)) == f"v{n}".encode()
    latest = store.head_object(bucket, "k")
    assert latest.version_id == ids[2] and latest.is_latest
    assert not store.head_object(bucket, "k", version_id=str(ids[0])).is_latest
    assert get_bytes(store, bucket, "k") == b"v2"
    listed = versions_of(store, bucket)
    assert listed == [("k", str(ids[2]), True, False), ("k", str(ids[1]), False, False),
                      ("k", str(ids[0]), False, False)]  # fmt: skip
    assert keys_of(store, bucket) == ["k"]


def test_existing_object_becomes_the_null_version(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"before")
    if not versioned(store, bucket):
        return
    assert store.head_object(bucket, "k").version_id == "null"
    new = put(store, bucket, "k", b"after")
    assert new.version_id not in (None, "null")
    assert get_version(store, bucket, "k", "null") == b"before"
    assert versions_of(store, bucket) == [("k", str(new.version_id), True, False),
                                          ("k", "null", False, False)]  # fmt: skip


def test_suspended_writes_replace_the_null_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    first = put(store, bucket, "k", b"one")
    store.set_bucket_versioning(bucket, "Suspended")
    assert put(store, bucket, "k", b"two").version_id == "null"
    assert put(store, bucket, "k", b"three").version_id == "null"
    assert get_bytes(store, bucket, "k") == b"three"
    assert get_version(store, bucket, "k", str(first.version_id)) == b"one"
    assert versions_of(store, bucket) == [("k", "null", True, False),
                                          ("k", str(first.version_id), False, False)]  # fmt: skip
    store.set_bucket_versioning(bucket, "Enabled")
    again = put(store, bucket, "k", b"four")
    assert [v[1] for v in versions_of(store, bucket)] == [
        str(again.version_id),
        "null",
        str(first.version_id),
    ]


def test_multipart_completion_makes_a_version(mp_store: ObjectStore, bucket: str) -> None:
    store = mp_store
    if not versioned(store, bucket):
        return
    first = put(store, bucket, "k", b"small")
    upload_id = store.create_multipart_upload(bucket, "k")
    data = pattern(MIN_PART_SIZE + 5)
    part = store.upload_part(bucket, "k", upload_id, 1, io.BytesIO(data), size=len(data))
    info = store.complete_multipart_upload(bucket, "k", upload_id, [(1, part.etag)])
    assert info.version_id not in (None, "null", first.version_id)
    assert get_bytes(store, bucket, "k") == data
    assert get_version(store, bucket, "k", str(first.version_id)) == b"small"
    assert [v[1] for v in versions_of(store, bucket)] == [
        str(info.version_id),
        str(first.version_id),
    ]


def test_copy_makes_a_version_of_the_destination(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    old = put(store, bucket, "dst", b"old")
    put(store, bucket, "src", b"new")
    info = store.copy_object(bucket, "src", bucket, "dst")
    assert info.version_id not in (None, "null", old.version_id)
    assert get_bytes(store, bucket, "dst") == b"new"
    assert get_version(store, bucket, "dst", str(old.version_id)) == b"old"


def test_conditional_writes_check_the_latest_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    first = put(store, bucket, "k", b"one")
    with pytest.raises(PreconditionFailed):
        put(store, bucket, "k", b"x", options=WriteOptions.create())
    with pytest.raises(PreconditionFailed):
        put(store, bucket, "k", b"x", options=WriteOptions.update(md5(b"other")))
    assert put(store, bucket, "k", b"two", options=WriteOptions.update(first.etag)).etag == md5(
        b"two"
    )
    store.delete_object(bucket, "k")  # a marker as the latest: the key is absent
    with pytest.raises(NoSuchKey):
        put(store, bucket, "k", b"x", options=WriteOptions.update("*"))
    created = put(store, bucket, "k", b"three", options=WriteOptions.create())
    assert get_bytes(store, bucket, "k") == b"three"
    assert len(versions_of(store, bucket)) == 4
    assert created.is_latest


# --------------------------------------------------------------------------- markers


def test_delete_adds_a_marker(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    info = put(store, bucket, "k", b"data")
    result = store.delete_object(bucket, "k", owner="owner-2")
    assert result.delete_marker and result.version_id not in (None, "null", info.version_id)
    marker = str(result.version_id)
    with pytest.raises(NoSuchKey) as missing:
        store.head_object(bucket, "k")
    assert missing.value.delete_marker and missing.value.version_id == marker
    with pytest.raises(NoSuchKey):
        store.get_object(bucket, "k")
    assert keys_of(store, bucket) == []
    for read in (store.head_object, store.get_object):
        with pytest.raises(VersionIsDeleteMarker) as refused:
            read(bucket, "k", version_id=marker)
        assert refused.value.version_id == marker
    with pytest.raises(VersionIsDeleteMarker):
        store.copy_object(bucket, "k", bucket, "copy", source_version_id=marker)
    with pytest.raises(NoSuchKey):
        store.copy_object(bucket, "k", bucket, "copy")
    page = store.list_object_versions(bucket)
    first, second = page.versions
    assert (first.version_id, first.is_latest, first.delete_marker) == (marker, True, True)
    assert first.size == 0 and first.attributes.owner == "owner-2"
    assert (second.version_id, second.is_latest, second.delete_marker) == (
        info.version_id,
        False,
        False,
    )
    assert get_version(store, bucket, "k", str(info.version_id)) == b"data"
    # a second delete adds a second marker
    again = store.delete_object(bucket, "k")
    assert again.delete_marker and again.version_id != marker
    assert [v[3] for v in versions_of(store, bucket)] == [True, True, False]


def test_delete_by_version_moves_the_latest_back(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    one = put(store, bucket, "k", b"one")
    two = put(store, bucket, "k", b"two")
    result = store.delete_object(bucket, "k", version_id=str(two.version_id))
    assert (result.version_id, result.delete_marker) == (two.version_id, False)
    assert get_bytes(store, bucket, "k") == b"one"
    assert store.head_object(bucket, "k").version_id == one.version_id
    with pytest.raises(NoSuchVersion):
        store.head_object(bucket, "k", version_id=str(two.version_id))
    marker = store.delete_object(bucket, "k")
    removed = store.delete_object(bucket, "k", version_id=str(marker.version_id))
    assert (removed.version_id, removed.delete_marker) == (marker.version_id, True)
    assert get_bytes(store, bucket, "k") == b"one"  # the marker gone, the object is back
    assert keys_of(store, bucket) == ["k"]
    # an unknown id of the store's own format is no error (S3 answers 204)
    store.delete_object(bucket, "k", version_id=str(one.version_id))
    gone = store.delete_object(bucket, "k", version_id=str(one.version_id))
    assert (gone.version_id, gone.delete_marker) == (one.version_id, False)
    assert versions_of(store, bucket) == []
    assert keys_of(store, bucket) == []


def test_deleting_an_older_version_keeps_the_latest(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    one = put(store, bucket, "k", b"one")
    two = put(store, bucket, "k", b"two")
    store.delete_object(bucket, "k", version_id=str(one.version_id))
    assert get_bytes(store, bucket, "k") == b"two"
    assert versions_of(store, bucket) == [("k", str(two.version_id), True, False)]


def test_suspended_delete_makes_a_null_marker(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    first = put(store, bucket, "k", b"one")
    store.set_bucket_versioning(bucket, "Suspended")
    put(store, bucket, "k", b"null-content")
    result = store.delete_object(bucket, "k")
    assert (result.version_id, result.delete_marker) == ("null", True)
    assert versions_of(store, bucket) == [("k", "null", True, True),
                                          ("k", str(first.version_id), False, False)]  # fmt: skip
    with pytest.raises(NoSuchKey):
        store.get_object(bucket, "k")
    again = store.delete_object(bucket, "k")  # replaces the null marker
    assert again.version_id == "null"
    assert len(versions_of(store, bucket)) == 2


def test_delete_guard_refuses_atomically(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    one = put(store, bucket, "k", b"one")
    seen: list[ObjectInfo] = []

    class Locked(Exception):
        pass

    def guard(info: ObjectInfo) -> None:
        seen.append(info)
        raise Locked

    with pytest.raises(Locked):
        store.delete_object(bucket, "k", version_id=str(one.version_id), guard=guard)
    assert [(i.key, i.version_id) for i in seen] == [("k", one.version_id)]
    assert get_version(store, bucket, "k", str(one.version_id)) == b"one"
    # a plain delete on an Enabled bucket removes nothing for good: no guard is needed
    store.delete_object(bucket, "k", guard=lambda info: None)
    assert len(versions_of(store, bucket)) == 2


def test_conditional_delete_adds_a_marker(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket) or not store.capabilities.conditional_delete:
        return
    info = put(store, bucket, "k", b"one")
    result = store.delete_object_if(bucket, "k", DeleteCondition(etag=info.etag))
    assert result.delete_marker and result.version_id not in (None, "null")
    assert get_version(store, bucket, "k", str(info.version_id)) == b"one"
    assert keys_of(store, bucket) == []


def test_delete_bucket_refused_while_versions_remain(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    info = put(store, bucket, "k", b"one")
    marker = store.delete_object(bucket, "k")
    assert keys_of(store, bucket) == []
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket(bucket)
    store.delete_object(bucket, "k", version_id=str(info.version_id))
    with pytest.raises(BucketNotEmpty):  # the marker alone still counts
        store.delete_bucket(bucket)
    store.delete_object(bucket, "k", version_id=str(marker.version_id))
    store.delete_bucket(bucket)
    with pytest.raises(NoSuchBucket):
        store.head_bucket(bucket)


# --------------------------------------------------------------------------- reads by version


def test_reads_copies_and_attributes_by_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    one = put(store, bucket, "k", b"0123456789", attributes=ObjectAttributes(metadata={"v": "1"}))
    put(store, bucket, "k", b"latest")
    vid = str(one.version_id)
    head = store.head_object(bucket, "k", version_id=vid)
    assert (head.etag, head.size, dict(head.metadata)) == (md5(b"0123456789"), 10, {"v": "1"})
    body = store.get_object(bucket, "k", byte_range=ByteRange(2, 4), version_id=vid)
    assert body.read_all() == b"234"
    copy = store.copy_object(bucket, "k", bucket, "restored", source_version_id=vid)
    assert copy.etag == md5(b"0123456789")
    assert get_bytes(store, bucket, "restored") == b"0123456789"
    tagged = store.update_object_attributes(
        bucket, "k", AttributeUpdate(tags={"t": "1"}), version_id=vid
    )
    assert dict(tagged.attributes.tags) == {"t": "1"} and tagged.version_id == vid
    assert dict(store.head_object(bucket, "k", version_id=vid).attributes.tags) == {"t": "1"}
    assert dict(store.head_object(bucket, "k").attributes.tags) == {}
    assert get_version(store, bucket, "k", vid) == b"0123456789"
    with pytest.raises(NoSuchVersion):
        store.update_object_attributes(
            bucket, "k", AttributeUpdate(tags={}), version_id=str(copy.version_id)
        )


def test_lock_attributes_are_kept_per_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    locked = ObjectAttributes(lock_mode="GOVERNANCE", lock_until=until, legal_hold=True)
    one = put(store, bucket, "k", b"one", attributes=locked)
    put(store, bucket, "k", b"two")
    vid = str(one.version_id)
    head = store.head_object(bucket, "k", version_id=vid).attributes
    assert (head.lock_mode, head.lock_until, head.legal_hold) == ("GOVERNANCE", until, True)
    later = until + timedelta(days=1)
    store.update_object_attributes(
        bucket,
        "k",
        AttributeUpdate(lock_mode="COMPLIANCE", lock_until=later, legal_hold=False),
        version_id=vid,
    )
    head = store.head_object(bucket, "k", version_id=vid).attributes
    assert (head.lock_mode, head.lock_until, head.legal_hold) == ("COMPLIANCE", later, False)
    latest = store.head_object(bucket, "k").attributes
    assert (latest.lock_mode, latest.lock_until, latest.legal_hold) == (None, None, False)


def test_unknown_versions_are_refused(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    info = put(store, bucket, "k", b"one")
    store.delete_object(bucket, "k", version_id=str(info.version_id))
    put(store, bucket, "k", b"two")
    for read in (store.head_object, store.get_object):
        with pytest.raises(NoSuchVersion):
            read(bucket, "k", version_id=str(info.version_id))
        with pytest.raises(NoSuchVersion):
            read(bucket, "k", version_id="null")  # no null version here
        with pytest.raises(NoSuchVersion):
            read(bucket, "k", version_id="bad id/../")
    assert not store.is_version_id("bad id/../")
    with pytest.raises(NoSuchVersion):
        store.copy_object(bucket, "k", bucket, "c", source_version_id=str(info.version_id))


# --------------------------------------------------------------------------- listing


def _populate(store: ObjectStore, bucket: str) -> list[Listed]:
    """Keys with several versions and markers; the listing S3 gives, built by hand."""
    expected: dict[str, list[Listed]] = {}
    for key, steps in [("a", "ppdp"), ("b/1", "pp"), ("b/2", "pd"), ("c", "p"), ("é", "pdd")]:
        versions: list[Listed] = []
        for step in steps:
            if step == "p":
                vid = str(put(store, bucket, key, key.encode()).version_id)
            else:
                vid = str(store.delete_object(bucket, key).version_id)
            versions.insert(0, (key, vid, False, step == "d"))
        versions[0] = (*versions[0][:2], True, versions[0][3])
        expected[key] = versions
    return [v for key in sorted(expected, key=str.encode) for v in expected[key]]


def test_version_listing_order(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    expected = _populate(store, bucket)
    assert versions_of(store, bucket) == expected
    assert keys_of(store, bucket) == ["a", "b/1", "c"]
    # key_marker alone: after every version of that key
    assert versions_of(store, bucket, key_marker="b/1") == [
        v for v in expected if v[0].encode() > b"b/1"
    ]
    # with a version id marker: after that version of the key
    at = expected.index(next(v for v in expected if v[0] == "a" and not v[2]))
    rest = versions_of(store, bucket, key_marker="a", version_id_marker=expected[at][1])
    assert rest == expected[at + 1 :]


@pytest.mark.parametrize("max_keys", [1, 2, 3, 7])
def test_version_listing_pages(store: ObjectStore, bucket: str, max_keys: int) -> None:
    if not versioned(store, bucket):
        return
    expected = _populate(store, bucket)
    seen = [
        (v.key, str(v.version_id), v.is_latest, v.delete_marker)
        for v in walk_version_pages(store, bucket, max_keys)
    ]
    assert seen == expected


def test_version_listing_prefix_and_delimiter(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    expected = _populate(store, bucket)
    page = store.list_object_versions(bucket, delimiter="/")
    assert page.common_prefixes == ["b/"]
    assert [v.key for v in page.versions] == [v[0] for v in expected if "/" not in v[0]]
    assert versions_of(store, bucket, prefix="b/") == [v for v in expected if v[0][:2] == "b/"]
    # the common prefix counts once toward max_keys and is where the next page starts
    first = store.list_object_versions(bucket, delimiter="/", max_keys=5)
    a_versions = [v for v in expected if v[0] == "a"]
    assert len(first.versions) == len(a_versions) and first.common_prefixes == ["b/"]
    assert first.is_truncated and first.next_key_marker == "b/"
    after = store.list_object_versions(bucket, delimiter="/", key_marker="b/")
    assert [v.key for v in after.versions] == [v[0] for v in expected if v[0] in ("c", "é")]
    assert after.common_prefixes == []
    assert store.list_object_versions(bucket, max_keys=0).versions == []


def test_concurrent_writes_each_make_a_version(store: ObjectStore, bucket: str) -> None:
    if not versioned(store, bucket):
        return
    made: list[str] = []

    def writer(n: int) -> None:
        for i in range(5):
            made.append(str(put(store, bucket, "k", f"{n}-{i}".encode()).version_id))

    assert run_threads(writer) == []
    listed = versions_of(store, bucket)
    assert len(made) == len(set(made)) == len(listed) == 5 * THREADS
    assert {v[1] for v in listed} == set(made)
    assert [v[2] for v in listed] == [True] + [False] * (len(listed) - 1)
    assert store.head_object(bucket, "k").version_id == listed[0][1]
