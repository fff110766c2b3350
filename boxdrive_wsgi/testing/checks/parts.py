"""Contract: part boundaries of multipart objects (ObjectAttributes.parts), attributes
derived at completion, and conditional deletes (delete_object_if).

A store that cannot keep part boundaries (native multipart upstream) answers 501 to
?partNumber= and ObjectParts rather than a wrong part; one that cannot check and delete
atomically keeps the default delete_object_if (NotSupported). Either declares the checks
it cannot pass as known gaps (``KnownGap(reason, raises=NotSupported)`` where it raises).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ...protocol.parts import known_parts
from ...stores import (
    ByteRange,
    DeleteCondition,
    InvalidPart,
    NoSuchBucket,
    NoSuchKey,
    NotSupported,
    ObjectAttributes,
    ObjectStore,
    PartInfo,
    PreconditionFailed,
)
from ..helpers import MIN_PART_SIZE, assert_absent, get_bytes, pattern, put, run_threads

MIN = MIN_PART_SIZE  # what mp_store sets


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def three_parts(
    store: ObjectStore, bucket: str, key: str
) -> tuple[str, list[bytes], list[PartInfo]]:
    upload_id = store.create_multipart_upload(
        bucket,
        key,
        attributes=ObjectAttributes(checksum_algorithm="CRC32", checksum_type="COMPOSITE"),
    )
    chunks = [pattern(MIN, 1), pattern(MIN + 5, 2), pattern(10, 3)]
    infos = [
        store.upload_part(
            bucket, key, upload_id, n, io.BytesIO(c), size=len(c), checksums={"CRC32": crc32(c)}
        )
        for n, c in enumerate(chunks, 1)
    ]
    return upload_id, chunks, infos


def described(parts: tuple[PartInfo, ...] | None) -> list[tuple[int, int, str, dict[str, str]]]:
    assert parts is not None, "the store did not keep the part boundaries"
    return [(p.part_number, p.size, p.etag, dict(p.checksums)) for p in parts]


def test_completion_keeps_part_boundaries(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, chunks, infos = three_parts(mp_store, bucket, "k")
    done = mp_store.complete_multipart_upload(
        bucket, "k", upload_id, [(i.part_number, i.etag) for i in infos]
    )
    expected = [
        (i.part_number, i.size, i.etag, {"CRC32": crc32(c)})
        for i, c in zip(infos, chunks, strict=True)
    ]
    assert described(done.attributes.parts) == expected
    assert described(mp_store.head_object(bucket, "k").attributes.parts) == expected
    with mp_store.get_object(bucket, "k") as body:
        assert described(body.info.attributes.parts) == expected


def read_part(store: ObjectStore, bucket: str, key: str, number: int) -> tuple[bytes, int]:
    """Part ``number`` as the HTTP layer reads it: from the kept boundaries, or from the
    store itself (``get_object_part``) when it composed the object natively."""
    parts = known_parts(store.head_object(bucket, key))
    if parts is None:
        opened = store.get_object_part(bucket, key, number)
        assert opened is not None, "the store can serve no part of this multipart object"
        body, count = opened
        return body.read_all(), count
    start = sum(p.size for p in parts[: number - 1])
    span = ByteRange(start, start + parts[number - 1].size - 1)
    return get_bytes(store, bucket, key, span), len(parts)


def test_parts_can_be_read_by_number(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, chunks, infos = three_parts(mp_store, bucket, "k")
    mp_store.complete_multipart_upload(
        bucket, "k", upload_id, [(i.part_number, i.etag) for i in infos]
    )
    for number, chunk in enumerate(chunks, 1):
        assert read_part(mp_store, bucket, "k", number) == (chunk, 3)
    if known_parts(mp_store.head_object(bucket, "k")) is None:
        with pytest.raises(InvalidPart):
            mp_store.get_object_part(bucket, "k", 4)


def test_completion_keeps_only_the_listed_parts(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, chunks, infos = three_parts(mp_store, bucket, "k")
    mp_store.complete_multipart_upload(
        bucket, "k", upload_id, [(1, infos[0].etag), (3, infos[2].etag)]
    )
    parts = mp_store.head_object(bucket, "k").attributes.parts
    assert [(p.part_number, p.size) for p in parts or ()] == [(1, MIN), (3, 10)]
    assert get_bytes(mp_store, bucket, "k") == chunks[0] + chunks[2]


def test_completion_derives_attributes(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, _, infos = three_parts(mp_store, bucket, "k")
    seen: list[tuple[ObjectAttributes, list[int]]] = []

    def derive(upload: ObjectAttributes, parts: object) -> ObjectAttributes:
        numbers = [p.part_number for p in parts]  # type: ignore[attr-defined]
        seen.append((upload, numbers))
        return replace(upload, checksums={"CRC32": "AAAAAA==-3"}, checksum_algorithm=None)

    mp_store.complete_multipart_upload(
        bucket, "k", upload_id, [(i.part_number, i.etag) for i in infos], attributes=derive
    )
    assert [(u.checksum_algorithm, u.checksum_type, n) for u, n in seen] == [
        ("CRC32", "COMPOSITE", [1, 2, 3])
    ]
    head = mp_store.head_object(bucket, "k").attributes
    assert (dict(head.checksums), head.checksum_type, head.checksum_algorithm) == (
        {"CRC32": "AAAAAA==-3"},
        "COMPOSITE",
        None,
    )


def test_failing_derivation_writes_nothing(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, _, infos = three_parts(mp_store, bucket, "k")

    def derive(upload: ObjectAttributes, parts: object) -> ObjectAttributes:
        raise ValueError("bad digest")

    with pytest.raises(ValueError, match="bad digest"):
        mp_store.complete_multipart_upload(
            bucket, "k", upload_id, [(i.part_number, i.etag) for i in infos], attributes=derive
        )
    assert_absent(mp_store, bucket, "k")
    assert len(mp_store.list_parts(bucket, "k", upload_id).parts) == 3  # still there


def test_put_keeps_parts_and_checksum_type(store: ObjectStore, bucket: str) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    parts = (PartInfo(1, "a" * 32, 3, when, {"SHA256": "x"}), PartInfo(2, "b" * 32, 1, when))
    attributes = ObjectAttributes(
        checksums={"SHA256": "y-2"}, checksum_type="COMPOSITE", parts=parts
    )
    put(store, bucket, "k", b"abcd", attributes=attributes)
    got = store.head_object(bucket, "k").attributes
    assert got.parts == parts and got.checksum_type == "COMPOSITE"


# --------------------------------------------------------------------------- conditional deletes


def test_conditional_delete(store: ObjectStore, bucket: str) -> None:
    info = put(store, bucket, "k", b"data")
    for wrong in (
        DeleteCondition(etag="0" * 32),
        DeleteCondition(size=5),
        DeleteCondition(last_modified=info.last_modified - timedelta(seconds=1)),
        DeleteCondition(
            etag=info.etag, size=4, last_modified=info.last_modified + timedelta(days=1)
        ),
    ):
        with pytest.raises(PreconditionFailed):
            store.delete_object_if(bucket, "k", wrong)
        assert get_bytes(store, bucket, "k") == b"data"
    head = store.head_object(bucket, "k")
    store.delete_object_if(
        bucket, "k", DeleteCondition(etag=head.etag, size=4, last_modified=head.last_modified)
    )
    assert_absent(store, bucket, "k")


def test_conditional_delete_star_and_absent_keys(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"data")
    store.delete_object_if(bucket, "k", DeleteCondition(etag="*"))
    assert_absent(store, bucket, "k")
    with pytest.raises(NoSuchKey):  # S3: If-Match on a missing key is 404
        store.delete_object_if(bucket, "k", DeleteCondition(etag="*"))
    store.delete_object_if(bucket, "k", DeleteCondition(size=4))  # nothing to delete: fine
    with pytest.raises(NoSuchBucket):
        store.delete_object_if("no-such-bucket-x", "k", DeleteCondition(size=4))


def test_conditional_delete_is_never_dropped(store: ObjectStore, bucket: str) -> None:
    """Every store either checks the condition or refuses: never an unconditional delete."""
    put(store, bucket, "k", b"data")
    with pytest.raises((PreconditionFailed, NotSupported)):
        store.delete_object_if(bucket, "k", DeleteCondition(etag="0" * 32))
    assert get_bytes(store, bucket, "k") == b"data"


def test_list_parts_tells_the_upload_checksum(mp_store: ObjectStore, bucket: str) -> None:
    upload_id, _, _ = three_parts(mp_store, bucket, "k")
    attributes = mp_store.list_parts(bucket, "k", upload_id, max_parts=0).attributes
    assert attributes is not None
    assert (attributes.checksum_algorithm, attributes.checksum_type) == ("CRC32", "COMPOSITE")


def test_conditional_delete_never_removes_a_newer_version(store: ObjectStore, bucket: str) -> None:
    """A delete conditioned on v1 racing a put of v2: whichever wins, v2 survives (a
    check-then-delete that is not atomic could remove v2)."""
    store.delete_object_if(bucket, "k", DeleteCondition(size=0))  # supported at all?

    def race(n: int, old: str, new: bytes) -> None:
        if n == 3:  # the writer starts last: the deletes have checked v1 by then
            put(store, bucket, "k", new)
        else:
            with contextlib.suppress(PreconditionFailed, NoSuchKey):
                store.delete_object_if(bucket, "k", DeleteCondition(etag=old))

    for round_ in range(10):
        old = put(store, bucket, "k", b"v1-%d" % round_).etag
        new = b"v2-%d" % round_
        assert run_threads(functools.partial(race, old=old, new=new), 4) == []
        assert get_bytes(store, bucket, "k") == new
