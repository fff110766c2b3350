"""DeleteObjects: up to 1,000 keys in one request, with per-key results."""

from __future__ import annotations

from flask import Response

from ..body import read_document
from ..context import S3Request, xml_response
from ..protocol import xml
from ..protocol.documents import DELETE_OBJECTS
from ..protocol.errors import S3Error
from ..protocol.names import MAX_KEY_BYTES
from ..stores.base import StoreError

MAX_OBJECTS = 1000


def delete_objects(s3: S3Request) -> Response:
    bucket = s3.bucket_name
    root = read_document(s3.request, DELETE_OBJECTS, signer=s3.chunk_signer)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xml.child_text(root, "Quiet") or "").strip().lower() == "true"
    targets: list[tuple[str, str | None]] = []
    for element in root.findall("Object"):
        key = xml.child_text(element, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        targets.append((key, xml.child_text(element, "VersionId")))
    if not targets or len(targets) > MAX_OBJECTS:
        raise S3Error("MalformedXML")
    s3.store.head_bucket(bucket)
    results: list[tuple[str, xml.Value]] = []
    for key, version in targets:
        version_element = [("VersionId", version)] if version is not None else []
        if version not in (None, "null"):
            results.append(
                _error(key, version, "NoSuchVersion", "The specified version does not exist.")
            )
            continue
        if len(key.encode()) > MAX_KEY_BYTES:
            results.append(_error(key, version, "KeyTooLongError", "Your key is too long"))
            continue
        try:
            s3.store.delete_object(bucket, key)
        except StoreError:
            results.append(
                _error(key, version, "InternalError", "We encountered an internal error.")
            )
            continue
        if not quiet:
            results.append(("Deleted", [("Key", key), *version_element]))
    return xml_response("DeleteResult", results)


def _error(key: str, version: str | None, code: str, message: str) -> tuple[str, xml.Value]:
    children: list[tuple[str, xml.Value]] = [("Key", key)]
    if version is not None:
        children.append(("VersionId", version))
    children += [("Code", code), ("Message", message)]
    return ("Error", children)
