"""The dispatch table: (method, target, sub-resource) -> S3 operation.

``target`` is ``service``, ``bucket`` or ``object``. The sub-resource is the
first query parameter that names one (``?location``, ``?versions``, ...).
A known sub-resource with no entry answers 501 NotImplemented, as S3 does for
features a deployment lacks; an unknown method answers 405. VARIANTS name the
operations a query parameter or header selects within one entry (ListObjectsV2 by
``list-type=2``, CopyObject by ``x-amz-copy-source``), so spans, logs, metrics and
the authorize hook see the operation S3 would name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Response

from ..protocol.errors import S3Error
from ..protocol.headers import HeaderMap
from ..web.context import S3Request
from . import (
    acl,
    attributes,
    batch,
    buckets,
    copy,
    cors,
    encryption,
    lifecycle,
    listing,
    logging,
    multipart,
    object_lock,
    objects,
    policy,
    post_object,
    public_access,
    tagging,
    versioning,
)

Handler = Callable[[S3Request], Response]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler
    #: The operation authenticates the request itself (POST Object, by its signed
    #: policy) or needs no authentication (a CORS preflight, as in S3): the blueprint
    #: skips header/query authentication and the access check for it.
    self_authenticating: bool = False


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
    ("GET", "bucket", "uploads"): Operation(
        "ListMultipartUploads", multipart.list_multipart_uploads
    ),
    ("POST", "object", "uploads"): Operation(
        "CreateMultipartUpload", multipart.create_multipart_upload
    ),
    ("PUT", "object", "uploadId"): Operation("UploadPart", multipart.upload_part),
    ("POST", "object", "uploadId"): Operation(
        "CompleteMultipartUpload", multipart.complete_multipart_upload
    ),
    ("DELETE", "object", "uploadId"): Operation(
        "AbortMultipartUpload", multipart.abort_multipart_upload
    ),
    ("GET", "object", "uploadId"): Operation("ListParts", multipart.list_parts),
    ("GET", "object", "attributes"): Operation(
        "GetObjectAttributes", attributes.get_object_attributes
    ),
}


# Tagging, CORS, ACLs, versioning status, bucket policies, public access block and
# ownership controls (operations/tagging, cors, acl, policy, public_access).
TABLE.update(
    {
        ("GET", "object", "tagging"): Operation("GetObjectTagging", tagging.get_object_tagging),
        ("PUT", "object", "tagging"): Operation("PutObjectTagging", tagging.put_object_tagging),
        ("DELETE", "object", "tagging"): Operation(
            "DeleteObjectTagging", tagging.delete_object_tagging
        ),
        ("GET", "bucket", "tagging"): Operation("GetBucketTagging", tagging.get_bucket_tagging),
        ("PUT", "bucket", "tagging"): Operation("PutBucketTagging", tagging.put_bucket_tagging),
        ("DELETE", "bucket", "tagging"): Operation(
            "DeleteBucketTagging", tagging.delete_bucket_tagging
        ),
        ("GET", "bucket", "cors"): Operation("GetBucketCors", cors.get_bucket_cors),
        ("PUT", "bucket", "cors"): Operation("PutBucketCors", cors.put_bucket_cors),
        ("DELETE", "bucket", "cors"): Operation("DeleteBucketCors", cors.delete_bucket_cors),
        ("GET", "bucket", "encryption"): Operation(
            "GetBucketEncryption", encryption.get_bucket_encryption
        ),
        ("PUT", "bucket", "encryption"): Operation(
            "PutBucketEncryption", encryption.put_bucket_encryption
        ),
        ("DELETE", "bucket", "encryption"): Operation(
            "DeleteBucketEncryption", encryption.delete_bucket_encryption
        ),
        ("OPTIONS", "bucket", None): Operation("PreflightCors", cors.preflight, True),
        ("OPTIONS", "object", None): Operation("PreflightCors", cors.preflight, True),
        ("GET", "bucket", "acl"): Operation("GetBucketAcl", acl.get_bucket_acl),
        ("PUT", "bucket", "acl"): Operation("PutBucketAcl", acl.put_bucket_acl),
        ("GET", "object", "acl"): Operation("GetObjectAcl", acl.get_object_acl),
        ("PUT", "object", "acl"): Operation("PutObjectAcl", acl.put_object_acl),
        ("GET", "bucket", "versioning"): Operation(
            "GetBucketVersioning", versioning.get_bucket_versioning
        ),
        ("PUT", "bucket", "versioning"): Operation(
            "PutBucketVersioning", versioning.put_bucket_versioning
        ),
        ("GET", "bucket", "policy"): Operation("GetBucketPolicy", policy.get_bucket_policy),
        ("PUT", "bucket", "policy"): Operation("PutBucketPolicy", policy.put_bucket_policy),
        ("DELETE", "bucket", "policy"): Operation(
            "DeleteBucketPolicy", policy.delete_bucket_policy
        ),
        ("GET", "bucket", "policyStatus"): Operation(
            "GetBucketPolicyStatus", policy.get_bucket_policy_status
        ),
        ("GET", "bucket", "publicAccessBlock"): Operation(
            "GetPublicAccessBlock", public_access.get_public_access_block
        ),
        ("PUT", "bucket", "publicAccessBlock"): Operation(
            "PutPublicAccessBlock", public_access.put_public_access_block
        ),
        ("DELETE", "bucket", "publicAccessBlock"): Operation(
            "DeletePublicAccessBlock", public_access.delete_public_access_block
        ),
        ("GET", "bucket", "ownershipControls"): Operation(
            "GetBucketOwnershipControls", public_access.get_bucket_ownership_controls
        ),
        ("PUT", "bucket", "ownershipControls"): Operation(
            "PutBucketOwnershipControls", public_access.put_bucket_ownership_controls
        ),
        ("DELETE", "bucket", "ownershipControls"): Operation(
            "DeleteBucketOwnershipControls", public_access.delete_bucket_ownership_controls
        ),
    }
)

# Lifecycle rules (operations/lifecycle.py; the sweeper is boxdrive_wsgi/lifecycle/).
TABLE.update(
    {
        ("GET", "bucket", "lifecycle"): Operation(
            "GetBucketLifecycleConfiguration", lifecycle.get_bucket_lifecycle
        ),
        ("PUT", "bucket", "lifecycle"): Operation(
            "PutBucketLifecycleConfiguration", lifecycle.put_bucket_lifecycle
        ),
        ("DELETE", "bucket", "lifecycle"): Operation(
            "DeleteBucketLifecycle", lifecycle.delete_bucket_lifecycle
        ),
    }
)

# Server access logging (operations/logging.py; delivery: observability/log_delivery.py).
TABLE.update(
    {
        ("GET", "bucket", "logging"): Operation("GetBucketLogging", logging.get_bucket_logging),
        ("PUT", "bucket", "logging"): Operation("PutBucketLogging", logging.put_bucket_logging),
    }
)

# Object lock (operations/object_lock.py).
TABLE.update(
    {
        ("GET", "bucket", "object-lock"): Operation(
            "GetObjectLockConfiguration", object_lock.get_object_lock_configuration
        ),
        ("PUT", "bucket", "object-lock"): Operation(
            "PutObjectLockConfiguration", object_lock.put_object_lock_configuration
        ),
        ("GET", "object", "retention"): Operation(
            "GetObjectRetention", object_lock.get_object_retention
        ),
        ("PUT", "object", "retention"): Operation(
            "PutObjectRetention", object_lock.put_object_retention
        ),
        ("GET", "object", "legal-hold"): Operation(
            "GetObjectLegalHold", object_lock.get_object_legal_hold
        ),
        ("PUT", "object", "legal-hold"): Operation(
            "PutObjectLegalHold", object_lock.put_object_legal_hold
        ),
    }
)

#: Given the query and the headers: does the request name this variant?
Selector = Callable[[Mapping[str, str], HeaderMap], bool]

#: Operations a query parameter or request header selects instead of the table's entry
#: for the same (method, target, sub-resource): the first whose selector holds wins.
VARIANTS: dict[tuple[str, str, str | None], list[tuple[Selector, Operation]]] = {
    ("GET", "bucket", None): [
        (
            lambda q, h: q.get("list-type") == "2",
            Operation("ListObjectsV2", listing.list_objects_v2),
        ),
    ],
    ("PUT", "object", None): [
        (lambda q, h: "x-amz-copy-source" in h, Operation("CopyObject", copy.copy_object)),
    ],
    ("POST", "bucket", None): [
        (
            lambda q, h: post_object.is_form(h),
            Operation("PostObject", post_object.post_object, True),
        ),
    ],
}


def _unsupported(message: str, code: str) -> Operation:
    def handler(s3: S3Request) -> Response:
        raise S3Error(code, message)

    return Operation("Unsupported", handler)


def resolve(
    method: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, str],
    headers: HeaderMap | None = None,
) -> Operation:
    """The operation for a request; ``query`` and ``headers`` (case-insensitive, e.g.
    Werkzeug's) select VARIANTS such as ListObjectsV2 and CopyObject."""
    target = "service" if bucket is None else "bucket" if key is None else "object"
    subresource = next((name for name in query if name in SUBRESOURCES), None)
    for selects, variant in VARIANTS.get((method, target, subresource), ()):
        if selects(query, headers if headers is not None else {}):
            return variant
    operation = TABLE.get((method, target, subresource))
    if operation is not None:
        return operation
    if subresource is not None:
        return _unsupported(
            f"{method} ?{subresource} on a {target} is not implemented", "NotImplemented"
        )
    return _unsupported(f"{method} is not allowed on a {target}", "MethodNotAllowed")
