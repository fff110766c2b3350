"""Multipart uploads: CreateMultipartUpload, UploadPart (and UploadPartCopy),
CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.

The store does the work (``ObjectStore.*multipart*``); this module speaks the
protocol: query parameters, XML documents, body verification, and the checks S3
makes before a store is called (part numbers, part size, the completion list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from flask import Response

from ..encryption import wiring as sse
from ..encryption.sse import shown_checksums, shown_etag, shown_part_etag
from ..protocol import xml
from ..protocol.checksums import VerifyingReader, parse_checksum_algorithm
from ..protocol.conditionals import write_conditions
from ..protocol.copy_source import check_copy_source_conditions, parse_copy_source
from ..protocol.documents import COMPLETE_MULTIPART_UPLOAD
from ..protocol.errors import S3Error
from ..protocol.headers import HeaderMap, attributes_from_headers, checksum_type_of, quote_etag
from ..protocol.multipart_checksums import (
    TYPE_HEADER,
    Completion,
    completion_checksum,
    decode_part_checksum,
    parse_claimed,
    upload_checksum,
)
from ..protocol.names import check_key
from ..protocol.numbers import (
    INT32_MAX,
    INT64_MAX,
    optional_integer,
    parse_bounded,
    parse_integer,
    parse_part_number,
)
from ..protocol.versioning import copy_source_version_headers, written_version_headers
from ..stores.base import (
    ByteRange,
    InvalidRange,
    NoSuchKey,
    NoSuchUpload,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    UploadInfo,
    multipart_etag,
)
from ..stores.streams import IterReader
from ..web.access import check_object_read, object_owner
from ..web.body import LateChecksums, read_small_body, verified_body
from ..web.context import S3Request, empty_response, xml_response
from ..web.versions import copy_source_version
from . import object_lock, objects
from .query import argument, key_encoder

#: S3's largest part.
MAX_PART_SIZE = 5 * 1024**3
MAX_LISTED = 1000
OBJECT_SIZE_HEADER = "x-amz-mp-object-size"
COPY_RANGE_MESSAGE = (
    "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
    "and last are the zero-based offsets of the first and last bytes to copy"
)
CHECKSUM_ELEMENTS = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "CRC64NVME": "ChecksumCRC64NVME",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
}


def create_multipart_upload(s3: S3Request) -> Response:
    key = s3.object_key
    check_key(key)
    headers = s3.request.headers
    acl = objects.new_object_acl(s3)  # applied to the object at completion
    storage_class = headers.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in objects.STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": storage_class})
    requested = headers.get("x-amz-checksum-algorithm")
    algorithm, checksum_type = upload_checksum(
        parse_checksum_algorithm(requested) if requested else None, headers.get(TYPE_HEADER)
    )
    sse_headers, encryption = sse.upload_encryption(s3)
    attributes = replace(
        attributes_from_headers(headers),
        acl=acl,
        owner=object_owner(s3),
        checksum_algorithm=algorithm,
        checksum_type=checksum_type,
        encryption=encryption,
    )
    attributes = object_lock.write_lock(s3, attributes, put=False)
    upload_id = s3.store.create_multipart_upload(s3.bucket_name, key, attributes=attributes)
    sse.check_upload_kept(s3, upload_id, encryption)  # else parts would go unencrypted
    response = xml_response(
        "InitiateMultipartUploadResult",
        [("Bucket", s3.bucket_name), ("Key", key), ("UploadId", upload_id)],
    )
    response.headers.update(sse_headers)
    if algorithm and checksum_type:
        response.headers["x-amz-checksum-algorithm"] = algorithm
        response.headers[TYPE_HEADER] = checksum_type
    return response


def upload_part(s3: S3Request) -> Response:
    number = parse_part_number(s3.query.get("partNumber"))
    upload_id = _upload_id(s3)
    if "x-amz-copy-source" in s3.request.headers:
        return _upload_part_copy(s3, number, upload_id)
    encryption = sse.part_encryption(s3, upload_id)
    body, size, checksums = verified_body(s3.request, signer=s3.chunk_signer)
    if size is not None and size > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge", extra={"ProposedSize": str(size)})
    stored, size, kept, sse_headers = sse.encrypt_part(
        s3, encryption, number, body, size, checksums
    )
    part = s3.store.upload_part(
        s3.bucket_name, s3.object_key, upload_id, number, stored, size=size, checksums=kept
    )
    headers = {"ETag": quote_etag(shown_part_etag(part)), **sse_headers}
    for algorithm, value in shown_checksums(part.checksums).items():
        headers[f"x-amz-checksum-{algorithm.lower()}"] = value
    return empty_response(200, headers)


def _upload_part_copy(s3: S3Request, number: int, upload_id: str) -> Response:
    headers = s3.request.headers
    source = parse_copy_source(headers["x-amz-copy-source"])
    source_version = copy_source_version(s3.store, source)
    reading = s3.check_copy_source(source.bucket, source.key, source_version)
    byte_range = _copy_range(headers.get("x-amz-copy-source-range"))
    # The destination upload must exist before we read anything from the source.
    upload = s3.store.list_parts(s3.bucket_name, s3.object_key, upload_id, max_parts=0)
    algorithm = upload.attributes.checksum_algorithm if upload.attributes else None
    try:
        body = s3.store.get_object(
            source.bucket, source.key, byte_range=byte_range, version_id=source_version
        )
        try:
            check_object_read(reading, body.info)  # the bucket owner's copy of another's
        except BaseException:
            body.close()
            raise
        body = sse.copy_source_body(s3, body, byte_range)  # closes it if it raises
    except InvalidRange as error:
        if reading.owner_read_pending:  # its size is told only to whom may read it
            found = s3.store.head_object(source.bucket, source.key, version_id=source_version)
            check_object_read(reading, found)
        raise _copy_range_past_end(headers, error.size) from None
    with body:
        if byte_range is not None and (byte_range.end or 0) >= body.info.size:
            # An HTTP Range would be cut at the end; S3 refuses a copy range past it.
            raise _copy_range_past_end(headers, body.info.size)
        check_copy_source_conditions(headers, body.info.etag, body.info.last_modified)
        if body.length > MAX_PART_SIZE:
            raise S3Error("EntityTooLarge", extra={"ProposedSize": str(body.length)})
        # The part gets the upload's checksum, computed while it streams (as S3 does).
        reader = VerifyingReader(
            IterReader(body), algorithms=[algorithm] if algorithm else (), size=body.length
        )
        encryption = upload.attributes.encryption if upload.attributes else None
        stored, size, kept, sse_headers = sse.encrypt_part(
            s3, encryption, number, reader, body.length, LateChecksums(reader, {}, algorithm)
        )
        part = s3.store.upload_part(
            s3.bucket_name, s3.object_key, upload_id, number, stored, size=size, checksums=kept
        )
    children: list[tuple[str, xml.Value]] = [
        ("LastModified", part.last_modified),
        ("ETag", quote_etag(shown_part_etag(part))),
    ]
    response = xml_response("CopyPartResult", children + _checksums(part.checksums.items()))
    response.headers.update(copy_source_version_headers(body.info.version_id))
    response.headers.update(sse_headers)
    return response


def complete_multipart_upload(s3: S3Request) -> Response:
    upload_id = _upload_id(s3)
    encryption = sse.upload_record(s3, upload_id)  # an SSE-C upload completes with its key
    headers = s3.request.headers
    write_options = sse.stored_write_options(s3, write_conditions(headers))
    # x-amz-checksum-* here describe the object being composed, not this XML document.
    document = read_small_body(
        s3.request, COMPLETE_MULTIPART_UPLOAD, signer=s3.chunk_signer, checksum_headers=False
    )
    given, part_checksums = _completion_parts(document)
    parts = sse.stored_part_etags(s3, encryption, upload_id, given)
    checksum_type = headers.get(TYPE_HEADER)
    request = Completion(
        part_checksums,
        parse_claimed({k.lower(): v for k, v in headers.items()}),
        checksum_type.strip().upper() if checksum_type else None,
    )
    object_size = _object_size(headers.get(OBJECT_SIZE_HEADER))

    def derive(upload: ObjectAttributes, chosen: Sequence[PartInfo]) -> ObjectAttributes:
        # Runs on the very parts the store composes, before anything is written.
        total = sum(p.size for p in chosen)
        if object_size is not None and object_size != total:
            raise S3Error(
                "InvalidRequest",
                f"The provided '{OBJECT_SIZE_HEADER}' header value {object_size} does not "
                f"match what was computed: {total}",
            )
        checksums, kind = completion_checksum(
            upload.checksum_algorithm, upload.checksum_type, chosen, request
        )
        upload = sse.completed_attributes(upload, chosen)  # an SSE-S3 object's ETag
        return replace(upload, checksums=checksums, checksum_type=kind, checksum_algorithm=None)

    try:
        info = s3.store.complete_multipart_upload(
            s3.bucket_name,
            s3.object_key,
            upload_id,
            parts,
            options=write_options,
            attributes=derive,
        )
    except NoSuchUpload:
        info = _already_completed(s3, given)
    children: list[tuple[str, xml.Value]] = [
        ("Location", s3.request.base_url),
        ("Bucket", s3.bucket_name),
        ("Key", s3.object_key),
        ("ETag", quote_etag(shown_etag(info))),
    ]
    children += _checksums(info.attributes.checksums.items())
    if info.attributes.checksums:
        children.append(("ChecksumType", checksum_type_of(info.attributes)))
    response = xml_response("CompleteMultipartUploadResult", children)
    response.headers.update(written_version_headers(info.version_id))
    response.headers.update(sse.object_headers(s3, info))
    return response


def _completion_parts(
    document: bytes,
) -> tuple[list[tuple[int, str]], dict[int, dict[str, str]]]:
    """The (number, ETag) list of a CompleteMultipartUpload document and each part's
    Checksum<algorithm> elements."""
    root = xml.parse(document, COMPLETE_MULTIPART_UPLOAD)
    if root.tag != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    parts: list[tuple[int, str]] = []
    checksums: dict[int, dict[str, str]] = {}
    for element in root.findall("Part"):
        number, etag = xml.child_text(element, "PartNumber"), xml.child_text(element, "ETag")
        if number is None or etag is None:
            raise S3Error("MalformedXML")
        part_number = parse_bounded(number.strip(), 0, INT32_MAX)
        if part_number is None:
            raise S3Error("MalformedXML")
        parts.append((part_number, etag.strip().strip('"')))
        given = {}
        for algorithm, name in CHECKSUM_ELEMENTS.items():
            value = xml.child_text(element, name)
            if value is not None:
                given[algorithm] = decode_part_checksum(algorithm, value)
        checksums[parts[-1][0]] = given
    if not parts:
        raise S3Error("MalformedXML", "You must specify at least one part")
    return parts, checksums


def _object_size(raw: str | None) -> int | None:
    if raw is None:
        return None
    return parse_integer(
        raw.strip(),
        OBJECT_SIZE_HEADER,
        maximum=INT64_MAX,
        message=f"Value for {OBJECT_SIZE_HEADER} header is invalid: {raw!r}",
        code="InvalidRequest",
    )


def _already_completed(s3: S3Request, parts: list[tuple[int, str]]) -> ObjectInfo:
    """S3 answers a repeated Complete (a client retrying after a lost response)
    with success while the object it made is still there: the key's ETag is the
    one these very parts produce. Anything else stays NoSuchUpload."""
    try:
        current = s3.store.head_object(s3.bucket_name, s3.object_key)
        expected = multipart_etag(bytes.fromhex(etag) for _, etag in parts)
    except (NoSuchKey, ValueError):
        raise S3Error("NoSuchUpload") from None
    if shown_etag(current) != expected:
        raise S3Error("NoSuchUpload")
    return current


def abort_multipart_upload(s3: S3Request) -> Response:
    s3.store.abort_multipart_upload(s3.bucket_name, s3.object_key, _upload_id(s3))
    return empty_response(204)


def list_parts(s3: S3Request) -> Response:
    upload_id = _upload_id(s3)
    marker = _int_parameter(s3, "part-number-marker", 0)
    max_parts = min(_int_parameter(s3, "max-parts", MAX_LISTED), MAX_LISTED)
    page = s3.store.list_parts(
        s3.bucket_name,
        s3.object_key,
        upload_id,
        part_number_marker=marker,
        max_parts=max_parts,
    )
    page = sse.plain_parts(page)  # an encrypted upload's parts: plaintext sizes, ETags
    owner = (page.attributes.owner if page.attributes else None) or s3.identity.id
    person = xml.owner(owner, s3.display_name(owner))  # the object's owner to be
    children: list[tuple[str, xml.Value]] = [
        ("Bucket", s3.bucket_name),
        ("Key", s3.object_key),
        ("UploadId", upload_id),
        ("Initiator", person),
        ("Owner", person),
        ("StorageClass", "STANDARD"),
        ("ChecksumAlgorithm", page.attributes.checksum_algorithm if page.attributes else None),
        ("ChecksumType", page.attributes.checksum_type if page.attributes else None),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page.next_part_number_marker),
        ("MaxParts", max_parts),
        ("IsTruncated", page.is_truncated),
    ]
    children += [("Part", _part(p)) for p in page.parts]
    return xml_response("ListPartsResult", children)


def list_multipart_uploads(s3: S3Request) -> Response:
    q = s3.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, upload_id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    max_uploads = min(_int_parameter(s3, "max-uploads", MAX_LISTED), MAX_LISTED)
    encode = key_encoder(s3)
    page = s3.store.list_multipart_uploads(
        s3.bucket_name,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        max_uploads=max_uploads,
    )
    bucket_owner = s3.bucket_owner()
    children: list[tuple[str, xml.Value]] = [
        ("Bucket", s3.bucket_name),
        ("KeyMarker", encode(key_marker)),
        ("UploadIdMarker", upload_id_marker),
    ]
    if page.is_truncated:
        children.append(("NextKeyMarker", encode(page.next_key_marker or "")))
        children.append(("NextUploadIdMarker", page.next_upload_id_marker or ""))
    if delimiter:
        children.append(("Delimiter", encode(delimiter)))
    children += [
        ("Prefix", encode(prefix)),
        ("MaxUploads", max_uploads),
        ("IsTruncated", page.is_truncated),
    ]
    children += [("Upload", _upload(s3, u, encode, bucket_owner)) for u in page.uploads]
    children += [("CommonPrefixes", [("Prefix", encode(p))]) for p in page.common_prefixes]
    if "encoding-type" in q:
        children.append(("EncodingType", "url"))
    return xml_response("ListMultipartUploadsResult", children)


# --------------------------------------------------------------------------- helpers


def _part(part: PartInfo) -> xml.Children:
    children: list[tuple[str, xml.Value]] = [
        ("PartNumber", part.part_number),
        ("LastModified", part.last_modified),
        ("ETag", quote_etag(part.etag)),
        ("Size", part.size),
    ]
    children += _checksums(part.checksums.items())
    return children


def _checksums(items: Iterable[tuple[str, str]]) -> list[tuple[str, xml.Value]]:
    return [(CHECKSUM_ELEMENTS[a], v) for a, v in items if a in CHECKSUM_ELEMENTS]


def _upload(
    s3: S3Request, upload: UploadInfo, encode: Callable[[str], str], bucket_owner: str | None
) -> xml.Children:
    # The initiator is recorded with the upload (attributes.owner, the object's owner to
    # be); a store that keeps no attributes falls back to the bucket owner.
    initiator = upload.attributes.owner or bucket_owner or s3.identity.id
    person = xml.owner(initiator, s3.display_name(initiator))
    return [
        ("Key", encode(upload.key)),
        ("UploadId", upload.upload_id),
        ("Initiator", person),
        ("Owner", person),
        ("StorageClass", "STANDARD"),
        ("Initiated", upload.initiated),
    ]


def _upload_id(s3: S3Request) -> str:
    upload_id = s3.query.get("uploadId", "")
    if not upload_id:
        raise S3Error(
            "InvalidArgument", "uploadId must not be empty", extra=argument(s3, "uploadId")
        )
    return upload_id


def _int_parameter(s3: S3Request, name: str, default: int) -> int:
    # An empty value is the default here, as S3 treats it for these parameters.
    return optional_integer(s3.query.get(name) or None, name, default)


def _copy_range_past_end(headers: HeaderMap, size: int) -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Range specified is not valid for source object of size: {size}",
        extra={
            "ArgumentName": "x-amz-copy-source-range",
            "ArgumentValue": headers.get("x-amz-copy-source-range", ""),
        },
    )


def _copy_range(value: str | None) -> ByteRange | None:
    """``bytes=first-last``, both given (S3 accepts no other form here)."""
    if value is None:
        return None
    unit, _, span = value.strip().partition("=")
    first, _, last = span.partition("-")
    start, stop = parse_bounded(first, 0, INT64_MAX), parse_bounded(last, 0, INT64_MAX)
    if unit != "bytes" or start is None or stop is None or stop < start:
        raise S3Error("InvalidArgument", COPY_RANGE_MESSAGE)
    return ByteRange(start, stop)
