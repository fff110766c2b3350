"""The contract of ``ObjectAttributes.encryption``: a store keeps the mapping verbatim on
every write (put, copy, multipart completion from the upload's attributes) and hands it
back on head, get and listings. Without it an encrypted object's bytes are unreadable
ciphertext (the HTTP layer encrypts above the store: encryption/)."""

from __future__ import annotations

import io

from ...stores import ObjectAttributes, ObjectStore
from ..helpers import MIN_PART_SIZE, get_bytes, pattern, put

RECORD = {"scheme": "AES256", "key_id": "master-1", "wrapped": "d3JhcHBlZA=="}


def test_encryption_round_trips_through_put(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "k", b"ciphertext", attributes=ObjectAttributes(encryption=RECORD))
    assert store.head_object(bucket, "k").attributes.encryption == RECORD
    with store.get_object(bucket, "k") as body:
        assert body.info.attributes.encryption == RECORD
    assert get_bytes(store, bucket, "k") == b"ciphertext"
    put(store, bucket, "plain", b"x")
    assert store.head_object(bucket, "plain").attributes.encryption is None


def test_copy_takes_the_given_encryption(store: ObjectStore, bucket: str) -> None:
    put(store, bucket, "src", b"ciphertext", attributes=ObjectAttributes(encryption=RECORD))
    info = store.copy_object(
        bucket, "src", bucket, "dst", attributes=lambda src: src.attributes.copy()
    )
    assert info.attributes.encryption == RECORD
    assert store.head_object(bucket, "dst").attributes.encryption == RECORD


def test_completed_upload_keeps_the_uploads_encryption(mp_store: ObjectStore, bucket: str) -> None:
    record = {**RECORD, "multipart": "true"}
    upload_id = mp_store.create_multipart_upload(
        bucket, "mp", attributes=ObjectAttributes(encryption=record)
    )
    page = mp_store.list_parts(bucket, "mp", upload_id, max_parts=0)
    if page.attributes is not None:  # UploadPart reads the upload's encryption from here
        assert page.attributes.encryption == record
    data = pattern(MIN_PART_SIZE)
    part = mp_store.upload_part(bucket, "mp", upload_id, 1, io.BytesIO(data), size=len(data))
    mp_store.complete_multipart_upload(bucket, "mp", upload_id, [(1, part.etag)])
    assert mp_store.head_object(bucket, "mp").attributes.encryption == record


class _CompletesAtEof:
    """A body that adds ``md5`` to ``record`` as it hands out its last bytes (as the
    encrypting reader records an SSE-S3 object's plaintext MD5, its shown ETag: a store
    given the size may never read past them)."""

    def __init__(self, data: bytes, record: dict[str, str]) -> None:
        self._data = io.BytesIO(data)
        self._size = len(data)
        self._record = record

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._data.read(size)
        if self._data.tell() == self._size:
            self._record["md5"] = "0123456789abcdef0123456789abcdef"
        return chunk


def test_encryption_is_read_after_the_bodys_eof(store: ObjectStore, bucket: str) -> None:
    data = pattern(100_000)
    for size in (None, len(data)):  # a store may stream a body of known size
        record = dict(RECORD)
        store.put_object(
            bucket,
            "k",
            _CompletesAtEof(data, record),
            size=size,
            attributes=ObjectAttributes(encryption=record),
        )
        kept = store.head_object(bucket, "k").attributes.encryption
        assert kept == {**RECORD, "md5": "0123456789abcdef0123456789abcdef"}
        record["later"] = "x"  # kept as a snapshot taken at EOF, not a live view
        assert store.head_object(bucket, "k").attributes.encryption == kept
