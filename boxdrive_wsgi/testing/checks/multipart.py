"""Contract: multipart uploads (create, upload part, complete, abort, list parts/uploads)."""

from __future__ import annotations

import hashlib
import io

import pytest

from ...stores import (
    EntityTooSmall,
    IncompleteBody,
    InvalidPart,
    InvalidPartOrder,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectAttributes,
    ObjectStore,
    PartInfo,
    PreconditionFailed,
    WriteOptions,
)
from ..helpers import (
    MIN_PART_SIZE,
    RecordingReader,
    assert_absent,
    assert_attributes,
    get_bytes,
    md5,
    pattern,
    put,
    run_threads,
)

MIN = MIN_PART_SIZE  # what mp_store sets


def upload(
    store: ObjectStore, bucket: str, key: str, upload_id: str, number: int, data: bytes
) -> PartInfo:
    return store.upload_part(bucket, key, upload_id, number, io.BytesIO(data), size=len(data))


def expected_etag(*parts: bytes) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"


def test_upload_and_complete(mp_store: ObjectStore, bucket: str) -> None:
    store = mp_store
    attributes = ObjectAttributes(
        content_type="text/plain",
        metadata={"color": "blue", "unicode": "日本"},
        headers={"Cache-Control": "max-age=60"},
    )
    upload_id = store.create_multipart_upload(bucket, "dir/obj", attributes=attributes)
    assert upload_id and upload_id.isascii()
    chunks = [pattern(MIN, 1), pattern(MIN + 7, 2), pattern(10, 3)]
    infos = [upload(store, bucket, "dir/obj", upload_id, n, c) for n, c in enumerate(chunks, 1)]
    assert [i.etag for i in infos] == [md5(c) for c in chunks]
    assert [i.size for i in infos] == [len(c) for c in chunks]
    assert_absent(store, bucket, "dir/obj")  # nothing visible before completion

    info = store.complete_multipart_upload(
        bucket, "dir/obj", upload_id, [(i.part_number, i.etag) for i in infos]
    )
    assert info.etag == expected_etag(*chunks)
    assert info.size == sum(map(len, chunks))
    assert get_bytes(store, bucket, "dir/obj") == b"".join(chunks)
    head = store.head_object(bucket, "dir/obj")
    assert head.etag == info.etag and head.size == info.size
    assert_attributes(head, attributes)
    with pytest.raises(NoSuchUpload):
        store.list_parts(bucket, "dir/obj", upload_id)
    with pytest.raises(NoSuchUpload):
        upload(store, bucket, "dir/obj", upload_id, 4, b"late")
    assert store.list_multipart_uploads(bucket).uploads == []


def test_single_small_part_and_quoted_etags(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    part = upload(mp_store, bucket, "k", upload_id, 1, b"tiny")
    info = mp_store.complete_multipart_upload(bucket, "k", upload_id, [(1, f'"{part.etag}"')])
    assert info.etag == expected_etag(b"tiny")
    assert get_bytes(mp_store, bucket, "k") == b"tiny"


def test_missing_bucket_and_upload(mp_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(NoSuchBucket):
        mp_store.create_multipart_upload("no-such-bucket", "k")
    with pytest.raises(NoSuchBucket):
        mp_store.list_multipart_uploads("no-such-bucket")
    with pytest.raises(NoSuchUpload):
        upload(mp_store, bucket, "k", "0123456789abcdef0123456789abcdef", 1, b"x")
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    with pytest.raises(NoSuchUpload):  # the id belongs to another key
        upload(mp_store, bucket, "other", upload_id, 1, b"x")
    with pytest.raises(NoSuchUpload):
        mp_store.complete_multipart_upload(bucket, "other", upload_id, [(1, md5(b"x"))])
    with pytest.raises(NoSuchUpload):
        mp_store.abort_multipart_upload(bucket, "other", upload_id)


def test_reupload_replaces_part(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    upload(mp_store, bucket, "k", upload_id, 1, b"first")
    second = upload(mp_store, bucket, "k", upload_id, 1, b"second")
    parts = mp_store.list_parts(bucket, "k", upload_id).parts
    assert [(p.part_number, p.etag, p.size) for p in parts] == [(1, md5(b"second"), 6)]
    with pytest.raises(InvalidPart):
        mp_store.complete_multipart_upload(bucket, "k", upload_id, [(1, md5(b"first"))])
    mp_store.complete_multipart_upload(bucket, "k", upload_id, [(1, second.etag)])
    assert get_bytes(mp_store, bucket, "k") == b"second"


@pytest.mark.parametrize(
    ("listed", "error"),
    [
        ([(2, "a"), (1, "a")], InvalidPartOrder),
        ([(1, "a"), (1, "a")], InvalidPartOrder),
        ([(1, "a"), (4, "a")], InvalidPart),
        ([(1, "a"), (2, "0" * 32)], InvalidPart),
        ([(3, "a"), (1, "a")], InvalidPartOrder),
    ],
)
def test_completion_errors_keep_the_upload(
    mp_store: ObjectStore, bucket: str, listed: list[tuple[int, str]], error: type[Exception]
) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    data = {n: pattern(MIN, n) for n in (1, 2, 3)}
    etags = {n: upload(mp_store, bucket, "k", upload_id, n, d).etag for n, d in data.items()}
    request = [(n, etags.get(n, "x") if e == "a" else e) for n, e in listed]
    with pytest.raises(error):
        mp_store.complete_multipart_upload(bucket, "k", upload_id, request)
    assert_absent(mp_store, bucket, "k")
    # The upload survives a refused completion and completes afterwards.
    mp_store.complete_multipart_upload(bucket, "k", upload_id, sorted(etags.items()))
    assert get_bytes(mp_store, bucket, "k") == data[1] + data[2] + data[3]


def test_entity_too_small(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    small = upload(mp_store, bucket, "k", upload_id, 1, pattern(MIN - 1))
    last = upload(mp_store, bucket, "k", upload_id, 2, b"end")
    with pytest.raises(EntityTooSmall) as caught:
        mp_store.complete_multipart_upload(
            bucket, "k", upload_id, [(1, small.etag), (2, last.etag)]
        )
    assert caught.value.part_number == 1 and caught.value.size == MIN - 1
    assert_absent(mp_store, bucket, "k")


def test_default_minimum_is_5_mib(store: ObjectStore) -> None:
    assert type(store).multipart_min_part_size == 5 * 1024 * 1024


def test_subset_of_parts(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    data = {n: pattern(MIN, n) for n in (1, 2, 3)}
    etags = {n: upload(mp_store, bucket, "k", upload_id, n, d).etag for n, d in data.items()}
    info = mp_store.complete_multipart_upload(
        bucket, "k", upload_id, [(1, etags[1]), (3, etags[3])]
    )
    assert info.etag == expected_etag(data[1], data[3])
    assert get_bytes(mp_store, bucket, "k") == data[1] + data[3]


def test_completion_replaces_an_object(mp_store: ObjectStore, bucket: str) -> None:
    put(mp_store, bucket, "k", b"old")
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    part = upload(mp_store, bucket, "k", upload_id, 1, b"new")
    mp_store.complete_multipart_upload(bucket, "k", upload_id, [(1, part.etag)])
    assert get_bytes(mp_store, bucket, "k") == b"new"


def test_conditional_completion(mp_store: ObjectStore, bucket: str) -> None:
    old = put(mp_store, bucket, "k", b"old")
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    part = upload(mp_store, bucket, "k", upload_id, 1, b"new")
    listed = [(1, part.etag)]
    with pytest.raises(PreconditionFailed):
        mp_store.complete_multipart_upload(
            bucket, "k", upload_id, listed, options=WriteOptions.create()
        )
    with pytest.raises(PreconditionFailed):
        mp_store.complete_multipart_upload(
            bucket, "k", upload_id, listed, options=WriteOptions.update("0" * 32)
        )
    other = mp_store.create_multipart_upload(bucket, "absent")
    etag = upload(mp_store, bucket, "absent", other, 1, b"new").etag
    with pytest.raises(NoSuchKey):
        mp_store.complete_multipart_upload(
            bucket, "absent", other, [(1, etag)], options=WriteOptions.update("*")
        )
    assert get_bytes(mp_store, bucket, "k") == b"old"
    mp_store.complete_multipart_upload(
        bucket, "k", upload_id, listed, options=WriteOptions.update(old.etag)
    )
    assert get_bytes(mp_store, bucket, "k") == b"new"


def test_conditional_create_only(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "fresh")
    part = upload(mp_store, bucket, "fresh", upload_id, 1, b"x")
    info = mp_store.complete_multipart_upload(
        bucket, "fresh", upload_id, [(1, part.etag)], options=WriteOptions.create()
    )
    assert mp_store.head_object(bucket, "fresh").etag == info.etag


def test_abort(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    part = upload(mp_store, bucket, "k", upload_id, 1, b"data")
    mp_store.abort_multipart_upload(bucket, "k", upload_id)
    with pytest.raises(NoSuchUpload):
        mp_store.list_parts(bucket, "k", upload_id)
    with pytest.raises(NoSuchUpload):
        upload(mp_store, bucket, "k", upload_id, 2, b"more")
    with pytest.raises(NoSuchUpload):
        mp_store.complete_multipart_upload(bucket, "k", upload_id, [(1, part.etag)])
    with pytest.raises(NoSuchUpload):
        mp_store.abort_multipart_upload(bucket, "k", upload_id)
    assert_absent(mp_store, bucket, "k")
    assert mp_store.list_multipart_uploads(bucket).uploads == []


def test_list_parts_pagination_and_checksums(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    for n in (5, 1, 3, 2, 4):
        mp_store.upload_part(
            bucket, "k", upload_id, n, io.BytesIO(b"p%d" % n), size=2, checksums={"CRC32": f"c{n}"}
        )
    seen: list[int] = []
    marker = 0
    pages = 0
    while True:
        page = mp_store.list_parts(bucket, "k", upload_id, part_number_marker=marker, max_parts=2)
        pages += 1
        seen += [p.part_number for p in page.parts]
        for p in page.parts:
            assert dict(p.checksums) == {"CRC32": f"c{p.part_number}"}
            assert p.last_modified.tzinfo is not None
        if not page.is_truncated:
            break
        assert page.next_part_number_marker == page.parts[-1].part_number
        marker = page.next_part_number_marker
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    assert mp_store.list_parts(bucket, "k", upload_id, part_number_marker=5).parts == []


def test_list_uploads_order_and_pagination(mp_store: ObjectStore, bucket: str) -> None:
    created: list[tuple[str, str]] = []
    for key in ["b", "a", "c/x", "b", "a/y", "c/z", "a"]:
        created.append((key, mp_store.create_multipart_upload(bucket, key)))
    # By key in UTF-8 order, then by initiation (creation order here).
    expected = sorted(created, key=lambda kv: kv[0].encode())
    full = mp_store.list_multipart_uploads(bucket)
    assert [(u.key, u.upload_id) for u in full.uploads] == expected
    assert not full.is_truncated
    walked: list[tuple[str, str]] = []
    key_marker, id_marker = "", ""
    for _ in range(10):
        page = mp_store.list_multipart_uploads(
            bucket, key_marker=key_marker, upload_id_marker=id_marker, max_uploads=2
        )
        walked += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        assert page.next_key_marker is not None
        key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker or ""
    assert walked == expected
    # A key marker alone skips every upload of that key.
    after_a = mp_store.list_multipart_uploads(bucket, key_marker="a")
    assert [u.key for u in after_a.uploads] == ["a/y", "b", "b", "c/x", "c/z"]


def test_list_uploads_prefix_and_delimiter(mp_store: ObjectStore, bucket: str) -> None:
    for key in ["a/1", "a/2", "b/1", "top", "a/deep/x"]:
        mp_store.create_multipart_upload(bucket, key)
    page = mp_store.list_multipart_uploads(bucket, delimiter="/")
    assert page.common_prefixes == ["a/", "b/"]
    assert [u.key for u in page.uploads] == ["top"]
    page = mp_store.list_multipart_uploads(bucket, prefix="a/", delimiter="/")
    assert page.common_prefixes == ["a/deep/"]
    assert [u.key for u in page.uploads] == ["a/1", "a/2"]
    first = mp_store.list_multipart_uploads(bucket, delimiter="/", max_uploads=1)
    assert first.common_prefixes == ["a/"] and first.is_truncated
    assert first.next_key_marker == "a/"
    rest = mp_store.list_multipart_uploads(bucket, delimiter="/", key_marker="a/")
    assert rest.common_prefixes == ["b/"] and [u.key for u in rest.uploads] == ["top"]
    assert mp_store.list_multipart_uploads(bucket, max_uploads=0).uploads == []


def test_uploads_are_per_bucket(mp_store: ObjectStore, bucket: str) -> None:
    mp_store.create_bucket("other-bucket")
    upload_id = mp_store.create_multipart_upload("other-bucket", "k")
    assert mp_store.list_multipart_uploads(bucket).uploads == []
    with pytest.raises(NoSuchUpload):
        upload(mp_store, bucket, "k", upload_id, 1, b"x")


def test_concurrent_part_uploads(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    data = {n: pattern(MIN * 3 + n, n) for n in range(1, 9)}
    etags: dict[int, str] = {}

    def send(i: int) -> None:
        n = i + 1
        etags[n] = upload(mp_store, bucket, "k", upload_id, n, data[n]).etag

    assert run_threads(send) == []
    info = mp_store.complete_multipart_upload(bucket, "k", upload_id, sorted(etags.items()))
    assert get_bytes(mp_store, bucket, "k") == b"".join(data[n] for n in range(1, 9))
    assert info.etag == expected_etag(*(data[n] for n in range(1, 9)))


def test_failed_part_leaves_no_part(mp_store: ObjectStore, bucket: str) -> None:
    upload_id = mp_store.create_multipart_upload(bucket, "k")
    kept = upload(mp_store, bucket, "k", upload_id, 1, b"kept")
    data = pattern(3 * MIN)
    for number in (1, 2):
        reader = RecordingReader(data, fail_at=MIN)
        with pytest.raises(OSError, match="client went away"):
            mp_store.upload_part(bucket, "k", upload_id, number, reader, size=len(data))
    with pytest.raises(IncompleteBody):
        mp_store.upload_part(bucket, "k", upload_id, 3, io.BytesIO(b"short"), size=10)
    parts = mp_store.list_parts(bucket, "k", upload_id).parts
    assert [(p.part_number, p.etag) for p in parts] == [(1, kept.etag)]


def test_bucket_with_uploads_only(mp_store: ObjectStore, bucket: str) -> None:
    """Uploads in progress are not objects: listings do not show them."""
    mp_store.create_multipart_upload(bucket, "pending")
    assert mp_store.list_objects(bucket).objects == []
