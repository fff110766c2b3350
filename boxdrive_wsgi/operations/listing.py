"""Listing: ListObjects (v1), ListObjectsV2 and ListObjectVersions.

The first two ride on the store's listing of current objects, the third on its
listing of versions (``list_object_versions``); they differ in how the client says
where to start and how the answer is spelled.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from ..encryption.sse import plain_info
from ..protocol import xml
from ..protocol.errors import S3Error
from ..protocol.headers import quote_etag
from ..protocol.numbers import optional_integer
from ..protocol.tokens import decode_token, encode_token
from ..protocol.versioning import NULL, check_version_id, invalid_version_id
from ..stores.base import ObjectInfo, ObjectPage
from ..web.context import S3Request, xml_response
from .query import argument, key_encoder

MAX_KEYS = 1000


def list_objects(s3: S3Request) -> Response:
    """ListObjects v1 (``list-type=2`` is ListObjectsV2: operations.VARIANTS routes it)."""
    if "list-type" in s3.query:
        raise S3Error("InvalidArgument", "Invalid list-type", extra=argument(s3, "list-type"))
    return _list_v1(s3)


def _list_v1(s3: S3Request) -> Response:
    q = s3.query
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    max_keys = _max_keys(s3)
    encode = key_encoder(s3)
    page = _page(s3, prefix, delimiter, marker, max_keys)
    owner = _owner(s3)
    children: list[tuple[str, xml.Value]] = [
        ("Name", s3.bucket_name),
        # ListObjects v1 echoes Prefix as sent (SDKs do not URL-decode it there).
        ("Prefix", prefix),
        ("Marker", encode(marker)),
        ("MaxKeys", max_keys),
    ]
    if delimiter:
        children.append(("Delimiter", encode(delimiter)))
    children.append(("IsTruncated", page.is_truncated))
    if page.is_truncated and delimiter and page.last is not None:
        children.append(("NextMarker", encode(page.last)))
    children += _entries(page, encode, owner)
    if "encoding-type" in q:
        children.append(("EncodingType", "url"))
    return xml_response("ListBucketResult", children)


def list_objects_v2(s3: S3Request) -> Response:
    q = s3.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    start_after = q.get("start-after", "")
    token = q.get("continuation-token")
    max_keys = _max_keys(s3)
    encode = key_encoder(s3)
    begin = decode_token(token) if token is not None else start_after
    page = _page(s3, prefix, delimiter, begin, max_keys)
    owner = _owner(s3) if q.get("fetch-owner") == "true" else None
    children: list[tuple[str, xml.Value]] = [
        ("Name", s3.bucket_name),
        ("Prefix", encode(prefix)),
    ]
    if "start-after" in q:
        children.append(("StartAfter", encode(start_after)))
    if token is not None:
        children.append(("ContinuationToken", token))
    children.append(("MaxKeys", max_keys))
    if delimiter:
        children.append(("Delimiter", encode(delimiter)))
    children.append(("KeyCount", len(page.objects) + len(page.common_prefixes)))
    children.append(("IsTruncated", page.is_truncated))
    if page.is_truncated and page.last is not None:
        children.append(("NextContinuationToken", encode_token(page.last)))
    children += _entries(page, encode, owner)
    if "encoding-type" in q:
        children.append(("EncodingType", "url"))
    return xml_response("ListBucketResult", children)


def list_versions(s3: S3Request) -> Response:
    """Every version and delete marker, by key then newest first (a store that cannot
    version lists each current object as its ``null`` version)."""
    q = s3.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    version_marker = _version_id_marker(s3, key_marker)
    max_keys = _max_keys(s3)
    encode = key_encoder(s3)
    page = s3.store.list_object_versions(
        s3.bucket_name,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        version_id_marker=version_marker,
        max_keys=max_keys,
    )
    children: list[tuple[str, xml.Value]] = [
        ("Name", s3.bucket_name),
        ("Prefix", encode(prefix)),
        ("KeyMarker", encode(key_marker)),
        ("VersionIdMarker", q.get("version-id-marker", "")),
    ]
    if page.is_truncated and page.next_key_marker is not None:
        children.append(("NextKeyMarker", encode(page.next_key_marker)))
        children.append(("NextVersionIdMarker", page.next_version_id_marker))
    children.append(("MaxKeys", max_keys))
    if delimiter:
        children.append(("Delimiter", encode(delimiter)))
    children.append(("IsTruncated", page.is_truncated))
    owners = _Owners(s3)
    children += [_version(info, encode, owners.xml(info)) for info in page.versions]
    children += [("CommonPrefixes", [("Prefix", encode(p))]) for p in page.common_prefixes]
    if "encoding-type" in q:
        children.append(("EncodingType", "url"))
    return xml_response("ListVersionsResult", children)


def _version_id_marker(s3: S3Request, key_marker: str) -> str:
    """version-id-marker, checked as S3 does: only with a key-marker, and a version id
    of the store's (or ``null``); "" when absent."""
    raw = s3.query.get("version-id-marker")
    if raw is None or raw == "":
        return ""
    if not key_marker:
        raise S3Error(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            extra=argument(s3, "version-id-marker"),
        )
    check_version_id(raw, "version-id-marker")
    if not s3.store.is_version_id(raw):  # not an id this store makes
        raise invalid_version_id(raw, "version-id-marker")
    return raw


class _Owners:
    """Each version's Owner element: its writer (a marker's: who deleted), else the
    bucket's owner, as its ACL names it; rendered once per owner, not per version."""

    def __init__(self, s3: S3Request) -> None:
        self._s3 = s3
        self._bucket_owner = s3.bucket_owner() or s3.identity.id
        self._rendered: dict[str, str] = {}

    def xml(self, info: ObjectInfo) -> str:
        owner_id = info.attributes.owner or self._bucket_owner
        rendered = self._rendered.get(owner_id)
        if rendered is None:
            owner = xml.owner(owner_id, self._s3.display_name(owner_id))
            rendered = self._rendered[owner_id] = xml.fragment([("Owner", owner)])
        return rendered


def _version(
    info: ObjectInfo, encode: Callable[[str], str], owner_xml: str
) -> tuple[str, xml.Value]:
    """A Version or DeleteMarker entry: one string per entry (a page has a thousand)."""
    head = (
        f"<Key>{xml.escape(encode(info.key))}</Key>"
        f"<VersionId>{xml.escape(info.version_id or NULL)}</VersionId>"
        f"<IsLatest>{'true' if info.is_latest else 'false'}</IsLatest>"
        f"<LastModified>{xml.iso8601(info.last_modified)}</LastModified>"
    )
    if info.delete_marker:
        return "DeleteMarker", xml.Fragment(head + owner_xml)
    info = plain_info(info)  # an encrypted object's size and ETag as HEAD shows them
    return "Version", xml.Fragment(
        f"{head}<ETag>{xml.escape(quote_etag(info.etag))}</ETag><Size>{info.size}</Size>"
        f"{owner_xml}<StorageClass>STANDARD</StorageClass>"
    )


def _page(
    s3: S3Request, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> ObjectPage:
    return s3.store.list_objects(
        s3.bucket_name,
        prefix=prefix,
        delimiter=delimiter,
        start_after=start_after,
        max_keys=max_keys,
    )


def _entries(
    page: ObjectPage, encode: Callable[[str], str], owner: xml.Children | None
) -> list[tuple[str, xml.Value]]:
    owner_xml = xml.fragment([("Owner", owner)])  # once per page, not per key
    entries: list[tuple[str, xml.Value]] = [
        ("Contents", _content(o, encode, owner_xml)) for o in page.objects
    ]
    entries += [("CommonPrefixes", [("Prefix", encode(p))]) for p in page.common_prefixes]
    return entries


def _content(info: ObjectInfo, encode: Callable[[str], str], owner_xml: str) -> xml.Fragment:
    """A Contents entry as xml.render spells [("Key", ...), ("LastModified", ...),
    ("ETag", ...), ("Size", ...), ("Owner", ...), ("StorageClass", "STANDARD")]:
    one string per key, a page has a thousand (keys and ETags are never empty)."""
    info = plain_info(info)  # an encrypted object's size and ETag as HEAD shows them
    return xml.Fragment(
        f"<Key>{xml.escape(encode(info.key))}</Key>"
        f"<LastModified>{xml.iso8601(info.last_modified)}</LastModified>"
        f"<ETag>{xml.escape(quote_etag(info.etag))}</ETag><Size>{info.size}</Size>"
        f"{owner_xml}<StorageClass>STANDARD</StorageClass>"
    )


def _owner(s3: S3Request) -> xml.Children:
    owner_id = s3.bucket_owner() or s3.identity.id
    return xml.owner(owner_id, s3.display_name(owner_id))


def _max_keys(s3: S3Request) -> int:
    return min(optional_integer(s3.query.get("max-keys"), "max-keys", MAX_KEYS), MAX_KEYS)
