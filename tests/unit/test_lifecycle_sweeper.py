"""The lifecycle sweeper over real stores, with a 10-second "day" and a clock it is
handed: expirations, noncurrent versions, delete markers, uploads, object lock."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from boxdrive_wsgi.lifecycle import SweepLock, sweep
from boxdrive_wsgi.protocol.lifecycle import dump_configuration, parse_configuration
from boxdrive_wsgi.stores.base import ObjectAttributes, ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.memory import MemoryStore

DAY = 10.0
STORES: dict[str, Callable[[Path], ObjectStore]] = {
    "memory": lambda _: MemoryStore(),
    "filesystem": lambda path: FilesystemStore(str(path / "data")),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    made = STORES[request.param](tmp_path)
    made.create_bucket("b")
    yield made
    made.close()


def rules(store: ObjectStore, *xml_rules: str) -> None:
    body = ("<LifecycleConfiguration>" + "".join(xml_rules) + "</LifecycleConfiguration>").encode()
    store.put_bucket_config("b", "lifecycle", dump_configuration(parse_configuration(body)))


def rule(body: str, prefix: str = "", rule_id: str = "r") -> str:
    return f"<Rule><ID>{rule_id}</ID><Prefix>{prefix}</Prefix><Status>Enabled</Status>{body}</Rule>"


def put(store: ObjectStore, key: str, data: bytes = b"x", **attributes: Any) -> datetime:
    info = store.put_object(
        "b", key, io.BytesIO(data), size=len(data), attributes=ObjectAttributes(**attributes)
    )
    return info.last_modified


def keys(store: ObjectStore) -> list[str]:
    return [o.key for o in store.list_objects("b").objects]


def versions(store: ObjectStore) -> list[tuple[str, bool]]:
    page = store.list_object_versions("b")
    return [(v.key, v.delete_marker) for v in page.versions]


def later(start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=days * DAY)


def test_current_versions_expire_after_days(store: ObjectStore) -> None:
    start = put(store, "a/1")
    put(store, "b/1")
    rules(store, rule("<Expiration><Days>1</Days></Expiration>", prefix="a/"))
    assert sweep(store, now=later(start, 0.5), day=DAY).expired == 0
    assert keys(store) == ["a/1", "b/1"]
    report = sweep(store, now=later(start, 1.5), day=DAY)
    assert (report.buckets, report.expired) == (1, 1)
    assert keys(store) == ["b/1"]


def test_expiration_date_and_disabled_rules(store: ObjectStore) -> None:
    put(store, "past/1")
    put(store, "off/1")
    rules(
        store,
        rule("<Expiration><Date>2015-01-01T00:00:00Z</Date></Expiration>", "past/", "p"),
        rule("<Expiration><Date>2015-01-01T00:00:00Z</Date></Expiration>", "off/", "o").replace(
            "Enabled", "Disabled"
        ),
    )
    sweep(store, day=DAY)
    assert keys(store) == ["off/1"]


def test_tag_and_size_filters(store: ObjectStore) -> None:
    start = put(store, "t/tagged", tags={"kind": "tmp"})
    put(store, "t/plain")
    put(store, "s/big", b"x" * 3000)
    put(store, "s/small", b"x" * 10)
    rules(
        store,
        "<Rule><ID>tag</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>kind</Key><Value>tmp</Value>"
        "</Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
        "<Rule><ID>size</ID><Filter><ObjectSizeGreaterThan>2000</ObjectSizeGreaterThan></Filter>"
        "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    sweep(store, now=later(start, 2), day=DAY)
    assert keys(store) == ["s/small", "t/plain"]


def test_versioned_expiration_adds_a_marker(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    start = put(store, "k")
    rules(store, rule("<Expiration><Days>1</Days></Expiration>"))
    assert sweep(store, now=later(start, 2), day=DAY).expired == 1
    assert keys(store) == []
    assert versions(store) == [("k", True), ("k", False)]
    # the marker is not the only version: it stays; the data is recoverable
    assert sweep(store, now=later(start, 2), day=DAY).markers == 0


def test_noncurrent_versions_expire_after_noncurrent_days(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    for _ in range(3):
        put(store, "keep/k")
        last = put(store, "go/k")
    rules(
        store,
        rule(
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>",
            prefix="go/",
        ),
    )
    assert sweep(store, now=later(last, 0.5), day=DAY).noncurrent == 0
    report = sweep(store, now=later(last, 1.5), day=DAY)
    assert report.noncurrent == 2
    assert versions(store) == [("go/k", False)] + [("keep/k", False)] * 3
    assert keys(store) == ["go/k", "keep/k"]


def test_newer_noncurrent_versions_are_kept(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    for _ in range(10):
        last = put(store, "k")
    rules(
        store,
        rule(
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "<NewerNoncurrentVersions>5</NewerNoncurrentVersions>"
            "</NoncurrentVersionExpiration>"
        ),
    )
    assert sweep(store, now=later(last, 2), day=DAY).noncurrent == 4
    assert len(versions(store)) == 6


def test_expired_delete_marker_goes_with_the_last_version(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    put(store, "a/k")
    put(store, "b/k")
    store.delete_object("b", "a/k")
    store.delete_object("b", "b/k")
    start = store.list_object_versions("b").versions[0].last_modified
    rules(
        store,
        rule(
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
            "</Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>",
            prefix="a/",
        ),
    )
    report = sweep(store, now=later(start, 2), day=DAY)
    assert (report.noncurrent, report.markers) == (1, 1)
    assert versions(store) == [("b/k", True), ("b/k", False)]


def test_a_lone_marker_goes_after_expiration_days(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    put(store, "k")
    store.delete_object("b", "k")
    start = store.list_object_versions("b").versions[0].last_modified
    rules(
        store,
        rule(
            "<Expiration><Days>5</Days></Expiration><NoncurrentVersionExpiration>"
            "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>"
        ),
    )
    sweep(store, now=later(start, 2), day=DAY)
    assert versions(store) == [("k", True)]
    sweep(store, now=later(start, 6), day=DAY)
    assert versions(store) == []


def test_object_lock_protects_noncurrent_versions(store: ObjectStore) -> None:
    store.set_bucket_versioning("b", "Enabled")
    far = datetime.now(UTC) + timedelta(days=365)
    put(store, "k", lock_mode="GOVERNANCE", lock_until=far)
    put(store, "k", legal_hold=True)
    last = put(store, "k")
    rules(
        store,
        rule(
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>"
        ),
    )
    report = sweep(store, now=later(last, 2), day=DAY)
    assert (report.noncurrent, report.locked) == (0, 2)
    assert len(versions(store)) == 3


def test_incomplete_uploads_are_aborted(store: ObjectStore) -> None:
    store.create_multipart_upload("b", "tmp/a")
    store.create_multipart_upload("b", "keep/a")
    start = store.list_multipart_uploads("b").uploads[0].initiated
    rules(
        store,
        rule(
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2"
            "</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
            prefix="tmp/",
        ),
    )
    assert sweep(store, now=later(start, 1), day=DAY).aborted == 0
    assert sweep(store, now=later(start, 3), day=DAY).aborted == 1
    assert [u.key for u in store.list_multipart_uploads("b").uploads] == ["keep/a"]


def test_buckets_without_rules_are_left_alone(store: ObjectStore) -> None:
    put(store, "k")
    report = sweep(store, now=datetime.now(UTC) + timedelta(days=9999), day=DAY)
    assert report.buckets == 0 and keys(store) == ["k"]


def test_one_sweeper_at_a_time(tmp_path: Path) -> None:
    lock = SweepLock(str(tmp_path))
    with lock.held() as first:
        assert first
        with SweepLock(str(tmp_path)).held() as second:
            assert not second
    with lock.held() as again:
        assert again


def test_read_only_history_is_left_alone() -> None:
    """A GitLab store lists its branch history as versions it cannot remove: the
    sweeper expires current objects there and leaves the history be."""
    from tests.stores import fake_gitlab

    gitlab = fake_gitlab.make_store()
    gitlab.create_bucket("b")
    start = put(gitlab, "k", b"one")
    put(gitlab, "k", b"two")
    put(gitlab, "old/k", b"x")
    assert len(versions(gitlab)) == 3
    rules(
        gitlab,
        rule("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
             "</NoncurrentVersionExpiration>", rule_id="n"),
        rule("<Expiration><Days>1</Days></Expiration>", prefix="old/", rule_id="e"),
    )  # fmt: skip
    report = sweep(gitlab, now=later(start, 3), day=DAY)
    assert (report.expired, report.noncurrent) == (1, 0)
    assert keys(gitlab) == ["k"] and len(versions(gitlab)) == 2
