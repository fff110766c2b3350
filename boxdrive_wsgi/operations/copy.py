"""CopyObject: PUT with x-amz-copy-source."""

from __future__ import annotations

from dataclasses import replace

from flask import Response

from ..encryption import wiring as sse
from ..encryption.sse import shown_etag
from ..protocol.conditionals import write_conditions
from ..protocol.copy_source import check_copy_source_conditions, parse_copy_source
from ..protocol.errors import S3Error
from ..protocol.headers import attributes_from_headers
from ..protocol.names import check_key
from ..protocol.tagging import parse_tagging_header
from ..protocol.versioning import copy_source_version_headers, written_version_headers
from ..stores.base import ObjectAttributes, ObjectInfo
from ..web.access import check_object_read, object_owner
from ..web.context import S3Request, xml_response
from ..web.versions import copy_source_version
from . import object_lock
from .objects import STORAGE_CLASSES, new_object_acl

DIRECTIVES = ("COPY", "REPLACE")
SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


def _directive(s3: S3Request, header: str, what: str) -> str:
    value = s3.request.headers.get(header, "COPY")
    if value not in DIRECTIVES:
        raise S3Error(
            "InvalidArgument",
            f"Unknown {what} directive.",
            extra={"ArgumentName": header, "ArgumentValue": value},
        )
    return value


def copy_object(s3: S3Request) -> Response:
    bucket, key = s3.bucket_name, s3.object_key
    check_key(key)
    headers = s3.request.headers
    source = parse_copy_source(headers["x-amz-copy-source"])
    acl = new_object_acl(s3)  # the copy's own ACL (default private), never the source's
    storage_class = headers.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": storage_class})
    metadata = _directive(s3, "x-amz-metadata-directive", "metadata")
    tagging = _directive(s3, "x-amz-tagging-directive", "tagging")
    # Onto itself only with a change: new metadata or (as in S3) a storage class; or
    # from a named version (how S3 restores an older version: it becomes the latest).
    onto_itself = (source.bucket, source.key) == (bucket, key) and source.version_id is None
    if onto_itself and metadata != "REPLACE" and not storage_class and not sse.explicit_request(s3):
        raise S3Error("InvalidRequest", SELF_COPY)
    source_version = copy_source_version(s3.store, source)
    reading = s3.check_copy_source(source.bucket, source.key, source_version)
    write_options = sse.stored_write_options(s3, write_conditions(headers))
    replaced = attributes_from_headers(headers) if metadata == "REPLACE" else None
    new_tags = parse_tagging_header(headers.get("x-amz-tagging")) if tagging == "REPLACE" else None

    # The copy's lock: its own headers or the destination's default, never the source's.
    locked = object_lock.write_lock(s3, ObjectAttributes(), put=False)
    copied: list[str | None] = []  # the version id of the source copied

    def derive(src: ObjectInfo) -> ObjectAttributes:
        # Runs on the exact source version being copied: the conditions hold for it,
        # and the bucket owner may read it only if it is its own or its ACL says so.
        check_object_read(reading, src)
        check_copy_source_conditions(headers, src.etag, src.last_modified)
        copied[:] = [src.version_id]
        chosen = replaced or src.attributes
        return replace(
            locked,
            content_type=chosen.content_type,
            metadata=chosen.metadata,
            headers=chosen.headers,
            checksums=src.attributes.checksums,  # same bytes, same checksums
            checksum_type=src.attributes.checksum_type,
            # A store that keeps the source's multipart ETag keeps its parts too (one
            # that makes a new single-part object drops them: ObjectStore.copy_object).
            parts=src.attributes.parts,
            tags=src.attributes.tags if new_tags is None else new_tags,
            acl=acl,
            owner=object_owner(s3),
        )

    through = sse.copy_through(
        s3, source.bucket, source.key, derive, write_options, source_version_id=source_version
    )
    if through is None:
        info = s3.store.copy_object(
            source.bucket,
            source.key,
            bucket,
            key,
            attributes=derive,
            options=write_options,
            source_version_id=source_version,
        )
    else:
        info, sse_headers = through
    response = xml_response(
        "CopyObjectResult",
        [("LastModified", info.last_modified), ("ETag", f'"{shown_etag(info)}"')],
    )
    if through is not None:
        response.headers.update(sse_headers)
    response.headers.update(written_version_headers(info.version_id))
    response.headers.update(copy_source_version_headers(copied[0] if copied else None))
    return response
