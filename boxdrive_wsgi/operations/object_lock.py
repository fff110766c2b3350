"""Object lock over HTTP: Put/GetObjectLockConfiguration, Put/GetObjectRetention,
Put/GetObjectLegalHold, and the hooks other operations call: the lock a write gives
its new version (headers, else the bucket's default retention), the guard a delete
of a version runs inside the store's atomic section, the refusal to suspend
versioning, and CreateBucket's x-amz-bucket-object-lock-enabled.

A bucket's configuration is the ``object-lock`` configuration slot (JSON, see
protocol.object_lock); a version's lock is in its attributes (``lock_mode``,
``lock_until``, ``legal_hold``). Who may bypass GOVERNANCE retention: whoever the
access policy lets run the pseudo-operation ``BypassGovernanceRetention`` (by default
the bucket owner; a site hook or bucket policy may allow others).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from flask import Response

from ..protocol.documents import LEGAL_HOLD, OBJECT_LOCK_CONFIGURATION, RETENTION
from ..protocol.errors import S3Error
from ..protocol.object_lock import (
    ENABLED_HEADER,
    MISSING_CONFIGURATION,
    Lock,
    LockConfiguration,
    bypass_requested,
    check_removal,
    check_retention_change,
    dump_configuration,
    load_configuration,
    lock_from_headers,
    lock_of,
    new_version_lock,
    parse_configuration,
    parse_legal_hold,
    parse_retention,
    render_configuration,
    render_legal_hold,
    render_retention,
    require_integrity,
)
from ..stores.base import AttributeUpdate, NotSupported, ObjectAttributes, ObjectInfo
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response

#: The bucket configuration slot of the bucket's ObjectLockConfiguration.
CONFIG = "object-lock"
#: The pseudo-operation the access policy is asked about for a governance bypass.
BYPASS_OPERATION = "BypassGovernanceRetention"
NOT_VERSIONED = "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"


def _now() -> datetime:
    return datetime.now(UTC)


def bucket_lock(s3: S3Request, bucket: str | None = None) -> LockConfiguration | None:
    """The bucket's object lock configuration; None if lock is not enabled on it."""
    try:
        stored = s3.bucket_config(CONFIG, bucket or s3.bucket_name)
    except NotSupported:
        return None
    return None if stored is None else load_configuration(stored)


def _required(s3: S3Request) -> LockConfiguration:
    config = bucket_lock(s3)
    if config is None:
        s3.bucket_info()  # NoSuchBucket first
        raise S3Error("InvalidRequest", MISSING_CONFIGURATION)
    return config


def may_bypass(s3: S3Request) -> bool:
    """Does the request ask to bypass governance retention, and may its identity?"""
    if not bypass_requested(s3.request.headers):
        return False
    try:
        s3.check_access(BYPASS_OPERATION, s3.bucket_name, s3.key)
    except S3Error:
        return False
    return True


# -- bucket configuration ----------------------------------------------------------------


def enable_on_create(s3: S3Request) -> bool:
    """Does CreateBucket ask for object lock? NotImplemented if the store cannot version."""
    value = s3.request.headers.get(ENABLED_HEADER)
    wanted = value is not None and value.strip().lower() == "true"
    if wanted and not (s3.store.capabilities.versioning and s3.store.capabilities.bucket_config):
        raise S3Error("NotImplemented", "This store cannot keep versions (object lock)")
    return wanted


def enable(s3: S3Request, bucket: str) -> None:
    """Object lock on a bucket just created: versioning Enabled, no default retention."""
    s3.store.set_bucket_versioning(bucket, "Enabled")
    s3.store.put_bucket_config(bucket, CONFIG, dump_configuration(LockConfiguration()))


def refuse_suspend(s3: S3Request, status: str) -> None:
    """PutBucketVersioning: a bucket with object lock stays Enabled (409)."""
    if status != "Enabled" and bucket_lock(s3) is not None:
        raise S3Error(
            "InvalidBucketState",
            "An Object Lock configuration is present on this bucket, so the versioning "
            "state cannot be changed.",
        )


def get_object_lock_configuration(s3: S3Request) -> Response:
    config = bucket_lock(s3)
    if config is None:
        s3.bucket_info()
        raise S3Error("ObjectLockConfigurationNotFoundError", extra={"BucketName": s3.bucket_name})
    return Response(render_configuration(config), content_type="application/xml")


def put_object_lock_configuration(s3: S3Request) -> Response:
    body = read_small_body(s3.request, OBJECT_LOCK_CONFIGURATION, signer=s3.chunk_signer)
    config = parse_configuration(body)
    if s3.bucket_info().versioning != "Enabled":
        raise S3Error("InvalidBucketState", NOT_VERSIONED)
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, dump_configuration(config))
    return empty_response(200)


# -- retention and legal hold of one version ---------------------------------------------


def _version_id(s3: S3Request) -> str | None:
    return s3.query.get("versionId") or None


def _version_headers(info: ObjectInfo) -> dict[str, str]:
    return {} if info.version_id is None else {"x-amz-version-id": info.version_id}


@dataclass(frozen=True)
class RetentionUpdate(AttributeUpdate):
    """Sets a version's retention; the check runs in ``apply``, on the attributes the
    store is about to replace (inside its atomic section for the native stores), so
    two concurrent changes cannot together shorten a retention."""

    wanted: Lock = field(default_factory=Lock)
    bypass: bool = False
    now: datetime = field(default_factory=_now)

    def apply(self, attributes: ObjectAttributes) -> ObjectAttributes:
        current = Lock(attributes.lock_mode, attributes.lock_until, attributes.legal_hold)
        check_retention_change(current, self.wanted, self.now, bypass=self.bypass)
        return replace(attributes, lock_mode=self.wanted.mode, lock_until=self.wanted.until)


def put_object_retention(s3: S3Request) -> Response:
    _required(s3)
    body = read_small_body(s3.request, RETENTION, signer=s3.chunk_signer)
    wanted = parse_retention(body)
    now = _now()
    update = RetentionUpdate(wanted=wanted, bypass=may_bypass(s3), now=now)
    # First outside the store, so a refusal costs no write; then again inside it.
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=_version_id(s3))
    update.apply(info.attributes)
    info = s3.store.update_object_attributes(
        s3.bucket_name, s3.object_key, update, version_id=info.version_id
    )
    return empty_response(200, _version_headers(info))


def get_object_retention(s3: S3Request) -> Response:
    _required(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=_version_id(s3))
    lock = lock_of(info)
    if lock.mode is None:
        raise S3Error(
            "NoSuchObjectLockConfiguration",
            "The specified object does not have a ObjectLock configuration",
        )
    return Response(render_retention(lock), content_type="application/xml")


def put_object_legal_hold(s3: S3Request) -> Response:
    _required(s3)
    on = parse_legal_hold(read_small_body(s3.request, LEGAL_HOLD, signer=s3.chunk_signer))
    info = s3.store.update_object_attributes(
        s3.bucket_name, s3.object_key, AttributeUpdate(legal_hold=on), version_id=_version_id(s3)
    )
    return empty_response(200, _version_headers(info))


def get_object_legal_hold(s3: S3Request) -> Response:
    _required(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=_version_id(s3))
    return Response(render_legal_hold(lock_of(info).legal_hold), content_type="application/xml")


# -- hooks of other operations -----------------------------------------------------------


def write_lock(s3: S3Request, attributes: ObjectAttributes, *, put: bool) -> ObjectAttributes:
    """``attributes`` of a new version with the lock it gets (the x-amz-object-lock-*
    headers, else the bucket's default retention). ``put``: a PutObject, which must
    then carry Content-MD5 or a checksum, as S3 wants."""
    now = _now()
    asked = lock_from_headers(s3.request.headers, now)
    config = bucket_lock(s3)
    if config is None and asked is None:
        return attributes
    lock = new_version_lock(asked, config, now)
    if lock is None:
        return attributes
    if put and lock.mode is not None:
        require_integrity(s3.request.headers)
    return replace(
        attributes, lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold
    )


def delete_guard(s3: S3Request, bucket: str | None = None) -> Callable[[ObjectInfo], None] | None:
    """The guard for removing a version permanently (DeleteObject/DeleteObjects with a
    versionId): AccessDenied while it is retained or on legal hold; None when the
    bucket has no object lock (nothing to check)."""
    if bucket_lock(s3, bucket) is None:
        return None
    bypass = may_bypass(s3)
    now = _now()

    def guard(info: ObjectInfo) -> None:
        if not info.delete_marker:
            check_removal(lock_of(info), now, bypass=bypass)

    return guard
