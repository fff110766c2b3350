"""Store contract: reads — byte ranges, and bodies that stay consistent and close cleanly."""

from __future__ import annotations

import os

import pytest

from ...stores import (
    CHUNK_SIZE,
    ByteRange,
    InvalidRange,
    ObjectStore,
)
from ..helpers import (
    LARGE,
    MAX_PIECE,
    get_bytes,
    pattern,
    put,
)

# --------------------------------------------------------------------------- ranges

RANGE_DATA = pattern(100)

RANGES: list[tuple[ByteRange, tuple[int, int]]] = [
    (ByteRange(0, 0), (0, 1)),
    (ByteRange(10, 19), (10, 20)),
    (ByteRange(10, None), (10, 100)),
    (ByteRange(None, 5), (95, 100)),
    (ByteRange(None, 100), (0, 100)),
    (ByteRange(None, 500), (0, 100)),
    (ByteRange(90, 1000), (90, 100)),
    (ByteRange(0, 99), (0, 100)),
    (ByteRange(99, 99), (99, 100)),
    (ByteRange(99, None), (99, 100)),
    (ByteRange(0, None), (0, 100)),
]


@pytest.mark.parametrize(
    ("byte_range", "span"), RANGES, ids=[f"{r.start}-{r.end}" for r, _ in RANGES]
)
def test_range(
    store: ObjectStore, bucket: str, byte_range: ByteRange, span: tuple[int, int]
) -> None:
    whole = put(store, bucket, "r", RANGE_DATA)
    with store.get_object(bucket, "r", byte_range=byte_range) as body:
        assert body.content_range == span
        assert body.offset == span[0]
        assert body.length == span[1] - span[0]
        got = b"".join(body)
    assert got == RANGE_DATA[span[0] : span[1]]
    assert body.info.size == 100  # the object's size, not the slice's
    assert body.info.etag == whole.etag


UNSATISFIABLE = [
    ByteRange(100, None),
    ByteRange(100, 200),
    ByteRange(150, 160),
    ByteRange(None, 0),
]


@pytest.mark.parametrize("byte_range", UNSATISFIABLE, ids=lambda r: f"{r.start}-{r.end}")
def test_unsatisfiable_range(store: ObjectStore, bucket: str, byte_range: ByteRange) -> None:
    put(store, bucket, "r", RANGE_DATA)
    with pytest.raises(InvalidRange) as caught:
        store.get_object(bucket, "r", byte_range=byte_range)
    assert caught.value.size == 100


@pytest.mark.parametrize(
    "byte_range",
    [ByteRange(0, 0), ByteRange(0, None), ByteRange(None, 5), ByteRange(0, 10)],
    ids=lambda r: f"{r.start}-{r.end}",
)
def test_range_on_empty_object(store: ObjectStore, bucket: str, byte_range: ByteRange) -> None:
    put(store, bucket, "empty", b"")
    with pytest.raises(InvalidRange) as caught:
        store.get_object(bucket, "empty", byte_range=byte_range)
    assert caught.value.size == 0


@pytest.mark.parametrize(
    "span",
    [
        (CHUNK_SIZE - 10, CHUNK_SIZE + 10),
        (CHUNK_SIZE, 2 * CHUNK_SIZE),
        (1, LARGE - 1),
        (3 * CHUNK_SIZE + 5, LARGE),
    ],
)
def test_range_across_chunks(store: ObjectStore, bucket: str, span: tuple[int, int]) -> None:
    data = pattern(LARGE, seed=5)
    put(store, bucket, "big", data)
    with store.get_object(bucket, "big", byte_range=ByteRange(span[0], span[1] - 1)) as body:
        assert body.content_range == span
        chunks = list(body)
    assert b"".join(chunks) == data[span[0] : span[1]]
    assert max(len(c) for c in chunks) <= MAX_PIECE


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize("size", [10, LARGE], ids=["small", "large"])
@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_open_body_survives_change(store: ObjectStore, bucket: str, size: int, change: str) -> None:
    old = pattern(size, seed=1)
    old_info = put(store, bucket, "k", old)
    body = store.get_object(bucket, "k")
    if change == "overwrite":
        put(store, bucket, "k", pattern(size + 1, seed=2))
    else:
        store.delete_object(bucket, "k")
    assert body.read_all() == old
    assert body.info.etag == old_info.etag and body.info.size == size


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_partly_read_body_survives_change(store: ObjectStore, bucket: str, change: str) -> None:
    old = pattern(LARGE, seed=1)
    put(store, bucket, "k", old)
    body = store.get_object(bucket, "k")
    chunks = iter(body)
    first = next(chunks)
    if change == "overwrite":
        put(store, bucket, "k", pattern(LARGE, seed=9))
    else:
        store.delete_object(bucket, "k")
    rest = b"".join(chunks)
    body.close()
    assert first + rest == old


def test_ranged_body_survives_overwrite(store: ObjectStore, bucket: str) -> None:
    old = pattern(LARGE, seed=1)
    put(store, bucket, "k", old)
    body = store.get_object(bucket, "k", byte_range=ByteRange(CHUNK_SIZE, None))
    put(store, bucket, "k", b"tiny")
    assert body.read_all() == old[CHUNK_SIZE:]


def test_body_close_twice(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", pattern(LARGE))
    body = store.get_object(bucket, "k")
    next(iter(body))
    body.close()
    body.close()
    unread = store.get_object(bucket, "k")
    unread.close()
    unread.close()
    with store.get_object(bucket, "k") as ctx:
        pass
    ctx.close()
    # Closing bodies did not disturb the object.
    assert get_bytes(store, bucket, "k") == pattern(LARGE)


def test_delete_and_overwrite_while_bodies_open(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"v1")
    bodies = [store.get_object(bucket, "k") for _ in range(3)]
    put(store, bucket, "k", b"v2")
    store.delete_object(bucket, "k")
    store.delete_bucket(bucket)
    assert [b.read_all() for b in bodies] == [b"v1"] * 3


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_closed_bodies_release_file_descriptors(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", pattern(CHUNK_SIZE + 1))
    get_bytes(store, bucket, "k")  # warm up lazily opened resources
    store.get_object(bucket, "k").close()
    baseline = len(os.listdir("/proc/self/fd"))
    for n in range(60):
        body = store.get_object(bucket, "k", byte_range=ByteRange(n, None) if n % 2 else None)
        if n % 3 == 0:
            next(iter(body))
        elif n % 3 == 1:
            b"".join(body)
        body.close()
    assert len(os.listdir("/proc/self/fd")) <= baseline + 2
