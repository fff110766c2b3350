"""DeleteObjects: up to 1,000 keys in one request, with per-key results."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import Response

from ..encryption import wiring as sse
from ..protocol import xml
from ..protocol.conditionals import iso_date, make_delete_condition
from ..protocol.documents import DELETE_OBJECTS
from ..protocol.errors import S3Error
from ..protocol.names import MAX_KEY_BYTES
from ..stores.base import (
    DeleteCondition,
    DeleteResult,
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    PreconditionFailed,
    StoreError,
)
from ..web.access import has_policy, may
from ..web.body import read_document
from ..web.context import KeyOutcome, S3Request, xml_response
from ..web.store_errors import to_s3_error
from ..web.versions import store_version
from . import object_lock
from .objects import both, condition_guard, delete_latest_if

MAX_OBJECTS = 1000


def delete_objects(s3: S3Request) -> Response:
    bucket = s3.bucket_name
    root = read_document(s3.request, DELETE_OBJECTS, signer=s3.chunk_signer)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xml.child_text(root, "Quiet") or "").strip().lower() == "true"
    targets: list[tuple[str, str | None, DeleteCondition | None]] = []
    for element in root.findall("Object"):
        key = xml.child_text(element, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        targets.append((key, xml.child_text(element, "VersionId"), _condition(element)))
    if not targets or len(targets) > MAX_OBJECTS:
        raise S3Error("MalformedXML")
    s3.bucket_info(bucket)  # NoSuchBucket unless it exists
    results: list[tuple[str, xml.Value]] = []
    per_key = has_policy(s3)  # a bucket policy may decide key by key
    for key, version, condition in targets:
        entry, outcome = _delete_one(s3, bucket, key, version, condition, per_key)
        s3.key_outcomes.append(outcome)
        if entry[0] == "Error" or not quiet:
            results.append(entry)
    return xml_response("DeleteResult", results)


def _delete_one(
    s3: S3Request,
    bucket: str,
    key: str,
    version: str | None,
    condition: DeleteCondition | None,
    per_key: bool,
) -> tuple[tuple[str, xml.Value], KeyOutcome]:
    """One <Object>: its <Deleted> or <Error> entry, and what the log says of it."""
    if len(key.encode()) > MAX_KEY_BYTES:
        return _error(key, version, "KeyTooLongError", "Your key is too long")
    if per_key and not may(s3, "DeleteObject", key):
        return _error(key, version, "AccessDenied", "Access Denied")
    try:
        result = _delete(s3, bucket, key, version, condition)
    except S3Error as error:  # a malformed version id, object lock refusing, ...
        return _error(key, version, error.code, error.message)
    except (NoSuchKey, NoSuchVersion, PreconditionFailed, NotSupported) as error:
        s3_error = to_s3_error(error)
        return _error(key, version, s3_error.code, s3_error.message)
    except StoreError:
        return _error(key, version, "InternalError", "We encountered an internal error.")
    shown = result.version_id if result.delete_marker else version
    return ("Deleted", _deleted(key, version, result)), KeyOutcome(key, shown)


def _delete(
    s3: S3Request, bucket: str, key: str, raw_version: str | None, condition: DeleteCondition | None
) -> DeleteResult:
    """One <Object>'s delete, as DeleteObject would do it."""
    try:
        version = None if raw_version is None else store_version(s3.store, raw_version)
    except S3Error as error:
        if error.code != "InvalidArgument":
            raise
        # S3 answers a version id that cannot be one as one that does not exist
        raise S3Error("NoSuchVersion") from None
    owner = s3.identity.id  # the owner of a delete marker this adds
    locked = object_lock.delete_guard(s3)  # retention / legal hold of the version removed
    if condition is None:
        return s3.store.delete_object(bucket, key, version_id=version, guard=locked, owner=owner)
    condition = sse.stored_delete_condition(s3, condition, key, version)
    if version is not None:
        guard = both(condition_guard(bucket, key, condition), locked)
        return s3.store.delete_object(bucket, key, version_id=version, guard=guard, owner=owner)
    return delete_latest_if(s3, condition, key)


def _deleted(key: str, version: str | None, result: DeleteResult) -> xml.Children:
    """A <Deleted> entry: the version asked for, and the delete marker made or removed."""
    children: list[tuple[str, xml.Value]] = [("Key", key), ("VersionId", version)]
    if result.delete_marker:
        children += [("DeleteMarker", True), ("DeleteMarkerVersionId", result.version_id)]
    return children


def _condition(element: ET.Element) -> DeleteCondition | None:
    """An <Object>'s <ETag>, <Size>, <LastModifiedTime>: its delete's conditions."""
    etag = xml.child_text(element, "ETag")
    size = xml.child_text(element, "Size")
    modified = xml.child_text(element, "LastModifiedTime")
    if etag is None and size is None and modified is None:
        return None
    moment = None if modified is None else iso_date("LastModifiedTime", modified)
    return make_delete_condition(etag, size, moment)


def _error(
    key: str, version: str | None, code: str, message: str
) -> tuple[tuple[str, xml.Value], KeyOutcome]:
    children: list[tuple[str, xml.Value]] = [("Key", key)]
    if version is not None:
        children.append(("VersionId", version))
    children += [("Code", code), ("Message", message)]
    return ("Error", children), KeyOutcome(key, version, code)
