"""Object operations: put, get, head, delete."""

from __future__ import annotations

from dataclasses import replace

from flask import Response

from ..body import verified_body
from ..context import S3Request, empty_response
from ..protocol.conditionals import check_read_conditions, write_conditions
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
from ..protocol.ranges import content_range, parse_range
from ..protocol.store_errors import to_s3_error
from ..stores.base import ByteRange, InvalidRange, ObjectInfo
from ..x_accel import accel_response
from .acl import requested_policy, stored_acl

STORAGE_CLASSES = frozenset(
    {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
     "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE"}
)  # fmt: skip


def put_object(s3: S3Request) -> Response:
    key = s3.object_key
    check_key(key)
    headers = s3.request.headers
    acl = new_object_acl(s3)
    storage_class = headers.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": storage_class})
    if_match, if_none_match = write_conditions(headers)
    body, size, checksums = verified_body(s3.request, signer=s3.chunk_signer)
    attributes = replace(
        attributes_from_headers(headers), checksums=checksums, acl=acl, owner=s3.identity.id
    )
    info = s3.store.put_object(
        s3.bucket_name,
        key,
        body,
        size=size,
        attributes=attributes,
        if_match=if_match,
        if_none_match=if_none_match,
    )
    response_headers = {"ETag": quote_etag(info.etag)}
    response_headers.update(checksum_headers(info))
    return empty_response(200, response_headers)


def new_object_acl(s3: S3Request) -> str | None:
    """The stored ACL for an object this request writes (None: the writer has
    FULL_CONTROL), from x-amz-acl or x-amz-grant-*."""
    bucket_owner = s3.store.head_bucket(s3.bucket_name).owner
    return stored_acl(requested_policy(s3, s3.identity.id, bucket_owner))


def get_object(s3: S3Request) -> Response:
    byte_range = _byte_range(s3)
    body = s3.store.get_object(s3.bucket_name, s3.object_key, byte_range=byte_range)
    try:
        check_read_conditions(s3.request.headers, body.info.etag, body.info.last_modified)
        headers = _response_headers(s3, body.info)
    except BaseException:
        body.close()
        raise
    accelerated = accel_response(s3, body, headers, ranged=body.content_range is not None)
    if accelerated is not None:
        return accelerated  # nginx sends the file (BOXDRIVE_X_ACCEL_REDIRECT)
    status = 200
    if body.content_range is not None:
        status = 206
        headers["Content-Range"] = content_range(*body.content_range, body.info.size)
    headers["Content-Length"] = str(body.length)
    # Not direct_passthrough: Response.close must run (it closes the body and fires
    # call_on_close hooks such as the access log) when the server finishes.
    return Response(body, status=status, headers=headers)


def head_object(s3: S3Request) -> Response:
    info = s3.store.head_object(s3.bucket_name, s3.object_key)
    check_read_conditions(s3.request.headers, info.etag, info.last_modified)
    headers = _response_headers(s3, info)
    byte_range = _byte_range(s3)
    status, length = 200, info.size
    if byte_range is not None:
        try:
            start, stop = byte_range.resolve(info.size)
        except InvalidRange as error:
            raise to_s3_error(error) from None
        status, length = 206, stop - start
        headers["Content-Range"] = content_range(start, stop, info.size)
    headers["Content-Length"] = str(length)
    return empty_response(status, headers)


def delete_object(s3: S3Request) -> Response:
    s3.store.delete_object(s3.bucket_name, s3.object_key)
    return empty_response(204)


def _byte_range(s3: S3Request) -> ByteRange | None:
    part = s3.query.get("partNumber")
    if part is None:
        return parse_range(s3.request.headers.get("Range"))
    number = parse_part_number(part)
    # A single-part object is its own part 1. Part boundaries of multipart objects
    # are not kept, so their parts cannot be served (rather than serve the wrong bytes).
    if "-" in s3.store.head_object(s3.bucket_name, s3.object_key).etag:
        raise S3Error("NotImplemented", "partNumber is not supported for multipart objects")
    if number != 1:
        raise S3Error("InvalidPart", "The requested partnumber is not satisfiable")
    return None


def _response_headers(s3: S3Request, info: ObjectInfo) -> dict[str, str]:
    headers = object_headers(info)
    # A checksum describes the whole object: S3 omits it when serving a range.
    ranged = "Range" in s3.request.headers or "partNumber" in s3.query
    if s3.request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and not ranged:
        headers.update(checksum_headers(info))
    for parameter, header in RESPONSE_OVERRIDES.items():
        value = s3.query.get(parameter)
        if value is not None:
            headers[header] = value
    return headers
