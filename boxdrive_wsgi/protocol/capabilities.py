"""501 NotImplemented up front for what the store lacks (its declared Capabilities),
before a body is read or the store is called: a request needing a capability the store
does not have is never half-done, and never emulated non-atomically."""

from __future__ import annotations

from collections.abc import Mapping

from ..stores.capabilities import Capabilities
from .conditionals import MODIFIED_HEADER, SIZE_HEADER
from .errors import S3Error
from .headers import HeaderMap

#: Operations whose If-Match / If-None-Match make a conditional write.
CONDITIONAL_WRITES = frozenset({"PutObject", "CopyObject", "CompleteMultipartUpload"})
#: Operations that are a bucket configuration slot and nothing else.
BUCKET_CONFIG = frozenset(
    {
        "GetBucketTagging",
        "PutBucketTagging",
        "DeleteBucketTagging",
        "GetBucketCors",
        "PutBucketCors",
        "DeleteBucketCors",
        "GetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
        "GetObjectLockConfiguration",
        "PutObjectLockConfiguration",
        "GetBucketEncryption",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
    }
)
#: Operations that only read the version ``?versionId=`` names: a store with
#: ``version_reads`` (read-only versions) serves them; the others need ``versioning``.
VERSION_READS = frozenset(
    {
        "GetObject",
        "HeadObject",
        "GetObjectTagging",
        "GetObjectAcl",
        "GetObjectAttributes",
        "GetObjectRetention",
        "GetObjectLegalHold",
    }
)
#: The version id S3 gives objects of unversioned buckets: served by every store.
NULL_VERSION = "null"
_DELETE_CONDITIONS = ("If-Match", SIZE_HEADER, MODIFIED_HEADER)


def refuse_incapable(
    operation: str,
    headers: HeaderMap,
    capabilities: Capabilities,
    query: Mapping[str, str] | None = None,
) -> None:
    """Raise NotImplemented if ``operation`` with these headers and query parameters
    needs what the store lacks."""
    conditional = "If-Match" in headers or "If-None-Match" in headers
    if operation in CONDITIONAL_WRITES and conditional and not capabilities.conditional_writes:
        raise S3Error("NotImplemented", "This store has no conditional writes")
    conditional = any(name in headers for name in _DELETE_CONDITIONS)
    if operation == "DeleteObject" and conditional and not capabilities.conditional_delete:
        raise S3Error("NotImplemented", "This store has no conditional deletes")
    if operation in BUCKET_CONFIG and not capabilities.bucket_config:
        raise S3Error("NotImplemented", "This store keeps no bucket configuration")
    if not capabilities.versioning:
        version = (query or {}).get("versionId")
        if operation == "PutBucketVersioning":
            raise S3Error("NotImplemented", "This store keeps no object versions")
        if version not in (None, NULL_VERSION):
            if not capabilities.version_reads:
                raise S3Error("NotImplemented", "This store keeps no object versions")
            if operation not in VERSION_READS:
                raise S3Error("NotImplemented", "This store's versions are read-only")
