"""Pagination through boto3 paginators over 1,500 keys: ListObjects v1 and v2 (with and
without delimiter) and ListObjectVersions, compared to the expected sets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import empty_and_delete_bucket, unique_bucket_name

DIRS = 300
FILES_PER_DIR = 4
TOP = 300

DIR_KEYS = [f"d{d:03d}/f{f}" for d in range(DIRS) for f in range(FILES_PER_DIR)]
TOP_KEYS = [f"t{t:03d}" for t in range(TOP)]
ALL_KEYS = sorted(DIR_KEYS + TOP_KEYS)
ALL_PREFIXES = sorted(f"d{d:03d}/" for d in range(DIRS))


@pytest.fixture(scope="module")
def big(s3) -> Iterator[str]:
    name = unique_bucket_name("e2e-big")
    s3.create_bucket(Bucket=name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=name, Key=k, Body=b"p"), ALL_KEYS))
    yield name
    empty_and_delete_bucket(s3, name)


def collect(pages) -> tuple[list[str], list[str], int]:
    keys: list[str] = []
    prefixes: list[str] = []
    count = 0
    for page in pages:
        count += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes, count


@pytest.mark.parametrize(("page_size", "pages"), [(None, 2), (250, 6), (999, 2)])
@pytest.mark.parametrize("op", ["list_objects", "list_objects_v2"])
def test_paginate_without_delimiter(s3, big, op, page_size, pages):
    config = {"PageSize": page_size} if page_size else {}
    result = s3.get_paginator(op).paginate(Bucket=big, PaginationConfig=config)
    keys, prefixes, count = collect(result)
    assert keys == ALL_KEYS
    assert prefixes == []
    assert count == pages


@pytest.mark.parametrize("op", ["list_objects", "list_objects_v2"])
def test_paginate_with_delimiter(s3, big, op):
    result = s3.get_paginator(op).paginate(
        Bucket=big, Delimiter="/", PaginationConfig={"PageSize": 100}
    )
    keys, prefixes, count = collect(result)
    assert prefixes == ALL_PREFIXES
    assert keys == sorted(TOP_KEYS)
    assert count == (DIRS + TOP) // 100


@pytest.mark.parametrize("op", ["list_objects", "list_objects_v2"])
def test_paginate_with_prefix_and_delimiter(s3, big, op):
    result = s3.get_paginator(op).paginate(
        Bucket=big, Prefix="d1", Delimiter="/", PaginationConfig={"PageSize": 7}
    )
    keys, prefixes, _ = collect(result)
    assert keys == []
    assert prefixes == [p for p in ALL_PREFIXES if p.startswith("d1")]


def test_v2_page_sums_key_count(s3, big):
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=big, Delimiter="/", PaginationConfig={"PageSize": 128}
        )
    )
    for page in pages[:-1]:
        assert page["KeyCount"] == 128
        assert page["IsTruncated"] is True
    assert sum(p["KeyCount"] for p in pages) == DIRS + TOP
    assert pages[-1]["IsTruncated"] is False


@pytest.mark.parametrize("op", ["list_objects", "list_objects_v2"])
def test_max_keys_is_capped_at_1000(s3, big, op):
    resp = getattr(s3, op)(Bucket=big, MaxKeys=5000)
    assert len(resp["Contents"]) == 1000
    assert resp["IsTruncated"] is True


def test_v1_delimiter_pages_have_next_marker(s3, big):
    resp = s3.list_objects(Bucket=big, Delimiter="/", MaxKeys=50)
    assert resp["IsTruncated"] is True
    assert resp["NextMarker"] == ALL_PREFIXES[49]


def test_paginate_object_versions(s3, big):
    result = s3.get_paginator("list_object_versions").paginate(
        Bucket=big, PaginationConfig={"PageSize": 400}
    )
    versions = []
    pages = 0
    for page in result:
        pages += 1
        versions += page.get("Versions", [])
        assert page.get("DeleteMarkers", []) == []
    assert pages == 4
    assert [v["Key"] for v in versions] == ALL_KEYS
    assert {v["VersionId"] for v in versions} == {"null"}
    assert all(v["IsLatest"] for v in versions)
