"""Multipart checksum arithmetic (composite, full-object CRC combine), completion rules,
and the HTTP answers for what a store cannot do (501, never a wrong answer)."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from datetime import UTC, datetime

import pytest
from awscrt import checksums as crt  # type: ignore[import-untyped]
from flask.testing import FlaskClient

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.protocol.multipart_checksums import (
    ClaimedChecksum,
    Completion,
    completion_checksum,
    composite,
    full_object,
    parse_claimed,
    upload_checksum,
)
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.stores.base import DeleteCondition, ObjectAttributes, ObjectStore, PartInfo

WHEN = datetime(2030, 1, 1, tzinfo=UTC)
CRCS = {
    "CRC32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "CRC32C": lambda d: crt.crc32c(d).to_bytes(4, "big"),
    "CRC64NVME": lambda d: crt.crc64nvme(d).to_bytes(8, "big"),
}
CHUNKS = [b"a" * 1000, b"", bytes(range(256)) * 37, b"tail"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def parts_of(algorithm: str, digest, chunks: list[bytes]) -> list[PartInfo]:
    return [
        PartInfo(n, "0" * 32, len(c), WHEN, {algorithm: b64(digest(c))})
        for n, c in enumerate(chunks, 1)
    ]


@pytest.mark.parametrize("algorithm", sorted(CRCS))
def test_full_object_crc_is_the_crc_of_the_whole(algorithm: str) -> None:
    crc = CRCS[algorithm]
    pieces = [(b64(crc(c)), len(c)) for c in CHUNKS]
    assert full_object(algorithm, pieces) == b64(crc(b"".join(CHUNKS)))
    assert full_object(algorithm, pieces[:1]) == b64(crc(CHUNKS[0]))


def test_composite_is_the_checksum_of_part_checksums() -> None:
    digests = [hashlib.sha256(c).digest() for c in CHUNKS]
    expected = b64(hashlib.sha256(b"".join(digests)).digest()) + f"-{len(CHUNKS)}"
    assert composite("SHA256", [b64(d) for d in digests]) == expected


@pytest.mark.parametrize(
    ("algorithm", "kind", "expected"),
    [
        ("SHA256", None, ("SHA256", "COMPOSITE")),
        ("CRC32", None, ("CRC32", "COMPOSITE")),
        ("CRC64NVME", None, ("CRC64NVME", "FULL_OBJECT")),
        ("CRC32C", "full_object", ("CRC32C", "FULL_OBJECT")),
        (None, None, (None, None)),
    ],
)
def test_upload_checksum_defaults(algorithm, kind, expected) -> None:
    assert upload_checksum(algorithm, kind) == expected


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("SHA1", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE"), (None, "COMPOSITE"), ("CRC32", "X")],
)
def test_upload_checksum_refusals(algorithm, kind) -> None:
    with pytest.raises(S3Error) as caught:
        upload_checksum(algorithm, kind)
    assert caught.value.code == "InvalidRequest"


def test_claimed_composite_values_are_accepted() -> None:
    value = b64(hashlib.sha256(b"x").digest())
    assert parse_claimed({"x-amz-checksum-sha256": f"{value}-3"}) == ClaimedChecksum(
        "SHA256", value, 3
    )
    for bad in (f"{value}-x", f"{value}-", "nope-2"):
        with pytest.raises(S3Error):
            parse_claimed({"x-amz-checksum-sha256": bad})


def test_completion_without_an_algorithm_verifies_a_claimed_checksum() -> None:
    """A checksum sent with the completion is verified even if the upload named none."""
    parts = parts_of("CRC64NVME", CRCS["CRC64NVME"], CHUNKS)
    whole = b64(CRCS["CRC64NVME"](b"".join(CHUNKS)))
    ok = completion_checksum(None, None, parts, Completion({}, ClaimedChecksum("CRC64NVME", whole)))
    assert ok == ({"CRC64NVME": whole}, "FULL_OBJECT")
    other = b64(CRCS["CRC64NVME"](b"other"))
    with pytest.raises(S3Error) as caught:
        completion_checksum(None, None, parts, Completion({}, ClaimedChecksum("CRC64NVME", other)))
    assert caught.value.code == "BadDigest"
    assert completion_checksum(None, None, parts, Completion({})) == ({}, None)


def test_completion_type_must_match_the_upload() -> None:
    parts = parts_of("CRC32", CRCS["CRC32"], CHUNKS)
    listed = {p.part_number: dict(p.checksums) for p in parts}
    with pytest.raises(S3Error) as caught:
        completion_checksum("CRC32", "COMPOSITE", parts, Completion(listed, None, "FULL_OBJECT"))
    assert caught.value.code == "BadDigest"


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.create_bucket("b", owner=ANONYMOUS.id)
    return store


@pytest.fixture
def client(store: MemoryStore) -> FlaskClient:
    return create_app(store, anonymous=True).test_client()


def test_part_number_without_kept_boundaries_is_501(
    client: FlaskClient, store: MemoryStore
) -> None:
    store.put_object("b", "lost", io.BytesIO(b"abcd"), size=4, etag="0" * 32 + "-2")
    wrong = (PartInfo(1, "0" * 32, 1, WHEN), PartInfo(2, "0" * 32, 1, WHEN))  # 2 bytes, not 4
    attributes = ObjectAttributes(parts=wrong)
    store.put_object(
        "b", "stale", io.BytesIO(b"abcd"), size=4, etag="0" * 32 + "-2", attributes=attributes
    )
    for key in ("lost", "stale"):
        for method in (client.get, client.head):
            assert method(f"/b/{key}?partNumber=1").status_code == 501


def test_conditional_delete_on_a_store_without_it_is_501(store: MemoryStore) -> None:
    class NoConditions(MemoryStore):
        delete_object_if = ObjectStore.delete_object_if

    plain = NoConditions()
    plain.create_bucket("b", owner=ANONYMOUS.id)
    plain.put_object("b", "k", io.BytesIO(b"x"), size=1)
    client = create_app(plain, anonymous=True).test_client()
    assert client.delete("/b/k", headers={"If-Match": "*"}).status_code == 501
    assert plain.head_object("b", "k").size == 1  # never deleted unconditionally
    assert client.delete("/b/k").status_code == 204


def test_delete_condition_compares_whole_seconds() -> None:
    from boxdrive_wsgi.stores.base import ObjectInfo

    info = ObjectInfo("b", "k", 1, "e", datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC))
    late = datetime(2030, 1, 1, 0, 0, 0, 999_000, tzinfo=UTC)
    assert DeleteCondition(last_modified=late).allows("b", "k", info)


def test_part_checksums_of_an_upload_without_algorithm() -> None:
    """The SDKs send a CRC32 with every part by default: compared where kept, no object
    checksum made from them."""
    parts = parts_of("CRC32", CRCS["CRC32"], CHUNKS)
    listed = {p.part_number: dict(p.checksums) for p in parts}
    assert completion_checksum(None, None, parts, Completion(listed)) == ({}, None)
    bare = [PartInfo(p.part_number, p.etag, p.size, p.last_modified) for p in parts]
    assert completion_checksum(None, None, bare, Completion(listed)) == ({}, None)
    listed[2] = {"CRC32": listed[1]["CRC32"]}
    with pytest.raises(S3Error) as caught:
        completion_checksum(None, None, parts, Completion(listed))
    assert caught.value.code == "InvalidPart"


def test_get_object_attributes_edge_values(client: FlaskClient, store: MemoryStore) -> None:
    when = WHEN
    parts = (PartInfo(1, "0" * 32, 2, when, {"CRC32": "AAAAAA=="}), PartInfo(2, "0" * 32, 2, when))
    attributes = ObjectAttributes(
        checksums={"CRC32": "AAAAAA==-2"}, checksum_type="COMPOSITE", parts=parts
    )
    store.put_object(
        "b", "m", io.BytesIO(b"abcd"), size=4, etag="0" * 32 + "-2", attributes=attributes
    )
    headers = {"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": "0"}
    answer = client.get("/b/m?attributes", headers=headers)
    assert answer.status_code == 200
    assert b"<IsTruncated>true</IsTruncated>" in answer.data
    for name, value in [("x-amz-max-parts", "\u00b2"), ("x-amz-part-number-marker", "9" * 5000)]:
        bad = client.get(
            "/b/m?attributes", headers={"x-amz-object-attributes": "ETag", name: value}
        )
        assert bad.status_code == 400 and b"InvalidArgument" in bad.data
    for value in ("\u00b2", "9" * 5000, "0", "10001", "-1"):
        assert client.get(f"/b/m?partNumber={value}").status_code == 400


def test_checksum_type_of_a_store_that_lost_it(client: FlaskClient, store: MemoryStore) -> None:
    """A store that keeps checksums but not their type still answers the right type."""
    attributes = ObjectAttributes(checksums={"SHA256": b64(hashlib.sha256(b"x").digest()) + "-2"})
    store.put_object("b", "c", io.BytesIO(b"abcd"), size=4, attributes=attributes)
    head = client.head("/b/c", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.headers["x-amz-checksum-type"] == "COMPOSITE"
    attrs = client.get("/b/c?attributes", headers={"x-amz-object-attributes": "Checksum"})
    assert b"<ChecksumType>COMPOSITE</ChecksumType>" in attrs.data
