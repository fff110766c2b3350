"""LazyBucketInfo: a BucketInfo whose versioning status and slot names are fetched on
first read, once, and otherwise behaves as the plain one (equality, replace, frozen)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from boxdrive_wsgi.stores.base import BucketInfo, NoSuchBucket
from boxdrive_wsgi.stores.lookups import LazyBucketInfo

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def test_parts_are_fetched_on_first_read_only_once() -> None:
    asked: list[str] = []

    def status() -> str | None:
        asked.append("status")
        return "Enabled"

    def names() -> frozenset[str] | None:
        asked.append("names")
        return frozenset({"cors"})

    info = LazyBucketInfo("b", WHEN, "alice", versioning_of=status, config_names_of=names)
    assert info.owner == "alice" and asked == []
    assert info.versioning == "Enabled" and info.versioning == "Enabled"
    assert asked == ["status"]
    assert info.config_names == frozenset({"cors"}) and asked == ["status", "names"]


def test_it_is_a_bucket_info() -> None:
    lazy = LazyBucketInfo("b", WHEN, "alice", versioning_of=lambda: "Suspended")
    plain = BucketInfo("b", WHEN, "alice", "Suspended")
    assert lazy == plain and plain == lazy and hash(lazy) == hash(plain)
    assert lazy != BucketInfo("b", WHEN, "alice")
    assert dataclasses.replace(lazy, owner="bob") == BucketInfo("b", WHEN, "bob", "Suspended")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lazy.owner = "bob"  # type: ignore[misc]
    eager = LazyBucketInfo("b", WHEN, versioning="Enabled", config_names=frozenset())
    assert eager.versioning == "Enabled" and eager.config_names == frozenset()


def test_an_error_fetching_is_raised_where_it_is_read() -> None:
    def gone() -> str | None:
        raise NoSuchBucket("b")

    info = LazyBucketInfo("b", WHEN, versioning_of=gone)
    assert info.name == "b"
    with pytest.raises(NoSuchBucket):
        _ = info.versioning
