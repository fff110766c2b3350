"""Store contract: listing — prefix, delimiter roll-up, start_after, pagination,
UTF-8 byte order, and a property test against a reference model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ...stores import ObjectPage, ObjectStore
from ..helpers import (
    fresh_bucket_name,
    model_listing,
    model_split,
    page_entries,
    put,
    walk_pages,
)


def fill(store: ObjectStore, bucket: str, keys: list[str]) -> None:
    for key in keys:
        put(store, bucket, key, key.encode())


def listing(store: ObjectStore, bucket: str, **query: str) -> tuple[list[str], list[str]]:
    page = store.list_objects(bucket, max_keys=1000, **query)
    assert not page.is_truncated
    return [o.key for o in page.objects], page.common_prefixes


def assert_page_well_formed(page: ObjectPage, max_keys: int) -> None:
    keys = [o.key for o in page.objects]
    assert keys == sorted(keys, key=str.encode), "objects must be in UTF-8 byte order"
    assert page.common_prefixes == sorted(page.common_prefixes, key=str.encode)
    assert len(set(page.common_prefixes)) == len(page.common_prefixes)
    assert len(set(keys)) == len(keys)
    entries = page_entries(page)
    assert len(entries) <= max_keys
    if entries:
        assert page.last == entries[-1], "last must be the last key or prefix on the page"
    else:
        assert page.last is None
    if page.is_truncated:
        assert entries, "a truncated page cannot be empty"


def assert_walk_matches(
    store: ObjectStore,
    bucket: str,
    keys: list[str],
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
) -> None:
    """Every max_keys from 1 to N+1: the pages concatenate to the one-shot listing."""
    expected = model_listing(keys, prefix=prefix, delimiter=delimiter, start_after=start_after)
    one_shot = store.list_objects(
        bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=1000
    )
    assert page_entries(one_shot) == expected
    assert not one_shot.is_truncated
    for max_keys in range(1, len(expected) + 2):
        pages = walk_pages(
            store,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )
        got: list[str] = []
        for n, page in enumerate(pages):
            assert_page_well_formed(page, max_keys)
            entries = page_entries(page)
            if n < len(pages) - 1:
                assert page.is_truncated and len(entries) == max_keys
            got += entries
        assert got == expected, f"max_keys={max_keys}"
        # Truncated exactly when more remain, including a page ending exactly at the end.
        assert len(pages) == max(1, -(-len(expected) // max_keys)), f"max_keys={max_keys}"
        assert not pages[-1].is_truncated


# --------------------------------------------------------------------------- basics


def test_empty_bucket(store: ObjectStore, bucket: str) -> None:
    page = store.list_objects(bucket)
    assert page.objects == [] and page.common_prefixes == []
    assert not page.is_truncated
    assert page.last is None
    page = store.list_objects(bucket, prefix="a", delimiter="/", start_after="a", max_keys=1)
    assert page.objects == [] and page.common_prefixes == [] and not page.is_truncated


def test_flat_listing_sorted(store: ObjectStore, bucket: str) -> None:
    keys = ["b", "a", "c/d", "c", "a/b", "ab", "a-b", "a0", "B", "_"]
    fill(store, bucket, keys)
    assert listing(store, bucket) == (sorted(keys, key=str.encode), [])


PREFIX_KEYS = ["a", "a/", "a/b", "a/b/c", "ab", "abc", "b", "photos/2024/x.jpg", "photos/y.jpg"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", PREFIX_KEYS),
        ("a", ["a", "a/", "a/b", "a/b/c", "ab", "abc"]),
        ("a/", ["a/", "a/b", "a/b/c"]),
        ("ab", ["ab", "abc"]),
        ("abc", ["abc"]),
        ("abcd", []),
        ("photos/", ["photos/2024/x.jpg", "photos/y.jpg"]),
        ("photos/2024/x.jpg", ["photos/2024/x.jpg"]),
        ("0", []),
        ("zzz", []),
        ("A", []),
    ],
)
def test_prefix(store: ObjectStore, bucket: str, prefix: str, expected: list[str]) -> None:
    fill(store, bucket, PREFIX_KEYS)
    assert listing(store, bucket, prefix=prefix) == (expected, [])


DELIM_KEYS = ["a", "a/", "a/b", "a/c/d", "a-b", "a0", "b/x", "b/y/z", "c", "d/", "d//e", "/root"]


@pytest.mark.parametrize(
    ("prefix", "objects", "prefixes"),
    [
        ("", ["a", "a-b", "a0", "c"], ["/", "a/", "b/", "d/"]),
        ("a", ["a", "a-b", "a0"], ["a/"]),
        ("a/", ["a/", "a/b"], ["a/c/"]),
        ("a/c", [], ["a/c/"]),
        ("a/c/", ["a/c/d"], []),
        ("b/", ["b/x"], ["b/y/"]),
        ("d/", ["d/"], ["d//"]),
        ("d//", ["d//e"], []),
        ("/", ["/root"], []),
        ("x", [], []),
    ],
)
def test_delimiter_slash(
    store: ObjectStore, bucket: str, prefix: str, objects: list[str], prefixes: list[str]
) -> None:
    fill(store, bucket, DELIM_KEYS)
    assert listing(store, bucket, prefix=prefix, delimiter="/") == (objects, prefixes)
    assert_walk_matches(store, bucket, DELIM_KEYS, prefix=prefix, delimiter="/")


def test_key_equal_to_prefix_and_common_prefix(store: ObjectStore, bucket: str) -> None:
    keys = ["a/", "a/b", "a/b/", "a/b/c"]
    fill(store, bucket, keys)
    # "a/" is a key and also the common prefix of everything: rolled up once.
    assert listing(store, bucket, delimiter="/") == ([], ["a/"])
    # Under the prefix "a/", the key "a/" has an empty remainder: an object.
    assert listing(store, bucket, prefix="a/", delimiter="/") == (["a/", "a/b"], ["a/b/"])
    assert listing(store, bucket, prefix="a/b", delimiter="/") == (["a/b"], ["a/b/"])
    assert listing(store, bucket, prefix="a/b/", delimiter="/") == (["a/b/", "a/b/c"], [])
    for prefix in ("", "a/", "a/b", "a/b/"):
        assert_walk_matches(store, bucket, keys, prefix=prefix, delimiter="/")


MULTI_KEYS = ["x", "x-y", "x--y", "x--", "x----z", "x-a--b", "y--", "--lead", "x-", "xx--y--z"]


@pytest.mark.parametrize(
    ("prefix", "objects", "prefixes"),
    [
        ("", ["x", "x-", "x-y"], ["--", "x--", "x-a--", "xx--", "y--"]),
        # the remainder "-y" of "x--y" has no "--"; that of "x----z" starts with one
        ("x-", ["x-", "x--", "x--y", "x-y"], ["x---", "x-a--"]),
        ("x--", ["x--", "x--y"], ["x----"]),
        ("xx--", [], ["xx--y--"]),
    ],
)
def test_multi_character_delimiter(
    store: ObjectStore, bucket: str, prefix: str, objects: list[str], prefixes: list[str]
) -> None:
    fill(store, bucket, MULTI_KEYS)
    assert listing(store, bucket, prefix=prefix, delimiter="--") == (objects, prefixes)
    assert_walk_matches(store, bucket, MULTI_KEYS, prefix=prefix, delimiter="--")


def test_delimiter_not_a_slash(store: ObjectStore, bucket: str) -> None:
    keys = ["2024.01.a", "2024.01.b", "2024.02.a", "2025", "2025.x/y"]
    fill(store, bucket, keys)
    assert listing(store, bucket, delimiter=".") == (["2025"], ["2024.", "2025."])
    assert listing(store, bucket, prefix="2024.", delimiter=".") == ([], ["2024.01.", "2024.02."])
    assert listing(store, bucket, delimiter="/") == (keys[:4], ["2025.x/"])
    assert_walk_matches(store, bucket, keys, prefix="2024.", delimiter=".")


def test_delimiter_absent_from_keys(store: ObjectStore, bucket: str) -> None:
    keys = ["a/b", "c/d", "e"]
    fill(store, bucket, keys)
    assert listing(store, bucket, delimiter="|") == (keys, [])


def test_delimiter_rolls_up_many_keys(store: ObjectStore, bucket: str) -> None:
    keys = [f"dir/{n:03d}" for n in range(150)] + ["dir0", "dir/", "a", "z/1", "z/2"]
    fill(store, bucket, keys)
    page = store.list_objects(bucket, delimiter="/", max_keys=2)
    assert ([o.key for o in page.objects], page.common_prefixes) == (["a"], ["dir/"])
    assert page.is_truncated and page.last == "dir/"
    page = store.list_objects(bucket, delimiter="/", start_after="dir/", max_keys=2)
    assert ([o.key for o in page.objects], page.common_prefixes) == (["dir0"], ["z/"])
    assert not page.is_truncated
    assert_walk_matches(store, bucket, keys, delimiter="/")


# --------------------------------------------------------------------------- pagination

PAGINATION_KEYS = [
    "a", "a/", "a/1", "a/2", "a/3/x", "a/3/y", "a0", "b", "b/1", "c/", "c/d/e", "d", "e/f", "é",
    "é/1", "日/本", "\U0001f600",
]  # fmt: skip


@pytest.mark.parametrize("delimiter", ["", "/"])
@pytest.mark.parametrize("prefix", ["", "a", "a/", "c/", "é", "q"])
def test_pagination_walk(store: ObjectStore, bucket: str, prefix: str, delimiter: str) -> None:
    fill(store, bucket, PAGINATION_KEYS)
    assert_walk_matches(store, bucket, PAGINATION_KEYS, prefix=prefix, delimiter=delimiter)


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_truncated_exactly_when_more_remain(
    store: ObjectStore, bucket: str, delimiter: str
) -> None:
    keys = ["k1", "k2", "k3/a", "k3/b", "k4"]
    fill(store, bucket, keys)
    total = len(model_listing(keys, delimiter=delimiter))
    for max_keys in range(1, total + 3):
        page = store.list_objects(bucket, delimiter=delimiter, max_keys=max_keys)
        assert len(page_entries(page)) == min(max_keys, total)
        assert page.is_truncated == (max_keys < total), f"max_keys={max_keys}"


def test_page_ending_on_common_prefix_at_the_end(store: ObjectStore, bucket: str) -> None:
    fill(store, bucket, ["a", "z/1", "z/2", "z/3"])
    page = store.list_objects(bucket, delimiter="/", max_keys=2)
    assert page_entries(page) == ["a", "z/"]
    assert not page.is_truncated  # the keys under z/ are not "more entries"
    page = store.list_objects(bucket, delimiter="/", max_keys=1)
    assert page_entries(page) == ["a"] and page.is_truncated


def test_page_ending_before_keys_outside_prefix(store: ObjectStore, bucket: str) -> None:
    fill(store, bucket, ["p/1", "p/2", "q", "r"])
    page = store.list_objects(bucket, prefix="p/", max_keys=2)
    assert page_entries(page) == ["p/1", "p/2"]
    assert not page.is_truncated  # "q" and "r" do not match the prefix


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_max_keys_zero(store: ObjectStore, bucket: str, delimiter: str) -> None:
    fill(store, bucket, ["a", "b/c"])
    page = store.list_objects(bucket, delimiter=delimiter, max_keys=0)
    assert page.objects == [] and page.common_prefixes == []
    assert not page.is_truncated


def test_default_max_keys_is_1000(store: ObjectStore, bucket: str) -> None:
    keys = [f"k{n:04d}" for n in range(1001)]
    fill(store, bucket, keys)
    page = store.list_objects(bucket)
    assert len(page.objects) == 1000 and page.is_truncated and page.last == "k0999"
    rest = store.list_objects(bucket, start_after=page.last)
    assert [o.key for o in rest.objects] == ["k1000"] and not rest.is_truncated


# --------------------------------------------------------------------------- start_after

SA_KEYS = ["a", "b/1", "b/2", "b/3", "c", "d/1", "d/x/2", "e"]


@pytest.mark.parametrize(
    ("prefix", "start_after", "expected"),
    [
        # before the prefix: no effect
        ("b/", "a", ["b/1", "b/2", "b/3"]),
        ("b/", "", ["b/1", "b/2", "b/3"]),
        # inside the prefix: a key, and a string between keys
        ("b/", "b/1", ["b/2", "b/3"]),
        ("b/", "b/1x", ["b/2", "b/3"]),
        ("b/", "b/", ["b/1", "b/2", "b/3"]),
        ("b/", "b/3", []),
        # after the prefix
        ("b/", "c", []),
        ("b/", "zzz", []),
        # no prefix
        ("", "b", ["b/1", "b/2", "b/3", "c", "d/1", "d/x/2", "e"]),
        ("", "d/1", ["d/x/2", "e"]),
        ("", "e", []),
        ("", "\U0010ffff", []),
    ],
)
def test_start_after(
    store: ObjectStore, bucket: str, prefix: str, start_after: str, expected: list[str]
) -> None:
    fill(store, bucket, SA_KEYS)
    assert model_listing(SA_KEYS, prefix=prefix, start_after=start_after) == expected
    assert listing(store, bucket, prefix=prefix, start_after=start_after) == (expected, [])
    assert_walk_matches(store, bucket, SA_KEYS, prefix=prefix, start_after=start_after)


@pytest.mark.parametrize(
    ("prefix", "start_after", "objects", "prefixes"),
    [
        ("", "", ["a", "c", "e"], ["b/", "d/"]),
        ("", "a", ["c", "e"], ["b/", "d/"]),
        ("", "b", ["c", "e"], ["b/", "d/"]),
        # equal to a common prefix: everything under it is skipped
        ("", "b/", ["c", "e"], ["d/"]),
        # inside a common prefix: the prefix does not sort after it, so it is skipped whole
        ("", "b/1", ["c", "e"], ["d/"]),
        ("", "b/3", ["c", "e"], ["d/"]),
        ("", "c", ["e"], ["d/"]),
        ("d/", "", ["d/1"], ["d/x/"]),
        ("d/", "d/1", [], ["d/x/"]),
        ("d/", "d/x/", [], []),
        ("d/", "d/x/1", [], []),
        ("d/", "d/x", [], ["d/x/"]),
    ],
)
def test_start_after_with_delimiter(
    store: ObjectStore,
    bucket: str,
    prefix: str,
    start_after: str,
    objects: list[str],
    prefixes: list[str],
) -> None:
    fill(store, bucket, SA_KEYS)
    got = listing(store, bucket, prefix=prefix, delimiter="/", start_after=start_after)
    assert got == (objects, prefixes)
    assert_walk_matches(
        store, bucket, SA_KEYS, prefix=prefix, delimiter="/", start_after=start_after
    )


# --------------------------------------------------------------------------- order


def test_utf8_byte_order(store: ObjectStore, bucket: str) -> None:
    # Code point / UTF-8 order, not UTF-16 (where U+1F600 sorts before U+E000 and U+FFFD),
    # not locale order, not case-insensitive.
    keys = ["a", "b", "é", "z", "日", "\U0001f600", "Z", "~", "\ufffd", "\ue000", "\x7f", "Ā"]
    fill(store, bucket, keys)
    expected = sorted(keys, key=str.encode)
    assert expected == ["Z", "a", "b", "z", "~", "\x7f", "é", "Ā", "日", "\ue000", "\ufffd",
                        "\U0001f600"]  # fmt: skip
    assert listing(store, bucket) == (expected, [])
    assert_walk_matches(store, bucket, keys)


def test_utf8_byte_order_of_common_prefixes(store: ObjectStore, bucket: str) -> None:
    keys = ["\U0001f600/1", "\ufffd/1", "\ue000", "日/x", "z/", "é"]
    fill(store, bucket, keys)
    objects, prefixes = listing(store, bucket, delimiter="/")
    assert objects == ["é", "\ue000"]
    assert prefixes == ["z/", "日/", "\ufffd/", "\U0001f600/"]
    assert_walk_matches(store, bucket, keys, delimiter="/")
    assert_walk_matches(store, bucket, keys, delimiter="/", start_after="\ufffd/")


def test_delimiter_with_max_code_point(store: ObjectStore, bucket: str) -> None:
    top = "\U0010ffff"
    keys = [f"a{top}b", f"a{top}{top}c", f"a{top}", "b", f"{top}", f"{top}x{top}y"]
    fill(store, bucket, keys)
    objects, prefixes = listing(store, bucket, delimiter=top)
    assert objects == ["b"]
    assert prefixes == [f"a{top}", top]
    assert_walk_matches(store, bucket, keys, delimiter=top)
    assert_walk_matches(store, bucket, keys, prefix=top, delimiter=top)


# --------------------------------------------------------------------------- changes


def test_deleted_keys_vanish(store: ObjectStore, bucket: str) -> None:
    keys = ["a", "b/1", "b/2", "c"]
    fill(store, bucket, keys)
    store.delete_object(bucket, "a")
    store.delete_object(bucket, "b/1")
    assert listing(store, bucket) == (["b/2", "c"], [])
    assert listing(store, bucket, delimiter="/") == (["c"], ["b/"])
    store.delete_object(bucket, "b/2")
    assert listing(store, bucket, delimiter="/") == (["c"], [])
    assert listing(store, bucket, prefix="b") == ([], [])
    store.delete_object(bucket, "c")
    assert listing(store, bucket, delimiter="/") == ([], [])


def test_overwritten_key_listed_once(store: ObjectStore, bucket: str) -> None:
    for n in range(3):
        put(store, bucket, "k", b"x" * n)
    page = store.list_objects(bucket)
    assert [(o.key, o.size) for o in page.objects] == [("k", 2)]


def test_listing_between_pages_sees_changes(store: ObjectStore, bucket: str) -> None:
    fill(store, bucket, ["a", "b", "c", "d"])
    first = store.list_objects(bucket, max_keys=2)
    assert page_entries(first) == ["a", "b"]
    store.delete_object(bucket, "c")
    put(store, bucket, "bb", b"new")
    put(store, bucket, "a0", b"before the cursor")
    assert first.last is not None
    second = store.list_objects(bucket, start_after=first.last, max_keys=2)
    assert page_entries(second) == ["bb", "d"] and not second.is_truncated


# --------------------------------------------------------------------------- property test

ALPHABET = ["a", "b", "/", "-", "é", "\ufffd", "\U0001f600"]
DELIMITERS = ["", "/", "-", "/-", "ab", "\U0001f600"]

key_text = st.text(alphabet=ALPHABET, min_size=1, max_size=6)


@dataclass
class Query:
    prefix: str
    delimiter: str
    start_after: str
    max_keys: int


@st.composite
def key_sets_and_queries(draw: st.DrawFn) -> tuple[list[str], list[Query]]:
    keys = draw(st.lists(key_text, min_size=0, max_size=14, unique=True))

    def near_keys(max_size: int) -> st.SearchStrategy[str]:
        # Strings related to the keys hit the interesting boundaries far more often.
        return st.one_of(
            st.text(alphabet=ALPHABET, max_size=max_size),
            st.sampled_from(keys).flatmap(lambda k: st.integers(0, len(k)).map(lambda n: k[:n]))
            if keys
            else st.just(""),
        )

    queries = draw(
        st.lists(
            st.builds(
                Query,
                prefix=near_keys(3),
                delimiter=st.sampled_from(DELIMITERS),
                start_after=st.one_of(st.just(""), near_keys(5)),
                max_keys=st.integers(1, 6),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return keys, queries


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=key_sets_and_queries())
def test_listing_matches_model(store: ObjectStore, case: tuple[list[str], list[Query]]) -> None:
    keys, queries = case
    bucket = fresh_bucket_name("prop")
    store.create_bucket(bucket)
    fill(store, bucket, keys)
    for q in queries:
        model = model_split(keys, prefix=q.prefix, delimiter=q.delimiter, start_after=q.start_after)
        expected = list(model)
        first = expected[: q.max_keys]
        # One page.
        page = store.list_objects(
            bucket,
            prefix=q.prefix,
            delimiter=q.delimiter,
            start_after=q.start_after,
            max_keys=q.max_keys,
        )
        assert_page_well_formed(page, q.max_keys)
        assert page_entries(page) == first, q
        assert page.common_prefixes == [e for e in first if model[e]], q
        assert [o.key for o in page.objects] == [e for e in first if not model[e]], q
        assert page.is_truncated == (len(expected) > q.max_keys), q
        for info in page.objects:
            assert info.size == len(info.key.encode())
        # Every page.
        pages = walk_pages(
            store,
            bucket,
            prefix=q.prefix,
            delimiter=q.delimiter,
            start_after=q.start_after,
            max_keys=q.max_keys,
        )
        walked: list[str] = []
        for p in pages:
            assert_page_well_formed(p, q.max_keys)
            walked += page_entries(p)
        assert walked == expected, q
    for key in keys:
        store.delete_object(bucket, key)
    store.delete_bucket(bucket)
