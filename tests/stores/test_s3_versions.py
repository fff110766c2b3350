"""S3Store's versioning pieces that need no upstream: which layout versions, which ids
are upstream's, and how ListObjectVersions' two lists are merged back into S3's order.
The behaviour over real upstreams runs in tests/upstreams (the kit's versioning section)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from boxdrive_wsgi.stores.base import NoSuchVersion, NotSupported
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.stores.s3 import versions as s3_versions


def store(**options: Any) -> S3Store:
    return S3Store(endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b", **options)


def test_only_the_1to1_layout_versions() -> None:
    assert store().capabilities.versioning
    assert not store(versioning=False).capabilities.versioning
    prefixed = store(bucket="up", prefix="p/")
    assert not prefixed.capabilities.versioning
    with pytest.raises(NotSupported):  # refused before any upstream call
        prefixed.set_bucket_versioning("b", "Enabled")
    assert prefixed.is_version_id("null") and not prefixed.is_version_id("abc")
    with pytest.raises(NoSuchVersion):
        prefixed.head_object("b", "k", version_id="abc")


def test_bad_status_is_refused_first() -> None:
    with pytest.raises(ValueError):
        store().set_bucket_versioning("b", "Disabled")


@pytest.mark.parametrize(
    "value",
    ["null", "b781f7c5-d19a-4ee3-a759-7092633d0089", "I72Hw5zStRvw.uDb4rf5JXHH5V75v4m", "x" * 1024],
)
def test_upstream_ids_are_opaque(value: str) -> None:
    assert store().is_version_id(value)


@pytest.mark.parametrize("value", ["", "bad id", "a/../b", "x" * 1025, "é", "a%2F"])
def test_ids_no_upstream_makes_are_refused_locally(value: str) -> None:
    s = store()
    assert not s.is_version_id(value)
    with pytest.raises(NoSuchVersion):  # before any upstream call (none answers on :9)
        s.get_object("b", "k", version_id=value)


def _item(key: str, vid: str, latest: bool, second: int) -> dict[str, Any]:
    when = datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)
    return {"Key": key, "VersionId": vid, "IsLatest": latest, "LastModified": when}


def test_listing_keeps_upstreams_interleaved_order() -> None:
    body = (
        b"<ListVersionsResult><Version><Key>a</Key></Version><DeleteMarker><Key>a</Key>"
        b"</DeleteMarker><Version><Key>a</Key><VersionId>v</VersionId></Version>"
        b"<DeleteMarker><Key>b</Key></DeleteMarker></ListVersionsResult>"
    )
    custom: dict[str, Any] = {}
    s3_versions.keep_listing_order({"body": body}, custom)
    page = {
        "Versions": [_item("a", "3", True, 3), _item("a", "1", False, 1)],
        "DeleteMarkers": [_item("a", "2", False, 2), _item("b", "4", True, 4)],
        **custom,
    }
    merged = s3_versions._merged("bk", page)
    assert [(e.key, e.version_id, e.delete_marker) for e in merged] == [
        ("a", "3", False),
        ("a", "2", True),
        ("a", "1", False),
        ("b", "4", True),
    ]
    assert merged[1].size == 0 and merged[1].etag == ""


def test_listing_without_the_raw_order_sorts_by_key_then_newest() -> None:
    page = {
        "Versions": [_item("b", "5", True, 5), _item("a", "1", False, 1)],
        "DeleteMarkers": [_item("a", "2", True, 2)],
    }
    merged = s3_versions._merged("bk", page)
    assert [(e.key, e.version_id, e.is_latest) for e in merged] == [
        ("a", "2", True),
        ("a", "1", False),
        ("b", "5", True),
    ]
