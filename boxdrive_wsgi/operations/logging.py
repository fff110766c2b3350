"""Server access logging: Put/GetBucketLogging.

The configuration is ``protocol.logging_status``; the records and their delivery are
``observability.server_log`` and ``observability.log_delivery``. Only the bucket's
owner may set it (S3: "you must be the bucket owner"). The target must exist and let
the logging service write, as S3 checks it: the target's bucket policy allows the
service principal ``logging.s3.amazonaws.com`` ``s3:PutObject`` on
``arn:aws:s3:::<target>/<prefix>`` (with ``aws:SourceArn`` the source bucket's ARN and
``aws:SourceAccount`` its owner), or — unless the target disables ACLs — its ACL grants
the LogDelivery group WRITE. Otherwise InvalidTargetBucketForLogging.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from email.utils import formatdate

from flask import Response

from ..auth.identity import ANONYMOUS, acts_as_owner
from ..observability.log_delivery import Destination
from ..policy import Decision, RequestContext, evaluate
from ..policy.actions import resource_arn
from ..policy.evaluate import service_principal
from ..protocol import acl
from ..protocol.acl import AccessControlPolicy
from ..protocol.documents import BUCKET_LOGGING_STATUS
from ..protocol.errors import S3Error
from ..protocol.logging_status import (
    SLOT,
    LoggingConfig,
    parse_logging_status,
    render_logging_status,
)
from ..stores.base import NoSuchBucket, NotSupported, ObjectStore
from ..web.access import ACL, directory
from ..web.body import read_small_body
from ..web.bucket_settings import BUCKET_OWNER_ENFORCED, OWNERSHIP, POLICY, parsed_policy
from ..web.context import S3Request, empty_response

LOGGING_SERVICE = "logging.s3.amazonaws.com"
_NO_PERMISSION = (
    "You must either provide the necessary permissions to the logging service using a "
    "bucket policy or give the log-delivery group WRITE and READ_ACP permissions to the "
    "target bucket"
)


def load_logging(s3: S3Request, bucket: str | None = None) -> LoggingConfig | None:
    try:
        return LoggingConfig.from_json(s3.bucket_config(SLOT, bucket))
    except NotSupported:
        return None


def put_bucket_logging(s3: S3Request) -> Response:
    owner = s3.bucket_owner()  # NoSuchBucket unless it exists
    mode = s3.settings.anonymous  # as web.access: signing never gives less than not
    if not (
        acts_as_owner(s3.identity, owner, anonymous_mode=mode)
        or acts_as_owner(ANONYMOUS, owner, anonymous_mode=mode)
    ):
        raise S3Error("AccessDenied", "Only the bucket owner may set its logging")
    body = read_small_body(s3.request, BUCKET_LOGGING_STATUS, signer=s3.chunk_signer)
    config = parse_logging_status(body, directory(s3))
    if config is None:
        s3.store.put_bucket_config(s3.bucket_name, SLOT, None)
        return empty_response(200)
    check_target(s3, config, owner or s3.identity.id)
    current = load_logging(s3)
    if current is not None and config.same_as(current):
        return empty_response(200)  # unchanged: its Last-Modified stays
    stored = LoggingConfig(**{**vars(config), "modified": time.time()})
    s3.store.put_bucket_config(s3.bucket_name, SLOT, stored.to_json())
    return empty_response(200)


def check_target(s3: S3Request, config: LoggingConfig, source_owner: str) -> None:
    """InvalidTargetBucketForLogging unless the target exists and the logging service
    may write there for this source bucket."""
    target = config.target_bucket
    try:
        s3.bucket_info(target)
    except NoSuchBucket:
        raise S3Error("InvalidTargetBucketForLogging", "The target bucket does not exist") from None
    read = request_reader(s3)
    if not may_deliver(read, target, config.target_prefix, s3.bucket_name, source_owner):
        raise S3Error("InvalidTargetBucketForLogging", _NO_PERMISSION)


#: Reads a bucket configuration slot: (bucket, slot) -> document or None.
Reader = Callable[[str, str], bytes | None]


def may_deliver(read: Reader, target: str, prefix: str, source: str, source_owner: str) -> bool:
    """May the logging service put ``source``'s logs under ``target``/``prefix``?
    Asked when logging is put, and again before each delivery (a permission taken
    away stops the deliveries, as in S3)."""
    stored = read(target, POLICY)
    policy = None if stored is None else parsed_policy(stored)
    verdict = Decision.NOT_APPLICABLE
    if policy is not None:
        # An Allow must name the service: one for everyone ("*") is not a grant to the
        # logging service (as RGW checks it); any Deny that applies still denies.
        service = service_principal(LOGGING_SERVICE)
        kept = tuple(
            s
            for s in policy.statements
            if not s.allow or (s.principal is not None and service in s.principal.names)
        )
        policy = dataclasses.replace(policy, statements=kept)
        request = RequestContext(
            action="s3:PutObject",
            resource=resource_arn(target, prefix),
            principals=frozenset({service}),
            keys={
                "aws:sourcearn": [resource_arn(source, None)],
                "aws:sourceaccount": [source_owner],
            },
        )
        verdict = evaluate(policy, request)
    if verdict is not Decision.NOT_APPLICABLE:
        return verdict is Decision.ALLOW
    if (read(target, OWNERSHIP) or b"").decode(errors="replace") == BUCKET_OWNER_ENFORCED:
        return False  # ACLs are disabled: only a policy lets the service write
    grants = AccessControlPolicy.from_json(read(target, ACL), "").grants
    return any(
        g.grantee == acl.LOG_DELIVERY and g.permission in (acl.WRITE, acl.FULL_CONTROL)
        for g in grants
    )


def request_reader(s3: S3Request) -> Reader:
    def read(bucket: str, slot: str) -> bytes | None:
        try:
            return s3.bucket_config(slot, bucket)
        except NotSupported:
            return None

    return read


def delivery_check(store: ObjectStore) -> Callable[[Destination], bool]:
    """``may_deliver`` for a delivery, from the store as it is now (NoSuchBucket
    propagates: the delivery drops a batch whose target is gone)."""

    def read(bucket: str, slot: str) -> bytes | None:
        try:
            return store.get_bucket_config(bucket, slot)
        except NotSupported:
            return None

    def check(destination: Destination) -> bool:
        return may_deliver(
            read,
            destination.bucket,
            destination.target_prefix,
            destination.source,
            destination.source_owner,
        )

    return check


def get_bucket_logging(s3: S3Request) -> Response:
    config = load_logging(s3)
    if config is None:
        s3.bucket_info()  # NoSuchBucket first
    body = render_logging_status(config, s3.display_name)
    response = Response(body, content_type="application/xml")
    if config is not None and config.modified:
        response.headers["Last-Modified"] = formatdate(config.modified, usegmt=True)
    return response
