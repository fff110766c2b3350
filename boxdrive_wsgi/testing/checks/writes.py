"""Store contract: writes — streaming bodies in, atomicity when a body fails,
conditional writes, and concurrency."""

from __future__ import annotations

import io
import threading

import pytest

from ...stores import (
    CHUNK_SIZE,
    BucketAlreadyExists,
    IncompleteBody,
    NoSuchKey,
    ObjectAttributes,
    ObjectStore,
    PreconditionFailed,
    WriteOptions,
)
from ..helpers import (
    LARGE,
    MAX_PIECE,
    THREADS,
    RecordingReader,
    assert_absent,
    assert_attributes,
    full_attributes,
    get_bytes,
    keys_of,
    md5,
    pattern,
    put,
    run_threads,
)

# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("with_size", [True, False], ids=["sized", "unsized"])
def test_large_body_streams_in(store: ObjectStore, bucket: str, with_size: bool) -> None:
    data = pattern(LARGE)
    reader = RecordingReader(data)
    info = store.put_object(bucket, "big", reader, size=len(data) if with_size else None)
    assert info.size == LARGE
    assert info.etag == md5(data)
    assert reader.sizes, "the body was never read"
    for asked in reader.sizes:
        assert asked is not None and asked >= 0, f"read({asked}) reads the whole body"
        assert asked <= MAX_PIECE, f"read({asked}) asks for more than {MAX_PIECE}"
    assert get_bytes(store, bucket, "big") == data


def test_large_body_streams_out(store: ObjectStore, bucket: str) -> None:
    data = pattern(LARGE, seed=3)
    put(store, bucket, "big", data)
    with store.get_object(bucket, "big") as body:
        chunks = list(body)
    assert b"".join(chunks) == data
    assert all(isinstance(c, bytes) for c in chunks)
    assert max(len(c) for c in chunks) <= MAX_PIECE, "the body must be served in chunks"
    assert store.head_object(bucket, "big").etag == md5(data)


@pytest.mark.parametrize("with_size", [True, False], ids=["sized", "unsized"])
def test_short_reads_are_not_end_of_body(store: ObjectStore, bucket: str, with_size: bool) -> None:
    data = pattern(100_000)
    reader = RecordingReader(data, max_read=999)
    info = store.put_object(bucket, "trickle", reader, size=len(data) if with_size else None)
    assert info.size == len(data) and info.etag == md5(data)
    assert get_bytes(store, bucket, "trickle") == data


def test_never_reads_past_declared_size(store: ObjectStore, bucket: str) -> None:
    # PEP 3333: an application must not read wsgi.input past CONTENT_LENGTH (it may block).
    data = pattern(CHUNK_SIZE + 10)
    reader = RecordingReader(data + b"TRAILING GARBAGE" * 1000)
    info = store.put_object(bucket, "exact", reader, size=len(data))
    assert reader.served == len(data)
    assert info.size == len(data) and info.etag == md5(data)
    assert get_bytes(store, bucket, "exact") == data


@pytest.mark.parametrize("declared_extra", [1, 1000, CHUNK_SIZE + 1])
def test_incomplete_body_stores_nothing(
    store: ObjectStore, bucket: str, declared_extra: int
) -> None:
    data = pattern(CHUNK_SIZE + 123)
    with pytest.raises(IncompleteBody) as caught:
        store.put_object(bucket, "short", io.BytesIO(data), size=len(data) + declared_extra)
    assert caught.value.missing == declared_extra
    assert_absent(store, bucket, "short")


def test_incomplete_body_keeps_previous_object(store: ObjectStore, bucket: str) -> None:
    old = put(store, bucket, "k", b"the old content", attributes=full_attributes(b"o"))
    with pytest.raises(IncompleteBody):
        store.put_object(bucket, "k", io.BytesIO(b"new"), size=10)
    head = store.head_object(bucket, "k")
    assert head.etag == old.etag and head.size == old.size
    assert_attributes(head, full_attributes(b"o"))
    assert get_bytes(store, bucket, "k") == b"the old content"


class ClientGone(Exception):
    """Not a StoreError: the store must let it through untouched."""


FAIL_POINTS = [0, 10, CHUNK_SIZE, CHUNK_SIZE + 100, 3 * CHUNK_SIZE]


@pytest.mark.parametrize("fail_at", FAIL_POINTS)
@pytest.mark.parametrize("with_size", [True, False], ids=["sized", "unsized"])
def test_failing_body_propagates_and_stores_nothing(
    store: ObjectStore, bucket: str, fail_at: int, with_size: bool
) -> None:
    data = pattern(LARGE)
    error = ClientGone("connection reset")
    reader = RecordingReader(data, fail_at=fail_at, error=error)
    with pytest.raises(ClientGone) as caught:
        store.put_object(bucket, "new", reader, size=len(data) if with_size else None)
    assert caught.value is error
    assert_absent(store, bucket, "new")
    assert keys_of(store, bucket) == []
    page = store.list_objects(bucket, delimiter="/")
    assert page.objects == [] and page.common_prefixes == []


@pytest.mark.parametrize("fail_at", FAIL_POINTS)
def test_failing_body_keeps_previous_object(store: ObjectStore, bucket: str, fail_at: int) -> None:
    old_data = pattern(CHUNK_SIZE + 7, seed=1)
    old = put(store, bucket, "k", old_data, attributes=ObjectAttributes(metadata={"v": "old"}))
    put(store, bucket, "neighbour", b"n")
    error = ClientGone("boom")
    reader = RecordingReader(pattern(LARGE, seed=2), fail_at=fail_at, error=error)
    with pytest.raises(ClientGone) as caught:
        store.put_object(bucket, "k", reader, size=LARGE)
    assert caught.value is error
    head = store.head_object(bucket, "k")
    assert (head.size, head.etag, dict(head.metadata)) == (old.size, old.etag, {"v": "old"})
    assert get_bytes(store, bucket, "k") == old_data
    assert keys_of(store, bucket) == ["k", "neighbour"]


def test_failing_body_with_store_error_type_propagates(store: ObjectStore, bucket: str) -> None:
    # Even an error that looks like a store's own (as a checksum check might raise)
    # comes out as the very same object.
    error = IncompleteBody(42)
    reader = RecordingReader(pattern(LARGE), fail_at=CHUNK_SIZE, error=error)
    with pytest.raises(IncompleteBody) as caught:
        store.put_object(bucket, "k", reader)
    assert caught.value is error
    assert_absent(store, bucket, "k")


# --------------------------------------------------------------------------- conditional writes


def test_if_none_match_on_absent_key_writes(store: ObjectStore, bucket: str) -> None:
    info = put(store, bucket, "k", b"first", options=WriteOptions.create())
    assert info.etag == md5(b"first")
    assert get_bytes(store, bucket, "k") == b"first"


def test_if_none_match_on_existing_key_fails(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"first")
    with pytest.raises(PreconditionFailed):
        put(store, bucket, "k", b"second", options=WriteOptions.create())
    assert get_bytes(store, bucket, "k") == b"first"
    assert store.head_object(bucket, "k").etag == md5(b"first")


def test_if_none_match_on_empty_existing_object_fails(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"")
    with pytest.raises(PreconditionFailed):
        put(store, bucket, "k", b"second", options=WriteOptions.create())
    assert get_bytes(store, bucket, "k") == b""


def test_if_none_match_after_delete_writes(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"first")
    store.delete_object(bucket, "k")
    put(store, bucket, "k", b"again", options=WriteOptions.create())
    assert get_bytes(store, bucket, "k") == b"again"


def test_if_match_right_etag_writes(store: ObjectStore, bucket: str) -> None:
    old = put(store, bucket, "k", b"first")
    info = put(store, bucket, "k", b"second", options=WriteOptions.update(old.etag))
    assert info.etag == md5(b"second")
    assert get_bytes(store, bucket, "k") == b"second"


def test_if_match_wrong_etag_fails(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"first")
    for wrong in (md5(b"something else"), "", md5(b"first").upper() + "x"):
        with pytest.raises(PreconditionFailed):
            put(store, bucket, "k", b"second", options=WriteOptions.update(wrong))
    assert get_bytes(store, bucket, "k") == b"first"


def test_if_match_stale_etag_fails(store: ObjectStore, bucket: str) -> None:
    first = put(store, bucket, "k", b"first")
    put(store, bucket, "k", b"second")
    with pytest.raises(PreconditionFailed):
        put(store, bucket, "k", b"third", options=WriteOptions.update(first.etag))
    assert get_bytes(store, bucket, "k") == b"second"


def test_if_match_star_on_existing_writes(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"first")
    put(store, bucket, "k", b"second", options=WriteOptions.update("*"))
    assert get_bytes(store, bucket, "k") == b"second"


@pytest.mark.parametrize("etag", ["*", md5(b"whatever")])
def test_if_match_on_absent_key_is_no_such_key(store: ObjectStore, bucket: str, etag: str) -> None:
    put(store, bucket, "other", b"x")
    with pytest.raises(NoSuchKey) as caught:
        put(store, bucket, "absent", b"data", options=WriteOptions.update(etag))
    # The HTTP layer names the key in the error document.
    assert (caught.value.bucket, caught.value.key) == (bucket, "absent")
    assert_absent(store, bucket, "absent")


def test_conditional_failure_with_large_body_stores_nothing(
    store: ObjectStore, bucket: str
) -> None:
    put(store, bucket, "k", b"old")
    with pytest.raises(PreconditionFailed):
        store.put_object(
            bucket, "k", io.BytesIO(pattern(LARGE)), size=LARGE, options=WriteOptions.create()
        )
    assert get_bytes(store, bucket, "k") == b"old"
    assert keys_of(store, bucket) == ["k"]


def test_if_none_match_race_has_one_winner(store: ObjectStore, bucket: str) -> None:
    barrier = threading.Barrier(THREADS)
    winners: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            put(store, bucket, "race", pattern(50_000, seed=n), options=WriteOptions.create())
        except PreconditionFailed:
            return
        winners.append(n)

    assert run_threads(attempt) == []
    assert len(winners) == 1
    assert get_bytes(store, bucket, "race") == pattern(50_000, seed=winners[0])


def test_if_match_race_has_one_winner(store: ObjectStore, bucket: str) -> None:
    base = put(store, bucket, "race", b"base")
    barrier = threading.Barrier(THREADS)
    winners: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            put(
                store,
                bucket,
                "race",
                pattern(50_000, seed=n),
                options=WriteOptions.update(base.etag),
            )
        except PreconditionFailed:
            return
        winners.append(n)

    assert run_threads(attempt) == []
    assert len(winners) == 1
    assert get_bytes(store, bucket, "race") == pattern(50_000, seed=winners[0])


# --------------------------------------------------------------------------- concurrency


def test_concurrent_puts_and_reads(store: ObjectStore, bucket: str) -> None:
    rounds = 12
    versions = {n: pattern(20_000 + n * 1000, seed=n) for n in range(THREADS)}
    etags = {md5(v): v for v in versions.values()}
    put(store, bucket, "shared", versions[0])

    def worker(n: int) -> None:
        for i in range(rounds):
            own = f"thread-{n}/key-{i:02d}"
            data = pattern(1000 + i, seed=n * 31 + i)
            info = put(store, bucket, own, data)
            assert info.etag == md5(data)
            assert get_bytes(store, bucket, own) == data
            put(store, bucket, "shared", versions[n])
            with store.get_object(bucket, "shared") as body:
                content = b"".join(body)
            # Never a torn or mixed object, and the body matches its own info.
            assert content in etags.values()
            assert md5(content) == body.info.etag
            assert store.head_object(bucket, "shared").etag in etags
            if i % 4 == 3:
                store.delete_object(bucket, f"thread-{n}/key-{i - 1:02d}")
            store.list_objects(bucket, prefix=f"thread-{n}/", max_keys=5)

    assert run_threads(worker) == []
    expected = sorted(
        [f"thread-{n}/key-{i:02d}" for n in range(THREADS) for i in range(rounds) if i % 4 != 2]
        + ["shared"],
        key=str.encode,
    )
    assert keys_of(store, bucket) == expected
    for n in range(THREADS):
        for i in range(rounds):
            if i % 4 != 2:
                key = f"thread-{n}/key-{i:02d}"
                assert get_bytes(store, bucket, key) == pattern(1000 + i, seed=n * 31 + i)
    shared = store.head_object(bucket, "shared")
    assert shared.etag in etags
    assert get_bytes(store, bucket, "shared") == etags[shared.etag]


def test_concurrent_bucket_creation_has_one_winner(store: ObjectStore) -> None:
    barrier = threading.Barrier(THREADS)
    winners: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            store.create_bucket("contested", owner=f"owner-{n}")
        except BucketAlreadyExists:
            return
        winners.append(n)

    assert run_threads(attempt) == []
    assert len(winners) == 1
    assert store.head_bucket("contested").owner == f"owner-{winners[0]}"
    assert [b.name for b in store.list_buckets()] == ["contested"]
