"""Map store exceptions to S3 errors: stores never speak HTTP."""

from __future__ import annotations

import logging

from werkzeug.http import http_date

from ..protocol.errors import S3Error
from ..protocol.versioning import version_headers
from ..stores import base

log = logging.getLogger(__name__)

#: Retry-After (seconds) of a 503 when the backend did not say how long to wait.
DEFAULT_RETRY_AFTER = 1


def to_s3_error(error: base.StoreError, resource: str | None = None) -> S3Error:
    match error:
        case base.NoSuchBucket():
            return S3Error("NoSuchBucket", resource=resource, extra={"BucketName": error.bucket})
        case base.NoSuchKey():
            # the latest version is a delete marker: S3 says so, and names the marker
            marker = version_headers(error.version_id, True) if error.delete_marker else None
            return S3Error("NoSuchKey", resource=resource, extra={"Key": error.key}, headers=marker)
        case base.NoSuchVersion():
            return S3Error(
                "NoSuchVersion",
                resource=resource,
                extra={"Key": error.key, "VersionId": error.version_id},
            )
        case base.VersionIsDeleteMarker():
            headers = version_headers(error.version_id, True)
            if error.last_modified is not None:
                headers["Last-Modified"] = http_date(error.last_modified)
            return S3Error(
                "MethodNotAllowed",
                resource=resource,
                extra={"ResourceType": "DeleteMarker"},
                headers=headers,
            )
        case base.BucketAlreadyExists():
            return S3Error("BucketAlreadyExists", resource=resource)
        case base.BucketNotEmpty():
            return S3Error("BucketNotEmpty", resource=resource, extra={"BucketName": error.bucket})
        case base.PreconditionFailed():
            return S3Error("PreconditionFailed", resource=resource, extra={"Condition": "If-Match"})
        case base.InvalidRange():
            return S3Error(
                "InvalidRange",
                resource=resource,
                extra={"ActualObjectSize": str(error.size)},
                headers={"Content-Range": f"bytes */{error.size}"},
            )
        case base.IncompleteBody():
            return S3Error("IncompleteBody", resource=resource)
        case base.NoSuchUpload():
            return S3Error("NoSuchUpload", resource=resource, extra={"UploadId": error.upload_id})
        case base.InvalidPart():
            return S3Error(
                "InvalidPart", resource=resource, extra={"PartNumber": str(error.part_number)}
            )
        case base.InvalidPartOrder():
            return S3Error("InvalidPartOrder", resource=resource)
        case base.EntityTooSmall():
            return S3Error(
                "EntityTooSmall",
                resource=resource,
                extra={
                    "ProposedSize": str(error.size),
                    "MinSizeAllowed": str(error.minimum),
                    "PartNumber": str(error.part_number),
                },
            )
        case base.NotSupported():
            return S3Error("NotImplemented", str(error) or None, resource=resource)
        case base.EntityTooLarge():
            return S3Error(
                "EntityTooLarge", resource=resource, extra={"MaxSizeAllowed": str(error.maximum)}
            )
        case base.StoreUnavailable():
            # one line per answered error, with what the backend said (never a secret)
            log.warning("store backend unavailable: %s", error)
            retry_after = error.retry_after or DEFAULT_RETRY_AFTER
            return S3Error(
                "SlowDown" if error.throttled else "ServiceUnavailable",
                resource=resource,
                headers={"Retry-After": str(retry_after)},
            )
        case base.BackendError():
            log.error("store backend error: %s", error)
            return S3Error("BadGateway", resource=resource)
        case base.InsufficientStorage():
            return S3Error("InsufficientStorage", resource=resource)
    return S3Error("InternalError", resource=resource)
