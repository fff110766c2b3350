"""GetObjectAttributes: GET /bucket/key?attributes with x-amz-object-attributes.

What HeadObject and ListParts tell, in one document: ETag (unquoted), Checksum,
ObjectParts (for multipart objects: the part count, and each part's number, size and
checksum when the upload had a checksum algorithm, as S3 lists them), StorageClass,
ObjectSize.
"""

from __future__ import annotations

from flask import Response
from werkzeug.http import http_date

from ..encryption import wiring as sse
from ..protocol import xml
from ..protocol.errors import S3Error
from ..protocol.headers import checksum_type_of
from ..protocol.multipart_checksums import COMPOSITE, without_part_count
from ..protocol.numbers import parse_integer
from ..protocol.parts import known_parts, part_count, parts_unknown_error
from ..protocol.versioning import version_headers
from ..stores.base import ObjectInfo
from ..web.access import check_object_read
from ..web.context import S3Request, xml_response
from ..web.versions import version_of_request
from .multipart import CHECKSUM_ELEMENTS, MAX_LISTED

ATTRIBUTES_HEADER = "x-amz-object-attributes"
ATTRIBUTE_NAMES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS_HEADER = "x-amz-max-parts"
MARKER_HEADER = "x-amz-part-number-marker"


def get_object_attributes(s3: S3Request) -> Response:
    wanted = _wanted(s3.request.headers.get(ATTRIBUTES_HEADER, ""))
    max_parts = min(_integer(s3, MAX_PARTS_HEADER, MAX_LISTED), MAX_LISTED)
    marker = _integer(s3, MARKER_HEADER, 0)
    version = version_of_request(s3)
    stored = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
    check_object_read(s3, stored)
    info, _, _ = sse.read_headers(s3, stored)
    children: list[tuple[str, xml.Value]] = []
    if "ETag" in wanted:
        children.append(("ETag", info.etag))
    if "Checksum" in wanted and info.attributes.checksums:
        children.append(("Checksum", _checksum(info)))
    if "ObjectParts" in wanted and part_count(info) is not None:
        children.append(("ObjectParts", _object_parts(info, marker, max_parts)))
    if "StorageClass" in wanted:
        children.append(("StorageClass", "STANDARD"))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", info.size))
    response = xml_response("GetObjectAttributesResponse", children)
    response.headers["Last-Modified"] = http_date(info.last_modified)
    response.headers.update(version_headers(info.version_id))
    return response


def _wanted(header: str) -> set[str]:
    names = {name.strip() for name in header.split(",") if name.strip()}
    if not names or not names <= set(ATTRIBUTE_NAMES):
        raise S3Error("InvalidArgument", "Invalid attribute name specified.")
    return names


def _integer(s3: S3Request, header: str, default: int) -> int:
    raw = s3.request.headers.get(header)
    if raw is None:
        return default
    return parse_integer(raw.strip(), header)


def _checksum(info: ObjectInfo) -> xml.Children:
    kind = checksum_type_of(info.attributes)
    children: list[tuple[str, xml.Value]] = [
        # S3 shows a composite checksum here without its "-N" part count.
        (CHECKSUM_ELEMENTS[a], without_part_count(v) if kind == COMPOSITE else v)
        for a, v in info.attributes.checksums.items()
        if a in CHECKSUM_ELEMENTS
    ]
    children.append(("ChecksumType", kind))
    return children


def _object_parts(info: ObjectInfo, marker: int, max_parts: int) -> xml.Children:
    count = part_count(info)
    children: list[tuple[str, xml.Value]] = [("PartsCount", count)]
    if not info.attributes.checksums:
        return children  # S3 lists parts only for uploads made with a checksum
    parts = known_parts(info)
    if parts is None:
        raise parts_unknown_error()
    after = [p for p in parts if p.part_number > marker]
    page, truncated = after[:max_parts], len(after) > max_parts
    children += [
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", (page[-1].part_number if page else marker) if truncated else None),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
    ]
    for part in page:
        entry: list[tuple[str, xml.Value]] = [
            (CHECKSUM_ELEMENTS[a], v)
            for a, v in part.checksums.items()
            if a in CHECKSUM_ELEMENTS and a in info.attributes.checksums
        ]
        entry += [("PartNumber", part.part_number), ("Size", part.size)]
        children.append(("Part", entry))
    return children
