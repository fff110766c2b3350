"""Conditional writes over each real upstream and layout: the probe finds what moto 5.2
and Ceph 16 apply per operation, the store refuses (NotSupported, 501) a conditional
write whose condition upstream would ignore and leaves the data as it was, and the
store's own attribute updates (tags, ACLs: a self-copy) keep working where copy
conditions are ignored, last writer wins."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores import (
    AttributeUpdate,
    NotSupported,
    ObjectAttributes,
    PreconditionFailed,
    WriteOptions,
)
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.stores.s3.conditions import ConditionalWrites

from .conftest import LANES, open_lane

#: What each upstream applies, as the probe reports it (measured by hand first).
EXPECTED = {
    "moto": {
        "put": {"if_none_match": True, "if_match": True, "etag_form": "quoted"},
        "copy": {"if_none_match": False, "if_match": False, "etag_form": None},
        "complete": {"if_none_match": True, "if_match": False, "etag_form": None},
        "copy_source": None,
    },
    "rgw": {
        "put": {"if_none_match": True, "if_match": True, "etag_form": "bare"},
        "copy": {"if_none_match": False, "if_match": False, "etag_form": None},
        "complete": {"if_none_match": False, "if_match": False, "etag_form": None},
        "copy_source": "x-amz-copy-if-match",
    },
}


@pytest.fixture(params=LANES)
def lane_store(request: pytest.FixtureRequest) -> Iterator[tuple[str, S3Store]]:
    with open_lane(request.param) as store:
        store.create_bucket("conditions")
        yield request.param.split("-")[0], store


def put(store: S3Store, key: str, data: bytes, **options: object) -> str:
    return store.put_object("conditions", key, io.BytesIO(data), size=len(data), **options).etag  # type: ignore[arg-type]


def read(store: S3Store, key: str) -> bytes:
    return store.get_object("conditions", key).read_all()


def test_probe_finds_each_upstreams_conditions(lane_store: tuple[str, S3Store]) -> None:
    upstream, store = lane_store
    store.conditional_writes = ConditionalWrites()  # probe afresh, not the process's result
    put(store, "k", b"1", options=WriteOptions.create())  # the first conditional write probes
    assert store.conditional_writes.known() == EXPECTED[upstream]
    listed = store.list_objects("conditions")
    assert [o.key for o in listed.objects] == ["k"], "the probe leaves no key behind"
    assert store.list_multipart_uploads("conditions").uploads == []


def test_ignored_copy_conditions_are_refused(lane_store: tuple[str, S3Store]) -> None:
    _, store = lane_store
    put(store, "src", b"source")
    dst = put(store, "dst", b"destination")
    for options in (WriteOptions.create(), WriteOptions.update("0" * 32), WriteOptions.update(dst)):
        with pytest.raises(NotSupported):
            store.copy_object("conditions", "src", "conditions", "dst", options=options)
        assert read(store, "dst") == b"destination"
    with pytest.raises(NotSupported):
        store.copy_object("conditions", "src", "conditions", "fresh", options=WriteOptions.create())
    assert [o.key for o in store.list_objects("conditions").objects] == ["dst", "src"]
    store.copy_object("conditions", "src", "conditions", "dst")  # unconditional: copies
    assert read(store, "dst") == b"source"


def test_ignored_completion_conditions_are_refused(lane_store: tuple[str, S3Store]) -> None:
    upstream, store = lane_store
    old = put(store, "k", b"old")
    upload_id = store.create_multipart_upload("conditions", "k")
    part = store.upload_part("conditions", "k", upload_id, 1, io.BytesIO(b"new"), size=3)
    listed = [(1, part.etag)]
    if upstream == "moto":  # applies If-None-Match on completion, not If-Match
        with pytest.raises(PreconditionFailed):
            store.complete_multipart_upload(
                "conditions", "k", upload_id, listed, options=WriteOptions.create()
            )
    else:
        with pytest.raises(NotSupported):
            store.complete_multipart_upload(
                "conditions", "k", upload_id, listed, options=WriteOptions.create()
            )
    for etag in ("0" * 32, old):
        with pytest.raises(NotSupported):
            store.complete_multipart_upload(
                "conditions", "k", upload_id, listed, options=WriteOptions.update(etag)
            )
    assert read(store, "k") == b"old"
    store.complete_multipart_upload("conditions", "k", upload_id, listed)  # the upload is kept
    assert read(store, "k") == b"new"


def test_conditional_puts_are_applied(lane_store: tuple[str, S3Store]) -> None:
    """PutObject's conditions are applied upstream (RGW: the bare ETag form)."""
    _, store = lane_store
    first = put(store, "k", b"first", options=WriteOptions.create())
    with pytest.raises(PreconditionFailed):
        put(store, "k", b"second", options=WriteOptions.create())
    with pytest.raises(PreconditionFailed):
        put(store, "k", b"second", options=WriteOptions.update("0" * 32))
    put(store, "k", b"third", options=WriteOptions.update(first))
    assert read(store, "k") == b"third"


def test_attribute_updates_work_where_copy_conditions_are_ignored(
    lane_store: tuple[str, S3Store],
) -> None:
    _, store = lane_store
    attributes = ObjectAttributes(content_type="text/plain", metadata={"m": "1"}, tags={"a": "1"})
    etag = put(store, "k", b"data", attributes=attributes)
    info = store.update_object_attributes("conditions", "k", AttributeUpdate(tags={"b": "2"}))
    assert dict(info.attributes.tags) == {"b": "2"}
    info = store.update_object_attributes("conditions", "k", AttributeUpdate(acl="public-read"))
    head = store.head_object("conditions", "k")
    assert (head.etag, dict(head.attributes.tags), head.attributes.acl) == (
        etag,
        {"b": "2"},
        "public-read",
    )
    assert (head.attributes.content_type, dict(head.attributes.metadata)) == (
        "text/plain",
        {"m": "1"},
    )
    assert read(store, "k") == b"data"


@pytest.mark.parametrize("upstream", ["moto", "rgw"])
def test_readiness_probes_at_start_up_in_1to1(upstream: str) -> None:
    """1:1: readiness probes in the first upstream bucket (reserved keys), before any
    write; with no bucket yet there is nowhere to probe: ``unknown`` until a write."""
    with open_lane(f"{upstream}-1to1") as store:
        store.conditional_writes = ConditionalWrites()
        assert store.upstream_health()["conditional_writes"] == "unknown"
        store.client.create_bucket(Bucket="made-upstream")  # outside boxdrive: no owner
        assert store.upstream_health()["conditional_writes"] == EXPECTED[upstream]
        assert store.list_objects("made-upstream").objects == []
        assert store.client.list_objects_v2(Bucket="made-upstream").get("KeyCount") == 0
