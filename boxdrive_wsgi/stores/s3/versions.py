"""S3Store's versions: bucket versioning passed through to an upstream that versions.

Only in the 1:1 layout (our bucket ``b`` is upstream bucket ``b``), where a bucket's
versioning is upstream's own: PutBucketVersioning/GetBucketVersioning, version ids
(upstream's, opaque: ``is_version_id``), ``VersionId=`` on reads, copies and deletes,
delete markers, ListObjectVersions. Nothing is cached across requests: every node asks
upstream (the status of a ``head_bucket`` or ``list_buckets`` answer is asked when first
read, ``LazyBucketInfo``: a GET or PUT never reads it; and where a delete's guard needs
it). In the prefix layout every bucket of ours shares one upstream bucket, whose
versioning cannot be set per bucket of ours: the store declares no versioning there.

What upstream cannot give is a store gap, not emulated: a delete marker's owner (the
marker is upstream's, made by its user), attribute updates (tags, ACLs) on a versioned
bucket (a self-copy would make a new version, so NotSupported), and an atomic delete
guard (object lock): it is called right before the upstream delete, with the version
about to go, so a version written between the two is deleted unguarded.
"""

from __future__ import annotations

import contextlib
import re
import string
import uuid
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ..base import (
    BucketNotEmpty,
    DeleteGuard,
    DeleteResult,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    ObjectAttributes,
    ObjectInfo,
    PreconditionFailed,
    VersionIsDeleteMarker,
    VersionPage,
)
from ..model import ENABLED, NULL_VERSION, SUSPENDED
from . import owners, reserved
from .support import error_code, http_status, map_error, strip_etag, utc

if TYPE_CHECKING:
    from .store import S3Store

#: Longest upstream version id accepted (AWS's are 32 characters; RGW's and moto's too).
MAX_VERSION_ID = 1024
_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.~")
#: Upstream's answers for a version id it does not know or cannot parse.
_UNKNOWN_VERSION = ("NoSuchVersion", "InvalidArgument", "400")
#: Where ListObjectVersions' raw order is kept (see ``keep_listing_order``).
ORDER = "BoxdriveVersionOrder"
_ENTRY = re.compile(rb"<(Version|DeleteMarker)>")
UPSTREAM_PAGE = 1000


def is_version_id(value: str) -> bool:
    """Upstream's ids are opaque: any non-empty URL-safe string of bounded length."""
    return 0 < len(value) <= MAX_VERSION_ID and all(c in _ID_CHARS for c in value)


def status(store: S3Store, bucket: str) -> str | None:
    """Upstream's versioning status of ``bucket`` (None: never versioned, or the store
    does not version)."""
    if not store.capabilities.versioning:
        return None
    try:
        found = store.client.get_bucket_versioning(Bucket=bucket).get("Status")
    except Exception as exc:
        raise map_error(exc, bucket) from exc
    return found if found in (ENABLED, SUSPENDED) else None


def set_status(store: S3Store, bucket: str, value: str) -> None:
    if value not in (ENABLED, SUSPENDED):
        raise ValueError(f"versioning status {value!r}")
    if not store.capabilities.versioning:
        raise NotSupported("bucket versioning (prefix layout: one upstream bucket)")
    store.head_bucket(bucket)
    try:
        store.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": value})
    except Exception as exc:
        raise map_error(exc, bucket) from exc


def arguments(version_id: str | None) -> dict[str, str]:
    return {} if version_id is None else {"VersionId": version_id}


def _headers(exc: BaseException) -> Mapping[str, str]:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):  # not an upstream answer (a dropped connection)
        return {}
    headers: Mapping[str, str] = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers


def read_error(
    store: S3Store, exc: BaseException, bucket: str, key: str, version_id: str | None
) -> BaseException:
    """The store error for an upstream read (get, head, copy source) of a version."""
    headers = _headers(exc)
    code = error_code(exc)
    if version_id is not None and (http_status(exc) == 405 or code == "MethodNotAllowed"):
        modified = headers.get("last-modified")
        when = utc(parsedate_to_datetime(modified)) if modified else None
        return VersionIsDeleteMarker(bucket, key, version_id, when)
    if version_id is not None and code in _UNKNOWN_VERSION:
        return _unknown(store, bucket, key, version_id)
    error = store._missing(exc, bucket, key)
    if not isinstance(error, NoSuchKey):
        return error
    if version_id is not None:
        return _unknown(store, bucket, key, version_id)
    if headers.get("x-amz-delete-marker") == "true":
        return NoSuchKey(
            bucket, key, delete_marker=True, version_id=headers.get("x-amz-version-id")
        )
    return error


def _unknown(store: S3Store, bucket: str, key: str, version_id: str) -> BaseException:
    """No such version; "null" of a never-versioned bucket is the object: NoSuchKey."""
    if version_id == NULL_VERSION and status(store, bucket) is None:
        return NoSuchKey(bucket, key)
    return NoSuchVersion(bucket, key, version_id)


def head_null(store: S3Store, bucket: str, key: str) -> Mapping[str, Any]:
    """The null version's headers by GET (moto 5.2 answers 400 to HEAD ?versionId=null);
    the body is not read."""
    try:
        response: Mapping[str, Any] = store.client.get_object(
            Bucket=bucket, Key=key, VersionId=NULL_VERSION
        )
    except Exception as exc:
        raise read_error(store, exc, bucket, key, NULL_VERSION) from exc
    response["Body"].close()
    return {**response, "VersionId": response.get("VersionId") or NULL_VERSION}


def with_latest(store: S3Store, info: ObjectInfo) -> ObjectInfo:
    """``info`` (read by version id) with ``is_latest`` as upstream says now."""
    from dataclasses import replace

    try:
        latest = store._head(info.bucket, info.key)[0].version_id
    except NoSuchKey:
        latest = None
    return replace(info, is_latest=latest == info.version_id)


def guard_delete(
    store: S3Store, bucket: str, key: str, version_id: str | None, guard: DeleteGuard
) -> None:
    """Call ``guard`` with the version a delete would remove for good (not atomic
    upstream: right before the delete). An Enabled bucket's plain delete removes nothing."""
    if version_id is None:
        found = status(store, bucket)
        if found == ENABLED:
            return
        if found == SUSPENDED:
            version_id = NULL_VERSION
    try:
        current = store.head_object(bucket, key, version_id=version_id)
    except (NoSuchKey, NoSuchVersion, VersionIsDeleteMarker):
        return  # nothing, or a marker: no data to protect
    guard(current)


def delete(store: S3Store, bucket: str, key: str, version_id: str | None) -> DeleteResult:
    try:
        response = store.client.delete_object(
            **store.layout.where(bucket, key), **arguments(version_id)
        )
    except Exception as exc:
        if version_id is not None and error_code(exc) in _UNKNOWN_VERSION:
            raise NoSuchVersion(bucket, key, version_id) from exc
        raise map_error(exc, bucket, key) from exc
    if not store.capabilities.versioning:
        return DeleteResult()
    marker = bool(response.get("DeleteMarker"))
    if version_id not in (None, NULL_VERSION):  # RGW 16 names no unknown id it was asked
        return DeleteResult(version_id, marker)
    found = response.get("VersionId")  # none: a never-versioned bucket
    return DeleteResult(str(found), marker) if found else DeleteResult()


def require_versioned_create(store: S3Store, bucket: str) -> None:
    """A create-only PUT (``If-None-Match: *``) to a versioned bucket: NotSupported unless
    upstream applies the condition there too (Ceph 16 ignores it in versioned buckets,
    so the write would silently become a new version). Probed once per store, in the
    bucket's reserved prefix, every version the probe made removed after."""
    if status(store, bucket) is None:
        return
    if store.versioned_create is None:
        store.versioned_create = _probe_versioned_create(store, bucket)
    if not store.versioned_create:
        raise NotSupported("the upstream store ignores If-None-Match in versioned buckets")


def _probe_versioned_create(store: S3Store, bucket: str) -> bool:
    key = f"{owners.PROBE_PREFIX}{uuid.uuid4().hex}"
    client = store.client
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"probe")
        try:
            client.put_object(Bucket=bucket, Key=key, Body=b"probe", IfNoneMatch="*")
        except Exception as exc:
            if isinstance(map_error(exc, bucket), PreconditionFailed):
                return True
            raise
        return False
    except Exception as exc:
        raise map_error(exc, bucket) from exc
    finally:
        with contextlib.suppress(Exception):
            listed = client.list_object_versions(Bucket=bucket, Prefix=key)
            for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
                client.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])


# --------------------------------------------------------------------------- listing


def keep_listing_order(response_dict: Mapping[str, Any], customized_response_dict: dict[str, Any],
                       **_: Any) -> None:  # fmt: skip
    """botocore ``before-parse`` hook: the order of Version and DeleteMarker entries in
    upstream's answer (boto3 parses them into two lists)."""
    body = response_dict.get("body")
    if isinstance(body, bytes):
        customized_response_dict[ORDER] = [m.group(1) for m in _ENTRY.finditer(body)]


def _merged(bucket: str, page: Mapping[str, Any]) -> list[ObjectInfo]:
    versions = iter(page.get("Versions", []))
    markers = iter(page.get("DeleteMarkers", []))
    order: Sequence[bytes] | None = page.get(ORDER)
    if order is None:  # no raw order (a client without the hook): key, then newest first
        entries = [(False, v) for v in page.get("Versions", [])]
        entries += [(True, m) for m in page.get("DeleteMarkers", [])]
        entries.sort(key=lambda e: (e[1]["Key"].encode("utf-8", "surrogatepass"),
                                    -utc(e[1].get("LastModified")).timestamp()))  # fmt: skip
    else:
        entries = [(kind == b"DeleteMarker", next(markers if kind == b"DeleteMarker" else versions))
                   for kind in order]  # fmt: skip
        # S3's order already (AWS, RGW); moto 5.2 sends all versions, then all markers:
        # by key, the latest first, is the most that can be rebuilt there
        entries.sort(key=lambda e: (_utf8(e[1]["Key"]), not e[1].get("IsLatest")))
    return [_entry(bucket, item, marker) for marker, item in entries]


def _entry(bucket: str, item: Mapping[str, Any], marker: bool) -> ObjectInfo:
    return ObjectInfo(
        bucket=bucket,
        key=item["Key"],
        size=0 if marker else int(item.get("Size", 0)),
        etag="" if marker else strip_etag(item.get("ETag")),
        last_modified=utc(item.get("LastModified")),
        attributes=ObjectAttributes(),
        version_id=str(item.get("VersionId") or NULL_VERSION),
        is_latest=bool(item.get("IsLatest")),
        delete_marker=marker,
    )


def list_versions(
    store: S3Store,
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    version_id_marker: str,
    max_keys: int,
) -> VersionPage:
    """One page of upstream's ListObjectVersions, our reserved keys left out (upstream
    pages again until the page is full or the listing ends)."""
    if max_keys <= 0:
        store.head_bucket(bucket)
        return VersionPage([], [], False)
    options: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        options["Delimiter"] = delimiter
    if key_marker:
        options["KeyMarker"] = key_marker
        if version_id_marker:
            options["VersionIdMarker"] = version_id_marker
    entries: list[ObjectInfo] = []
    prefixes: list[str] = []
    truncated = False
    while len(entries) + len(prefixes) < max_keys:
        options["MaxKeys"] = min(UPSTREAM_PAGE, max_keys - len(entries) - len(prefixes))
        try:
            page = store.client.list_object_versions(**options)
        except Exception as exc:
            raise map_error(exc, bucket) from exc
        entries += [e for e in _merged(bucket, page) if not owners.is_reserved(e.key)]
        prefixes += [
            p["Prefix"]
            for p in page.get("CommonPrefixes", [])
            if not reserved.only_reserved(store, bucket, p["Prefix"])
        ]
        truncated = bool(page.get("IsTruncated"))
        if not truncated or not page.get("NextKeyMarker"):
            break
        options["KeyMarker"] = page["NextKeyMarker"]
        options.pop("VersionIdMarker", None)
        if page.get("NextVersionIdMarker"):
            options["VersionIdMarker"] = page["NextVersionIdMarker"]
    if not truncated or not (entries or prefixes):
        return VersionPage(entries, prefixes, truncated, *_upstream_next(options, truncated))
    last_prefix = max(prefixes, key=_utf8) if prefixes else None
    if entries and (last_prefix is None or _utf8(entries[-1].key) > _utf8(last_prefix)):
        return VersionPage(entries, prefixes, True, entries[-1].key, entries[-1].version_id)
    return VersionPage(entries, prefixes, True, last_prefix, None)


def _upstream_next(options: Mapping[str, Any], truncated: bool) -> tuple[str | None, str | None]:
    if not truncated:
        return None, None
    return options.get("KeyMarker"), options.get("VersionIdMarker")


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- buckets


def delete_bucket(store: S3Store, bucket: str) -> None:
    """1:1: refuse while a version or marker of a client key remains; drop our reserved
    keys (every version of them, in a versioned bucket), then the bucket. If upstream
    refuses (an object arrived meanwhile), put the owner record back."""
    record = store._owner_record(bucket)
    if record is owners.GONE:
        raise NoSuchBucket(bucket)
    versioned = status(store, bucket) is not None
    if versioned:
        if store.list_object_versions(bucket, max_keys=1).versions:
            raise BucketNotEmpty(bucket)
    elif store.list_objects(bucket, max_keys=1).objects:
        raise BucketNotEmpty(bucket)
    try:
        if versioned:
            _purge_reserved(store, bucket)
        elif record is not None:
            store.client.delete_object(Bucket=bucket, Key=owners.OWNER_RECORD)
        store.client.delete_bucket(Bucket=bucket)
    except Exception as exc:
        error = map_error(exc, bucket)
        if record is not None and not isinstance(error, NoSuchBucket):
            _restore(store, bucket, record)
        raise error from exc


def _purge_reserved(store: S3Store, bucket: str) -> None:
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=owners.RESERVED_PREFIX):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            store.client.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def _restore(store: S3Store, bucket: str, record: Mapping[str, Any]) -> None:
    # if this fails too, the bucket keeps no owner: admin only, the safe default
    with contextlib.suppress(Exception):
        store.client.put_object(
            Bucket=bucket,
            Key=owners.OWNER_RECORD,
            Body=owners.record_body(owners.record_owner(record), int(record.get("created", 0))),
            ContentType="application/json",
        )
