"""The calls the S3 handlers make: encrypt a write, open a read's plaintext, describe an
encrypted object (sizes, response headers). Handlers stay small; this holds the logic."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ..protocol.errors import S3Error
from ..protocol.headers import HeaderMap
from ..stores.base import (
    ByteRange,
    DeleteCondition,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    PartInfo,
    PartPage,
    SourceAttributes,
    VersionIsDeleteMarker,
    WriteMode,
    WriteOptions,
)
from ..stores.streams import IterReader, Readable
from ..web.context import S3Request
from ..web.store_errors import to_s3_error
from .segments import DecryptionError, plaintext_size
from .sse import (
    AES256,
    BUCKET_KEY,
    CONFIG,
    COPY_PREFIX,
    PART_ETAG,
    SSE_C,
    Requested,
    check_read_key,
    customer_md5,
    data_key,
    encrypting,
    first_chunk,
    multipart_md5,
    new_encryption,
    open_plaintext,
    part_etag,
    plain_info,
    requested,
    response_headers,
    server_keys,
    shown_checksums,
    shown_part_etag,
    stored_etag,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_secure(s3: S3Request) -> bool:
    """TLS to us, or to a trusted proxy (web/proxy.py sets the scheme from it)."""
    return s3.request.scheme == "https"


def bucket_default(s3: S3Request, bucket: str | None = None) -> Requested | None:
    """The bucket's default encryption (PutBucketEncryption), if any."""
    if not s3.store.capabilities.bucket_config:
        return None
    stored = s3.bucket_config(CONFIG, bucket or s3.bucket_name)
    if stored is None:
        return None
    config = json.loads(stored)
    return Requested(
        config["algorithm"], config.get("key_id"), None, config.get("bucket_key") == "true"
    )


def write_request(s3: S3Request) -> Requested | None:
    """What this write asks for (headers, else the bucket default)."""
    return form_request(s3, s3.request.headers, s3.bucket_name)


def form_request(s3: S3Request, headers: HeaderMap, bucket: str) -> Requested | None:
    """The same from any header map (POST Object's form fields ask as headers do)."""
    default = None
    named = [name.lower() for name, _ in headers.items()]
    if not any(n.startswith("x-amz-server-side-encryption") and n != BUCKET_KEY for n in named):
        default = bucket_default(s3, bucket)
    return requested(headers, s3.settings, is_secure(s3), default)


def encrypt_write(
    s3: S3Request,
    want: Requested | None,
    attributes: ObjectAttributes,
    body: Readable,
    size: int | None,
    *,
    bucket: str | None = None,
    key: str | None = None,
) -> tuple[Readable, int | None, ObjectAttributes, dict[str, str]]:
    """The body, size and attributes to store, and the response's SSE headers."""
    if want is None:
        return body, size, attributes, {}
    key_bytes, record = new_encryption(
        want, server_keys(s3.settings, s3.store), bucket or s3.bucket_name, key or s3.object_key
    )
    on_md5 = functools.partial(record.__setitem__, "md5") if want.scheme == AES256 else None
    stored, stored_size = encrypting(body, key_bytes, size, on_md5=on_md5)
    headers = response_headers(record, want.customer_key_md5)
    return stored, stored_size, replace(attributes, encryption=record), headers


def upload_encryption(s3: S3Request) -> tuple[dict[str, str], Mapping[str, str] | None]:
    """CreateMultipartUpload: the SSE response headers and the upload's encryption record
    (its parts share one data key, each part its own stream)."""
    want = write_request(s3)
    if want is None:
        return {}, None
    _, record = new_encryption(
        want, server_keys(s3.settings, s3.store), s3.bucket_name, s3.object_key
    )
    record["multipart"] = "true"
    return response_headers(record, want.customer_key_md5), record


def check_upload_kept(s3: S3Request, upload_id: str, record: Mapping[str, str] | None) -> None:
    """After CreateMultipartUpload of an encrypted upload: the store must give its record
    back (``part_encryption``), else its parts would be stored as sent, in plaintext,
    and the object be unreadable. A store that does not (an upstream's own multipart:
    the S3 store) gets the upload aborted and 501, before any part is sent."""
    if record is None:
        return
    page = s3.store.list_parts(s3.bucket_name, s3.object_key, upload_id, max_parts=0)
    kept = None if page.attributes is None else page.attributes.encryption
    if kept is not None and dict(kept) == dict(record):
        return
    s3.store.abort_multipart_upload(s3.bucket_name, s3.object_key, upload_id)
    raise S3Error(
        "NotImplemented",
        "Server-side encryption of multipart uploads is not supported on this store",
    )


def part_encryption(s3: S3Request, upload_id: str) -> Mapping[str, str] | None:
    """The encryption record of an upload (None: its parts are stored as sent)."""
    page = s3.store.list_parts(s3.bucket_name, s3.object_key, upload_id, max_parts=0)
    return None if page.attributes is None else page.attributes.encryption


class PartChecksums(Mapping[str, str]):
    """A part's checksums as the store reads them (after EOF): the ones verified with
    the body, and the part's ETag as shown (``PART_ETAG``, found at EOF)."""

    def __init__(self, checksums: Mapping[str, str] | None, found: Mapping[str, str]) -> None:
        self._checksums = checksums or {}
        self._found = found

    def _values(self) -> dict[str, str]:
        return {**self._checksums, **self._found}

    def __getitem__(self, name: str) -> str:
        return self._values()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


def encrypt_part(
    s3: S3Request,
    record: Mapping[str, str] | None,
    number: int,
    body: Readable,
    size: int | None,
    checksums: Mapping[str, str] | None,
) -> tuple[Readable, int | None, Mapping[str, str] | None, dict[str, str]]:
    """UploadPart of an encrypted upload: the part as its own stream (part number in the
    associated data), under the upload's data key (SSE-C: the same customer key); the
    checksums to store with it (with the part's ETag as shown: ``shown_part_etag``) and
    the SSE response headers."""
    headers = s3.request.headers
    if record is None:
        if any(
            name.lower().startswith("x-amz-server-side-encryption-customer")
            for name, _ in headers.items()
        ):
            raise S3Error("InvalidRequest", "The multipart upload was not initiated with SSE-C")
        return body, size, checksums, {}
    info = ObjectInfo(
        s3.bucket_name, s3.object_key, 0, "", _EPOCH, ObjectAttributes(encryption=record)
    )
    customer = check_read_key(info, headers, s3.settings, is_secure(s3))
    key_bytes = data_key(
        record, server_keys(s3.settings, s3.store), s3.bucket_name, s3.object_key, customer
    )
    found: dict[str, str] = {}

    def on_md5(md5: str) -> None:
        found[PART_ETAG] = part_etag(record["scheme"], key_bytes, md5)

    stored, stored_size = encrypting(body, key_bytes, size, part=number, on_md5=on_md5)
    return (
        stored,
        stored_size,
        PartChecksums(checksums, found),
        response_headers(record, customer_md5(headers)),
    )


def read_headers(
    s3: S3Request, info: ObjectInfo
) -> tuple[ObjectInfo, dict[str, str], bytes | None]:
    """HeadObject/GetObject of a stored object: the plaintext view, SSE headers, and the
    SSE-C key (checked)."""
    record = info.attributes.encryption
    customer = check_read_key(info, s3.request.headers, s3.settings, is_secure(s3))
    if record is None:
        return info, {}, None
    return plain_info(info), response_headers(record, customer_md5(s3.request.headers)), customer


def plaintext_body(
    s3: S3Request, body: ObjectBody, byte_range: ByteRange | None, customer: bytes | None
) -> ObjectBody:
    """GetObject: the store's body as is for a plaintext object; for an encrypted one
    (opened whole or with the plaintext range), a decrypting body of the range."""
    info = body.info
    record = info.attributes.encryption
    if record is None:
        return body
    body.close()
    key_bytes = data_key(
        record, server_keys(s3.settings, s3.store), info.bucket, info.key, customer
    )
    try:
        opened = open_plaintext(s3.store, info, key_bytes, byte_range)
    except InvalidRange as error:
        raise to_s3_error(error) from None
    except DecryptionError as error:
        raise S3Error("InternalError", f"The object cannot be decrypted: {error}") from None
    return first_chunk(opened)


def part_body(
    s3: S3Request, info: ObjectInfo, span: tuple[int, int], customer: bytes | None
) -> ObjectBody:
    """GetObject?partNumber= of an encrypted object: the part's plaintext span."""
    record = info.attributes.encryption
    assert record is not None
    key_bytes = data_key(
        record, server_keys(s3.settings, s3.store), info.bucket, info.key, customer
    )
    return first_chunk(open_plaintext(s3.store, info, key_bytes, None, span=span))


def is_sse_c(info: ObjectInfo) -> bool:
    record = info.attributes.encryption
    return record is not None and record.get("scheme") == SSE_C


def explicit_request(s3: S3Request) -> bool:
    """Whether the request names an encryption itself (CopyObject onto itself may then
    change only that)."""
    return any(
        name.lower().startswith("x-amz-server-side-encryption")
        for name, _ in s3.request.headers.items()
    )


def copy_through(
    s3: S3Request,
    source_bucket: str,
    source_key: str,
    derive: SourceAttributes,
    options: WriteOptions,
    *,
    source_version_id: str | None = None,
) -> tuple[ObjectInfo, dict[str, str]] | None:
    """CopyObject when either side is encrypted: decrypt the source (its SSE-C key from
    ``x-amz-copy-source-...``), encrypt as the destination asks, one streaming pass.
    None: neither side is encrypted, the store copies as it does."""
    headers = s3.request.headers
    want = write_request(s3)
    source = s3.store.head_object(source_bucket, source_key, version_id=source_version_id)
    customer = check_read_key(source, headers, s3.settings, is_secure(s3), prefix=COPY_PREFIX)
    record = source.attributes.encryption
    if record is None and want is None:
        return None
    shown = plain_info(source)
    attributes = replace(derive(shown), parts=None, encryption=None)
    if record is None:
        body = s3.store.get_object(source_bucket, source_key, version_id=source_version_id)
        if body.info.etag != source.etag:
            body.close()
            raise S3Error("ServiceUnavailable", "The copy source changed while it was read")
    else:
        key_bytes = data_key(
            record, server_keys(s3.settings, s3.store), source_bucket, source_key, customer
        )
        body = first_chunk(open_plaintext(s3.store, source, key_bytes, None))
    try:
        stored, size, attributes, sse_headers = encrypt_write(
            s3, want, attributes, IterReader(body), shown.size
        )
        info = s3.store.put_object(
            s3.bucket_name, s3.object_key, stored, size=size, attributes=attributes, options=options
        )
    except DecryptionError as error:
        raise S3Error("InternalError", f"The copy source cannot be decrypted: {error}") from None
    finally:
        body.close()
    return info, sse_headers


def copy_source_body(s3: S3Request, body: ObjectBody, byte_range: ByteRange | None) -> ObjectBody:
    """UploadPartCopy's source as plaintext (its SSE-C key from ``x-amz-copy-source-...``);
    InvalidRange (with the plaintext size) for a range past its end."""
    try:
        customer = check_read_key(
            body.info, s3.request.headers, s3.settings, is_secure(s3), prefix=COPY_PREFIX
        )
    except BaseException:
        body.close()
        raise
    record = body.info.attributes.encryption
    if record is None:
        return body
    size = plain_info(body.info).size
    if byte_range is not None and (byte_range.end or 0) >= size:
        body.close()
        raise InvalidRange(size)
    body.close()
    key_bytes = data_key(
        record, server_keys(s3.settings, s3.store), body.info.bucket, body.info.key, customer
    )
    return first_chunk(open_plaintext(s3.store, body.info, key_bytes, byte_range))


def object_headers(s3: S3Request, info: ObjectInfo) -> dict[str, str]:
    """The SSE response headers describing a stored object (CompleteMultipartUpload)."""
    return response_headers(info.attributes.encryption, customer_md5(s3.request.headers))


def upload_record(s3: S3Request, upload_id: str) -> Mapping[str, str] | None:
    """CompleteMultipartUpload: the upload's encryption record (None: not encrypted,
    or completed already: a retried completion answers as before); an SSE-C upload
    completes only with its customer key."""
    try:
        record = part_encryption(s3, upload_id)
    except NoSuchUpload:
        return None
    if record is not None and record.get("scheme") == SSE_C:
        info = ObjectInfo(
            s3.bucket_name, s3.object_key, 0, "", _EPOCH, ObjectAttributes(encryption=record)
        )
        check_read_key(info, s3.request.headers, s3.settings, is_secure(s3))
    return record


def stored_part_etags(
    s3: S3Request, record: Mapping[str, str] | None, upload_id: str, given: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    """The completion list as the store compares it: an encrypted part named by the ETag
    UploadPart and ListParts showed gets its stored one; a part
    named by its stored ETag (hidden from clients) gets one no part has (InvalidPart).
    If a part is replaced meanwhile the store sees another stored ETag and refuses:
    a conservative InvalidPart under a race, never the wrong part."""
    if record is None:
        return given
    parts: dict[int, PartInfo] = {}
    marker: int | None = 0
    while marker is not None:
        page = s3.store.list_parts(
            s3.bucket_name, s3.object_key, upload_id, part_number_marker=marker, max_parts=1000
        )
        parts.update((p.part_number, p) for p in page.parts)
        marker = page.next_part_number_marker if page.is_truncated else None
    out = []
    for number, etag in given:
        part = parts.get(number)
        if part is not None and shown_part_etag(part) != part.etag:
            etag = part.etag if etag == shown_part_etag(part) else "-"
        out.append((number, etag))
    return out


def completed_attributes(upload: ObjectAttributes, chosen: Sequence[PartInfo]) -> ObjectAttributes:
    """The object's attributes at completion: an encrypted object's record gets the ETag
    shown for it (from its parts' shown ETags)."""
    md5 = multipart_md5(upload.encryption, chosen)
    if md5 is None or upload.encryption is None:
        return upload
    return replace(upload, encryption={**upload.encryption, "md5": md5})


def plain_parts(page: PartPage) -> PartPage:
    """ListParts of an encrypted upload: each part's plaintext size and shown ETag."""
    if page.attributes is None or page.attributes.encryption is None:
        return page
    try:
        parts = [
            replace(
                p,
                size=plaintext_size(p.size),
                etag=shown_part_etag(p),
                checksums=shown_checksums(p.checksums),
            )
            for p in page.parts
        ]
    except ValueError:
        return page
    return replace(page, parts=parts)


# ----------------------------------------------------------------- conditional writes
#
# A client's If-Match names the ETag it saw (an SSE-S3 object's plaintext MD5), the store
# checks the stored one (the ciphertext's MD5) atomically with its commit. So the ETag is
# translated against a HEAD just before the write. That is sound: a stored ETag names one
# write (every write has its own data key and nonces, so its own ciphertext), so if the
# object is replaced between the HEAD and the commit the store sees another stored ETag
# and refuses (412) -- even if the replacement has the same plaintext: a conservative
# 412 under a race, never a write over an object the condition does not hold for.


def _current(
    s3: S3Request, bucket: str, key: str, version_id: str | None = None
) -> ObjectInfo | None:
    try:
        return s3.store.head_object(bucket, key, version_id=version_id)
    except (NoSuchKey, NoSuchBucket, NoSuchVersion, VersionIsDeleteMarker):
        return None  # the store's own check answers (404), atomically


def stored_write_options(
    s3: S3Request, options: WriteOptions, bucket: str | None = None, key: str | None = None
) -> WriteOptions:
    """``options`` with an If-Match ETag as the store compares it (see above)."""
    given = options.etag
    if options.mode is not WriteMode.UPDATE or given is None or given == "*":
        return options
    current = _current(s3, bucket or s3.bucket_name, key or s3.object_key)
    if current is None:
        return options
    return WriteOptions.update(stored_etag(current, given))


def stored_delete_condition(
    s3: S3Request, condition: DeleteCondition, key: str, version_id: str | None = None
) -> DeleteCondition:
    """A DeleteObject(s) condition as the store compares it: If-Match as in
    ``stored_write_options``, x-amz-if-match-size against the plaintext size."""
    etag, size = condition.etag, condition.size
    if (etag is None or etag == "*") and size is None:
        return condition
    current = _current(s3, s3.bucket_name, key, version_id)
    if current is None or current.attributes.encryption is None:
        return condition
    if etag is not None:
        etag = stored_etag(current, etag)
    if size is not None:
        size = current.size if size == plain_info(current).size else -1
    return replace(condition, etag=etag, size=size)
