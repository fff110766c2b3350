"""The dispatch table: (method, target, sub-resource) -> S3 operation.

``target`` is ``service``, ``bucket`` or ``object``. The sub-resource is the
first query parameter that names one (``?location``, ``?versions``, ...).
A known sub-resource with no entry answers 501 NotImplemented, as S3 does for
features a deployment lacks; an unknown method answers 405.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Response

from ..context import S3Request
from ..protocol.errors import S3Error
from . import batch, buckets, listing, objects

Handler = Callable[[S3Request], Response]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler


#: Sub-resources S3 defines; any of these in the query selects a different operation.
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location",
        "logging", "metadataConfiguration", "metrics", "notification", "object-lock",
        "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication",
        "requestPayment", "restore", "retention", "select", "tagging", "torrent",
        "uploadId", "uploads", "versioning", "versions", "website",
    }
)  # fmt: skip

TABLE: dict[tuple[str, str, str | None], Operation] = {
    ("GET", "service", None): Operation("ListBuckets", buckets.list_buckets),
    ("PUT", "bucket", None): Operation("CreateBucket", buckets.create_bucket),
    ("HEAD", "bucket", None): Operation("HeadBucket", buckets.head_bucket),
    ("DELETE", "bucket", None): Operation("DeleteBucket", buckets.delete_bucket),
    ("GET", "bucket", "location"): Operation("GetBucketLocation", buckets.get_location),
    ("GET", "bucket", None): Operation("ListObjects", listing.list_objects),
    ("GET", "bucket", "versions"): Operation("ListObjectVersions", listing.list_versions),
    ("POST", "bucket", "delete"): Operation("DeleteObjects", batch.delete_objects),
    ("PUT", "object", None): Operation("PutObject", objects.put_object),
    ("GET", "object", None): Operation("GetObject", objects.get_object),
    ("HEAD", "object", None): Operation("HeadObject", objects.head_object),
    ("DELETE", "object", None): Operation("DeleteObject", objects.delete_object),
}


def _unsupported(message: str, code: str) -> Operation:
    def handler(s3: S3Request) -> Response:
        raise S3Error(code, message)

    return Operation("Unsupported", handler)


def resolve(
    method: str, bucket: str | None, key: str | None, query: Mapping[str, str]
) -> Operation:
    target = "service" if bucket is None else "bucket" if key is None else "object"
    subresource = next((name for name in query if name in SUBRESOURCES), None)
    operation = TABLE.get((method, target, subresource))
    if operation is not None:
        return operation
    if subresource is not None:
        return _unsupported(
            f"{method} ?{subresource} on a {target} is not implemented", "NotImplemented"
        )
    return _unsupported(f"{method} is not allowed on a {target}", "MethodNotAllowed")
