"""Object operations: put, get, head, delete."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

from flask import Response

from ..encryption import wiring as sse
from ..encryption.sse import shown_etag
from ..protocol.acl import stored_acl
from ..protocol.checksums import ALGORITHMS, checksum_header
from ..protocol.conditionals import check_read_conditions, delete_condition, write_conditions
from ..protocol.errors import S3Error
from ..protocol.headers import (
    RESPONSE_OVERRIDES,
    attributes_from_headers,
    checksum_headers,
    object_headers,
    quote_etag,
)
from ..protocol.names import check_key
from ..protocol.numbers import parse_part_number
from ..protocol.object_lock import lock_headers, lock_of
from ..protocol.parts import (
    PART_COUNT_HEADER,
    PartSpan,
    locate_part,
    parts_unknown,
    parts_unknown_error,
)
from ..protocol.ranges import content_range, parse_range
from ..protocol.versioning import (
    DELETE_MARKER_HEADER,
    version_headers,
    written_version_headers,
)
from ..stores.base import (
    ByteRange,
    DeleteCondition,
    DeleteResult,
    InvalidRange,
    NoSuchKey,
    ObjectBody,
    ObjectInfo,
)
from ..web.access import check_object_read, object_owner, requested_policy
from ..web.body import verified_body
from ..web.context import S3Request, empty_response
from ..web.file_response import file_response
from ..web.store_errors import to_s3_error
from ..web.versions import version_of_request
from ..web.x_accel import accel_response
from . import lifecycle, object_lock

STORAGE_CLASSES = frozenset(
    {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
     "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE"}
)  # fmt: skip
#: How often GetObject with partNumber looks again at an object that keeps changing.
PART_READ_ATTEMPTS = 3


def put_object(s3: S3Request) -> Response:
    key = s3.object_key
    check_key(key)
    headers = s3.request.headers
    acl = new_object_acl(s3)
    storage_class = headers.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": storage_class})
    write_options = sse.stored_write_options(s3, write_conditions(headers))
    encryption = sse.write_request(s3)
    body, size, checksums = verified_body(s3.request, signer=s3.chunk_signer)
    attributes = replace(
        attributes_from_headers(headers), checksums=checksums, acl=acl, owner=object_owner(s3)
    )
    attributes = object_lock.write_lock(s3, attributes, put=True)
    stored, size, attributes, sse_headers = sse.encrypt_write(
        s3, encryption, attributes, body, size
    )
    info = s3.store.put_object(
        s3.bucket_name,
        key,
        stored,
        size=size,
        attributes=attributes,
        options=write_options,
    )
    response_headers = {"ETag": quote_etag(shown_etag(info)), **sse_headers}
    response_headers.update(checksum_headers(info))
    response_headers.update(written_version_headers(info.version_id))
    response_headers.update(lifecycle.expiration_headers(s3, info))
    return empty_response(200, response_headers)


def new_object_acl(s3: S3Request) -> str | None:
    """The stored ACL for an object this request writes (None: the writer has
    FULL_CONTROL), from x-amz-acl or x-amz-grant-*."""
    bucket_owner = s3.bucket_owner()
    return stored_acl(requested_policy(s3, s3.identity.id, bucket_owner))


def _says_if_marker(handler: Callable[[S3Request], Response]) -> Callable[[S3Request], Response]:
    """GET/HEAD of an absent key answer whether a delete marker hides it, as RGW does:
    ``x-amz-delete-marker: true`` and its id (the store's NoSuchKey says), else false."""

    @functools.wraps(handler)
    def wrapped(s3: S3Request) -> Response:
        try:
            return handler(s3)
        except NoSuchKey as error:
            answer = to_s3_error(error)
            answer.headers.setdefault(DELETE_MARKER_HEADER, "false")
            raise answer from None

    return wrapped


@_says_if_marker
def get_object(s3: S3Request) -> Response:
    number = _part_number(s3)
    version = version_of_request(s3)
    span: PartSpan | None = None
    sse_headers: dict[str, str] = {}
    if number is None:
        byte_range = parse_range(s3.request.headers.get("Range"))
        try:
            body = s3.store.get_object(
                s3.bucket_name, s3.object_key, byte_range=byte_range, version_id=version
            )
        except InvalidRange:
            if s3.owner_read_pending:  # its size is told only to whom may read it
                info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
                check_object_read(s3, info)
            raise
        try:
            check_object_read(s3, body.info)  # before any byte of it is sent
            _, sse_headers, customer = sse.read_headers(s3, body.info)
        except BaseException:
            body.close()
            raise
        body = sse.plaintext_body(s3, body, byte_range, customer)
    else:
        body, span, sse_headers = _open_part(s3, number, version)
    try:
        if number is not None:  # the whole object's was checked above
            check_object_read(s3, body.info)
        check_read_conditions(s3.request.headers, body.info.etag, body.info.last_modified)
        headers = _response_headers(s3, body.info, span)
        headers.update(sse_headers)
    except BaseException:
        body.close()
        raise
    ranged = body.content_range is not None or span is not None
    accelerated = accel_response(s3, body, headers, ranged=ranged)
    if accelerated is not None:
        return accelerated  # nginx sends the file (BOXDRIVE_X_ACCEL_REDIRECT)
    status = 200
    if body.content_range is not None:
        status = 206
        headers["Content-Range"] = content_range(*body.content_range, body.info.size)
    headers["Content-Length"] = str(body.length if span is None else span.stop - span.start)
    served = file_response(s3.request.environ, body, status, headers)
    if served is not None:
        return served  # the WSGI server sends the file, no app thread waits on the client
    # Not direct_passthrough: Response.close must run (it closes the body and fires
    # call_on_close hooks such as the access log) when the server finishes.
    return Response(body, status=status, headers=headers)


def _open_part(
    s3: S3Request, number: int, version: str | None
) -> tuple[ObjectBody, PartSpan | None, dict[str, str]]:
    """Open part ``number``: its span comes from the object's part boundaries, and the
    body read must be of that very object (a writer may replace it in between)."""
    for _ in range(PART_READ_ATTEMPTS):
        stored = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
        if not parts_unknown(stored):  # a part number past the last: InvalidPart before
            locate_part(stored, number)  # an SSE-C key is asked for (as Ceph RGW answers)
        info, sse_headers, customer = sse.read_headers(s3, stored)
        if parts_unknown(info):
            return (*_store_part(s3, number, version), sse_headers)
        span = locate_part(info, number)
        if span is not None and span.start == span.stop:  # an empty part: no bytes to read
            return ObjectBody(info, iter(())), span, sse_headers
        if stored.attributes.encryption is not None:
            whole = (0, info.size) if span is None else (span.start, span.stop)
            return sse.part_body(s3, stored, whole, customer), span, sse_headers
        byte_range = None if span is None else ByteRange(span.start, span.stop - 1)
        body = s3.store.get_object(
            s3.bucket_name, s3.object_key, byte_range=byte_range, version_id=version
        )
        if body.info.etag == info.etag:
            return body, span, sse_headers
        body.close()
    raise S3Error("ServiceUnavailable", "The object kept changing while its part was read")


def _store_part(s3: S3Request, number: int, version: str | None) -> tuple[ObjectBody, PartSpan]:
    """A part the store serves itself (it composed the object natively, e.g. upstream)."""
    opened = s3.store.get_object_part(s3.bucket_name, s3.object_key, number, version_id=version)
    if opened is None:
        raise parts_unknown_error()
    body, count = opened
    if body.content_range is None:
        body.close()
        raise parts_unknown_error()
    start, stop = body.content_range
    return body, PartSpan(number, start, stop, count)


@_says_if_marker
def head_object(s3: S3Request) -> Response:
    version = version_of_request(s3)
    stored = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
    check_object_read(s3, stored)
    info, sse_headers, _ = sse.read_headers(s3, stored)
    check_read_conditions(s3.request.headers, info.etag, info.last_modified)
    number = _part_number(s3)
    span: PartSpan | None = None
    if number is not None and parts_unknown(info):
        body, span = _store_part(s3, number, version)
        body.close()  # only its span and the part count are answered
    elif number is not None:
        span = locate_part(info, number)
    headers = _response_headers(s3, info, span)
    headers.update(sse_headers)
    byte_range = None if number is not None else parse_range(s3.request.headers.get("Range"))
    status, length = 200, info.size
    if span is not None:
        status, length = 206, span.stop - span.start
        if length:
            headers["Content-Range"] = content_range(span.start, span.stop, info.size)
    elif byte_range is not None:
        try:
            start, stop = byte_range.resolve(info.size)
        except InvalidRange as error:
            raise to_s3_error(error) from None
        status, length = 206, stop - start
        headers["Content-Range"] = content_range(start, stop, info.size)
    headers["Content-Length"] = str(length)
    return empty_response(status, headers)


def delete_object(s3: S3Request) -> Response:
    bucket, key = s3.bucket_name, s3.object_key
    version = version_of_request(s3)
    condition = delete_condition(s3.request.headers)
    owner = s3.identity.id  # the owner of a delete marker this adds
    locked = object_lock.delete_guard(s3)  # retention / legal hold of the version removed
    if condition is None:
        result = s3.store.delete_object(bucket, key, version_id=version, guard=locked, owner=owner)
        return empty_response(204, version_headers(result.version_id, result.delete_marker))
    condition = sse.stored_delete_condition(s3, condition, key, version)
    if version is not None:  # the conditions hold for that version, checked atomically
        guard = both(condition_guard(bucket, key, condition), locked)
        result = s3.store.delete_object(bucket, key, version_id=version, guard=guard, owner=owner)
    else:
        result = delete_latest_if(s3, condition)
    return empty_response(204, version_headers(result.version_id, result.delete_marker))


def delete_latest_if(
    s3: S3Request, condition: DeleteCondition, key: str | None = None
) -> DeleteResult:
    """A conditional delete of the latest version (the store checks and deletes atomically;
    on a versioned bucket it adds a delete marker)."""
    key = s3.object_key if key is None else key
    return s3.store.delete_object_if(s3.bucket_name, key, condition, owner=s3.identity.id)


def both(
    first: Callable[[ObjectInfo], None], second: Callable[[ObjectInfo], None] | None
) -> Callable[[ObjectInfo], None]:
    """One delete guard running two."""
    if second is None:
        return first

    def guard(info: ObjectInfo) -> None:
        first(info)
        second(info)

    return guard


def condition_guard(
    bucket: str, key: str, condition: DeleteCondition
) -> Callable[[ObjectInfo], None]:
    """A delete guard refusing (PreconditionFailed) a version the conditions do not hold
    for: a version that is not there is no error (S3: 204)."""

    def guard(info: ObjectInfo) -> None:
        condition.allows(bucket, key, info)

    return guard


def _part_number(s3: S3Request) -> int | None:
    raw = s3.query.get("partNumber")
    if raw is None:
        return None
    number = parse_part_number(raw)
    if "Range" in s3.request.headers:
        raise S3Error(
            "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    return number


def _response_headers(s3: S3Request, info: ObjectInfo, span: PartSpan | None) -> dict[str, str]:
    headers = object_headers(info)
    headers.update(version_headers(info.version_id))
    headers.update(lock_headers(lock_of(info)))
    headers.update(lifecycle.expiration_headers(s3, info))
    wanted = s3.request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    if span is not None:
        headers[PART_COUNT_HEADER] = str(span.count)
        if wanted and span.part is not None:
            # A part is served with its own checksum (what it was uploaded with).
            headers.update(
                {checksum_header(a): v for a, v in span.part.checksums.items() if a in ALGORITHMS}
            )
    elif wanted and "Range" not in s3.request.headers and "partNumber" not in s3.query:
        # A checksum describes the whole object: S3 omits it when serving a range.
        headers.update(checksum_headers(info))
    for parameter, header in RESPONSE_OVERRIDES.items():
        value = s3.query.get(parameter)
        if value is not None:
            headers[header] = value
    return headers
