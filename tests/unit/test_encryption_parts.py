"""Multipart ETags of encrypted uploads: a part keeps its ETag as shown with its checksums
(found at EOF: SSE-S3 the plaintext MD5, else a keyed, repeatable MAC of it) and never
shows it as a checksum; the object's ETag follows from those when every part has one."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from boxdrive_wsgi.encryption.segments import ciphertext_size, decrypt_stream, new_data_key
from boxdrive_wsgi.encryption.sse import (
    AES256,
    KMS,
    PART_ETAG,
    SSE_C,
    encrypting,
    multipart_md5,
    part_etag,
    shown_checksums,
    shown_part_etag,
)
from boxdrive_wsgi.encryption.wiring import (
    PartChecksums,
    check_upload_kept,
    completed_attributes,
    plain_parts,
)
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.stores.base import ObjectAttributes, PartInfo, PartPage, multipart_etag
from boxdrive_wsgi.stores.memory import MemoryStore
from boxdrive_wsgi.web.context import S3Request

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def part(number: int, etag: str, plain: str | None, size: int = 100) -> PartInfo:
    checksums = {"CRC32": "AAAAAA=="}
    if plain is not None:
        checksums[PART_ETAG] = plain
    return PartInfo(number, etag, size, NOW, checksums)


def test_part_checksums_carry_the_md5_found_at_eof() -> None:
    found: dict[str, str] = {}
    data = b"x" * 70000
    reader, size = encrypting(
        io.BytesIO(data),
        new_data_key(),
        len(data),
        part=1,
        on_md5=lambda m: found.update({PART_ETAG: m}),
    )
    kept = PartChecksums({"CRC32": "AAAAAA=="}, found)
    assert dict(kept) == {"CRC32": "AAAAAA=="}  # nothing before EOF
    sealed = reader.read()
    assert size == len(sealed) == ciphertext_size(len(data))
    assert dict(kept) == {"CRC32": "AAAAAA==", PART_ETAG: hashlib.md5(data).hexdigest()}
    assert len(kept) == 2 and kept[PART_ETAG] == hashlib.md5(data).hexdigest()


def test_shown_part_etag_and_checksums() -> None:
    sse_s3 = part(1, "c" * 32, "p" * 32)
    assert shown_part_etag(sse_s3) == "p" * 32
    assert shown_checksums(sse_s3.checksums) == {"CRC32": "AAAAAA=="}
    other = part(1, "c" * 32, None)
    assert shown_part_etag(other) == "c" * 32


def test_part_etags_sse_s3_md5_else_keyed_and_repeatable() -> None:
    md5 = hashlib.md5(b"data").hexdigest()
    key, other = new_data_key(), new_data_key()
    assert part_etag(AES256, key, md5) == md5
    for scheme in (KMS, SSE_C):
        shown = part_etag(scheme, key, md5)
        assert len(shown) == 32 and int(shown, 16) >= 0 and shown != md5
        assert part_etag(scheme, key, md5) == shown  # the same bytes again: the same ETag
        assert part_etag(scheme, other, md5) != shown
        assert part_etag(scheme, key, hashlib.md5(b"other").hexdigest()) != shown


def test_object_etag_from_shown_part_etags_when_every_part_has_one() -> None:
    md5s = [hashlib.md5(bytes([n])).hexdigest() for n in range(3)]
    parts = [part(n + 1, "c" * 32, m) for n, m in enumerate(md5s)]
    expected = multipart_etag(bytes.fromhex(m) for m in md5s)
    assert multipart_md5({"scheme": AES256}, parts) == expected
    assert multipart_md5({"scheme": KMS}, parts) == expected  # of the parts' shown ETags
    assert multipart_md5(None, parts) is None
    assert multipart_md5({"scheme": AES256}, [*parts, part(4, "c" * 32, None)]) is None
    upload = ObjectAttributes(encryption={"scheme": AES256, "multipart": "true"})
    done = completed_attributes(upload, parts)
    assert done.encryption == {"scheme": AES256, "multipart": "true", "md5": expected}
    assert completed_attributes(ObjectAttributes(), parts) == ObjectAttributes()


def test_list_parts_show_plaintext_sizes_and_etags() -> None:
    stored = part(1, "c" * 32, "p" * 32, size=ciphertext_size(777))
    page = PartPage([stored], False, attributes=ObjectAttributes(encryption={"scheme": AES256}))
    shown = plain_parts(page).parts[0]
    assert (shown.size, shown.etag, dict(shown.checksums)) == (777, "p" * 32, {"CRC32": "AAAAAA=="})
    plain = PartPage([stored], False, attributes=ObjectAttributes())
    assert plain_parts(plain) == plain


def test_encrypted_part_decrypts_with_its_part_number() -> None:
    key = new_data_key()
    reader, _ = encrypting(io.BytesIO(b"abc"), key, 3, part=7)
    assert b"".join(decrypt_stream([reader.read()], key, part=7)) == b"abc"


class ForgetfulStore(MemoryStore):
    """A store whose ListParts does not give an upload's attributes back (an upstream's
    own multipart): its encryption record would be lost."""

    def list_parts(self, *args: Any, **kwargs: Any) -> PartPage:
        return replace(super().list_parts(*args, **kwargs), attributes=None)


def request_on(store: MemoryStore) -> S3Request:
    return cast(S3Request, SimpleNamespace(store=store, bucket_name="bkt", object_key="k"))


def test_an_encrypted_upload_the_store_cannot_keep_is_refused_up_front() -> None:
    record = {"scheme": AES256, "key_id": "1", "wrapped": "w", "multipart": "true"}
    forgetful = ForgetfulStore()
    forgetful.create_bucket("bkt")
    upload_id = forgetful.create_multipart_upload(
        "bkt", "k", attributes=ObjectAttributes(encryption=record)
    )
    with pytest.raises(S3Error) as refused:
        check_upload_kept(request_on(forgetful), upload_id, record)
    assert refused.value.code == "NotImplemented"
    assert forgetful.list_multipart_uploads("bkt").uploads == []  # aborted
    keeping = MemoryStore()
    keeping.create_bucket("bkt")
    kept = keeping.create_multipart_upload(
        "bkt", "k", attributes=ObjectAttributes(encryption=record)
    )
    check_upload_kept(request_on(keeping), kept, record)  # the record comes back: fine
    check_upload_kept(request_on(forgetful), "any", None)  # nothing to keep
