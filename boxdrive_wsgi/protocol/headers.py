"""Object headers: what a PUT carries into ObjectAttributes and what a GET/HEAD
answers from ObjectInfo. Pure functions over header mappings."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import Headers
from werkzeug.http import http_date

from ..stores.base import ObjectAttributes, ObjectInfo
from .errors import S3Error
from .tagging import parse_tagging_header

#: Request headers as WSGI frameworks hand them, or a plain mapping in tests.
HeaderMap = Headers | Mapping[str, str]

#: Standard content headers S3 stores with an object and returns on GET/HEAD.
CONTENT_HEADERS = (
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)
META_PREFIX = "x-amz-meta-"
#: S3 limits user metadata (names + values, UTF-8) to 2 KiB.
MAX_METADATA_BYTES = 2048

#: GetObject query parameters that override response headers.
RESPONSE_OVERRIDES = {
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
    "response-content-language": "Content-Language",
    "response-content-type": "Content-Type",
    "response-expires": "Expires",
}


def decode_header(value: str) -> str:
    """WSGI hands header values as latin-1; clients send UTF-8 metadata bytes."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def encode_header(value: str) -> str:
    """The inverse of decode_header, for values WSGI must carry as latin-1."""
    return value.encode("utf-8").decode("latin-1")


def attributes_from_headers(headers: HeaderMap) -> ObjectAttributes:
    metadata: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(META_PREFIX):
            meta_name = lower[len(META_PREFIX) :]
            meta_value = decode_header(value).strip()
            metadata[meta_name] = meta_value
            size += len(meta_name.encode()) + len(meta_value.encode())
    if size > MAX_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_METADATA_BYTES)},
        )
    content = {name: decode_header(headers[name]) for name in CONTENT_HEADERS if name in headers}
    # Content-Encoding "aws-chunked" is transport framing, not a property of the object.
    if "Content-Encoding" in content:
        codings = [c.strip() for c in content["Content-Encoding"].split(",")]
        kept = [c for c in codings if c and c.lower() != "aws-chunked"]
        if kept:
            content["Content-Encoding"] = ", ".join(kept)
        else:
            del content["Content-Encoding"]
    return ObjectAttributes(
        content_type=headers.get("Content-Type") or None,
        metadata=metadata,
        headers=content,
        tags=parse_tagging_header(headers.get("x-amz-tagging")),
    )


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def object_headers(info: ObjectInfo) -> dict[str, str]:
    """Headers describing an object on GET and HEAD."""
    headers = {
        "ETag": quote_etag(info.etag),
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.attributes.content_type or "binary/octet-stream",
        "Accept-Ranges": "bytes",
    }
    for name, value in info.attributes.headers.items():
        headers[name] = encode_header(value)
    for name, value in info.attributes.metadata.items():
        headers[META_PREFIX + name] = encode_header(value)
    if info.attributes.tags:
        headers["x-amz-tagging-count"] = str(len(info.attributes.tags))
    return headers


def checksum_headers(info: ObjectInfo) -> dict[str, str]:
    """x-amz-checksum-* headers for the checksums stored with an object, and
    x-amz-checksum-type (COMPOSITE for a checksum of part checksums)."""
    headers = {
        f"x-amz-checksum-{algorithm.lower()}": value
        for algorithm, value in info.attributes.checksums.items()
    }
    if headers:
        headers["x-amz-checksum-type"] = checksum_type_of(info.attributes)
    return headers


def checksum_type_of(attributes: ObjectAttributes) -> str:
    """COMPOSITE or FULL_OBJECT; a store that did not keep the type still kept the value,
    and a composite value is the one with a ``-N`` part count (base64 has no ``-``)."""
    if attributes.checksum_type:
        return attributes.checksum_type
    composite = any("-" in value for value in attributes.checksums.values())
    return "COMPOSITE" if composite else "FULL_OBJECT"
