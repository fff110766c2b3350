"""Fixtures for the upstream lanes: the S3 store over each real upstream, in both layouts.

A lane is ``<upstream>-<layout>``: upstream ``moto`` or ``rgw`` (see ``upstreams``), layout ``1to1``
(our buckets are upstream buckets) or ``prefix`` (one upstream bucket, a fresh prefix per
test). Each upstream starts once per session. 1:1 lanes run as a tenant of their own,
whose buckets are all removed after each test, so every test starts empty.

Each upstream's own gaps are strict xfails (``GAPS``): a gap that closes fails the run,
so the list stays true. Conditional writes the store refuses over an upstream that ignores
the condition are strict xfails that must raise NotSupported (``REFUSED``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from boxdrive_wsgi.stores import ObjectStore
from boxdrive_wsgi.stores.base import NotSupported
from boxdrive_wsgi.stores.s3 import S3Store

from . import upstreams
from .upstreams import MIN_PART, Upstream

LAYOUTS = ("1to1", "prefix")
LANES = [f"{name}-{layout}" for name in upstreams.UPSTREAMS for layout in LAYOUTS]
#: The upstream bucket of the prefix layout.
SHARED_BUCKET = "boxdrive-lanes"

VERSIONED_ATTRIBUTES = (
    "attribute updates on a versioned bucket are NotSupported (a self-copy would make a"
    " new version) and lock attributes are not kept"
)
MOTO_NULL = "moto: no x-amz-version-id for the null version (HEAD, PUT while Suspended)"
MOTO_MARKER_DELETE = "moto: no x-amz-delete-marker when a marker is deleted by its id"
RGW_NULL = "RGW 16: no x-amz-version-id for the null version (HEAD, PUT while Suspended)"
RGW_COPY = "RGW 16: CopyObject answers no x-amz-version-id of the copy"
RGW_MARKERS = "RGW 16 adds no second delete marker over a marker (the kit's keys have two)"
MOTO_ORDER = "moto lists all versions, then all markers, in whole seconds: S3's order is lost"

#: (lane prefix, test name prefix, id part, why): tests a lane cannot pass, as strict
#: xfails. Lane prefix "" is the S3 store's own gap (every lane); "moto-", "rgw-": that
#: upstream's; "-1to1" matches the end of the lane: the 1:1 layout's.
GAPS: list[tuple[str, str, str, str]] = [
    # the S3 store's own (over any upstream)
    ("", "test_list_parts_tells_the_upload_checksum", "", "upstream's ListParts as it is"),
    ("-1to1", "test_buckets_are_isolated", "", "1:1: upstream refuses bucket name 'b'"),
    # both moto 5.2's and Ceph 16's
    ("", "test_entity_too_small", "", "upstream's EntityTooSmall names no PartNumber"),
    ("", "test_list_uploads_order_and_pagination", "", "upstream: uploads not in S3's order"),
    ("", "test_list_uploads_prefix_and_delimiter", "", "upstream ignores Delimiter there"),
    ("", "test_list_parts_pagination_and_checksums", "", "upstream keeps no part checksums"),
    # Ceph 16's (RGW)
    ("rgw-", "test_completion_errors_keep_the_upload", "InvalidPartOrder", "RGW: InvalidPart"),
    ("rgw-", "test_subset_of_parts", "", "RGW refuses to complete a subset of the parts"),
    ("rgw-", "test_completion_keeps_only_the_listed_parts", "", "RGW: no subset of parts"),
    ("rgw-", "test_missing_bucket_and_upload", "", "RGW: 500 completing an unknown upload"),
    ("rgw-", "test_unsatisfiable_range", "", "RGW's InvalidRange names no object size"),
    ("rgw-", "test_abort", "", "RGW: completing an aborted upload is 500, not NoSuchUpload"),
    ("rgw-", "test_parts_can_be_read_by_number", "", "upstream: no GetObject partNumber"),
    ("rgw-prefix", "test_odd_key_round_trip", "[1024-ascii]", "prefix + 1024-byte key: too long"),
    ("rgw-prefix", "test_odd_key_round_trip", "[1024-utf8]", "prefix + 1024-byte key: too long"),
    ("rgw-prefix", "test_odd_key_round_trip", "[1023-deep]", "prefix + 1024-byte key: too long"),
    ("rgw-prefix", "test_odd_keys_coexist", "", "prefix + the 1024-byte key: too long for RGW"),
    # moto 5.2's
    ("moto-", "test_completion_errors_keep_the_upload", "InvalidPartOrder", "moto: no order"),
    ("moto-", "test_upload_and_complete", "", "moto: UploadPart to an aborted upload is 500"),
    ("moto-", "test_missing_bucket_and_upload", "", "moto: UploadPart, unknown upload: 500"),
    ("moto-", "test_abort", "", "moto: UploadPart to an aborted upload is 500 (KeyError)"),
    ("moto-", "test_uploads_are_per_bucket", "", "moto: upload ids not tied to their key"),
    ("moto-", "test_odd_key_round_trip", "tab", "moto: 404 for a key with a newline"),
    ("moto-", "test_odd_keys_coexist", "", "moto: 404 for a key with a newline"),
    ("moto-", "test_range_on_empty_object", "None-5", "moto: suffix range of an empty object"),
    # versioning (1:1 only: the prefix layout declares none). The S3 store's own:
    ("-1to1", "test_delete_adds_a_marker", "", "a marker's owner is upstream's user, not ours"),
    ("-1to1", "test_reads_copies_and_attributes_by_version", "", VERSIONED_ATTRIBUTES),
    ("-1to1", "test_lock_attributes_are_kept_per_version", "", VERSIONED_ATTRIBUTES),
    # moto 5.2's
    ("moto-1to1", "test_existing_object_becomes_the_null_version", "", MOTO_NULL),
    ("moto-1to1", "test_suspended_writes_replace_the_null_version", "", MOTO_NULL),
    ("moto-1to1", "test_suspended_delete_makes_a_null_marker", "", "moto: no null marker"),
    ("moto-1to1", "test_delete_by_version_moves_the_latest_back", "", MOTO_MARKER_DELETE),
    ("moto-1to1", "test_version_listing_order", "", MOTO_ORDER),
    ("moto-1to1", "test_version_listing_pages", "[2]", MOTO_ORDER),
    ("moto-1to1", "test_version_listing_pages", "[3]", MOTO_ORDER),
    ("moto-1to1", "test_version_listing_pages", "[7]", MOTO_ORDER),
    # Ceph 16's (RGW)
    ("rgw-1to1", "test_existing_object_becomes_the_null_version", "", RGW_NULL),
    ("rgw-1to1", "test_suspended_writes_replace_the_null_version", "", RGW_NULL),
    ("rgw-1to1", "test_copy_makes_a_version_of_the_destination", "", RGW_COPY),
    ("rgw-1to1", "test_version_listing_order", "", RGW_MARKERS),
    ("rgw-1to1", "test_version_listing_pages", "", RGW_MARKERS),
    ("rgw-1to1", "test_version_listing_prefix_and_delimiter", "", RGW_MARKERS),
]

RGW_VERSIONED_CREATE = "RGW 16 ignores If-None-Match on PutObject in versioned buckets"

#: Like GAPS, but the check must fail with NotSupported: the store refuses a conditional
#: write whose condition the upstream ignores there (found by the probe, see
#: stores/s3/conditions.py; test_conditions_lanes.py checks the refusal leaves data as it was).
REFUSED: list[tuple[str, str, str, str]] = [
    ("", "test_copy_destination_conditions", "", "upstream ignores If-(None-)Match on copy"),
    ("moto-", "test_conditional_completion", "", "moto ignores If-Match on completion"),
    ("rgw-", "test_conditional_completion", "", "RGW ignores If-None-Match on completion"),
    ("rgw-", "test_conditional_create_only", "", "RGW ignores If-None-Match on completion"),
    ("rgw-1to1", "test_conditional_writes_check_the_latest_version", "", RGW_VERSIONED_CREATE),
]

#: Like GAPS, but the upstream fails them in some runs only (a non-strict xfail: a strict
#: one would fail the runs where the upstream happens to get it right).
FLAKY: list[tuple[str, str, str, str]] = [
    (
        "rgw-",
        "test_multi_character_delimiter",
        "",
        "RGW 16 pages '--' delimited listings wrongly in some runs (other cases each time)",
    ),
    (
        "moto-",
        "test_concurrent_puts_and_reads",
        "",
        "moto 5.2's server answers 500 to some concurrent PutObjects on a loaded machine "
        "(its in-memory backend is not thread-safe); every other lane runs this check strictly",
    ),
    (
        "moto-prefix",
        "test_parts_can_be_read_by_number",
        "",
        "the moto lane fails this check in almost every run, but it passed in two "
        "clean-clone CI runs (never alone or in its class; cause not found yet); the "
        "RGW lane keeps the gap strict",
    ),
]

_prefixes = itertools.count()


def _matches(lane: str, pattern: str) -> bool:
    return lane.endswith(pattern) if pattern.startswith("-") else lane.startswith(pattern)


def _names(name: str, test: str) -> bool:
    return name == test or name.startswith(test + "[")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # The contract classes of test_contract*.py name their lane (``lane``).
        lane = getattr(getattr(item, "cls", None), "lane", None)
        if lane not in LANES:
            continue
        for lanes, test, part, reason in GAPS:
            if _matches(lane, lanes) and _names(item.name, test) and part in item.name:
                item.add_marker(pytest.mark.xfail(strict=True, reason=f"{lane}: {reason}"))
        for lanes, test, part, reason in REFUSED:
            if _matches(lane, lanes) and _names(item.name, test) and part in item.name:
                refused = f"{lane}: refused (NotSupported): {reason}"
                item.add_marker(pytest.mark.xfail(strict=True, raises=NotSupported, reason=refused))
        for lanes, test, part, reason in FLAKY:
            if _matches(lane, lanes) and _names(item.name, test) and part in item.name:
                item.add_marker(pytest.mark.xfail(strict=False, reason=f"{lane}: {reason}"))


def wipe(client: Any) -> None:
    """Remove every bucket of a tenant: uploads, objects, then the bucket."""
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        with contextlib.suppress(Exception):
            for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        # a versioned bucket keeps its versions and delete markers: each goes by its id
        for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                client.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
        client.delete_bucket(Bucket=name)


def lane_store(upstream: Upstream, layout: str, **options: Any) -> S3Store:
    """A fresh, empty S3 store over ``upstream`` in ``layout`` (1:1: the tenant's buckets
    must be empty already)."""
    if layout == "prefix":
        options.setdefault("bucket", SHARED_BUCKET)
        options.setdefault("prefix", f"t{next(_prefixes):05d}/")
    store = S3Store(
        endpoint_url=upstream.endpoint,
        access_key=upstream.access_key,
        secret_key=upstream.secret_key,
        region=upstream.region,
        **options,
    )
    store.multipart_min_part_size = MIN_PART
    return store


def shared_bucket(upstream: Upstream) -> None:
    client = upstream.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=SHARED_BUCKET)


@contextlib.contextmanager
def open_lane(lane: str) -> Iterator[S3Store]:
    """A fresh, empty store of ``lane`` (``<upstream>-<layout>``), cleaned up after."""
    name, layout = lane.split("-")
    upstream = upstreams.get(name, tenant="contract" if layout == "1to1" else "default")
    if layout == "prefix":
        shared_bucket(upstream)
    instance = lane_store(upstream, layout)
    try:
        yield instance
    finally:
        instance.close()
        if layout == "1to1":
            wipe(upstream.client())


#: Examples of the kit's listing property per lane (the kit draws 100): each example
#: costs a bucket, its keys and their listings upstream (~1 s on RGW, ~0.4 s on moto),
#: and the property ran over four lanes, a third of the lanes' time. Every lane still
#: draws its own examples (4 x LISTING_EXAMPLES in all), over the same property.
LISTING_EXAMPLES = 25


def listing_property(examples: int = LISTING_EXAMPLES) -> Any:
    """The kit's listing property (``test_listing_matches_model``: its check, strategy and
    settings) with ``examples`` examples."""
    from hypothesis import HealthCheck, given, settings

    from boxdrive_wsgi.testing.checks import listing

    inner = getattr(listing.test_listing_matches_model, "hypothesis").inner_test  # noqa: B009

    def test_listing_matches_model(store: ObjectStore, case: Any) -> None:
        inner(store, case)

    return staticmethod(
        given(case=listing.key_sets_and_queries())(
            settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            )(test_listing_matches_model)
        )
    )
