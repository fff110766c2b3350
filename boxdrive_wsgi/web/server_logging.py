"""Server access logging, the request side: after each response to a bucket whose
logging is on, capture its record (``observability.server_log``) and hand the line,
when the body has gone out, to the process's ``LogDelivery`` (for DeleteObjects, then
one BATCH.DELETE.OBJECT line per key, from ``S3Request.key_outcomes``).

The bucket's configuration is read through the request's ``S3Request`` (one slot read
at most, none when the bucket's lookup says it has no ``logging`` slot); a request
refused before it had one (a bad signature) costs one read of the slot.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Request, Response, g

from ..auth.identity import ANONYMOUS
from ..observability import access_log
from ..observability.log_delivery import Destination, LogDelivery
from ..observability.server_log import (
    DELETED_STATUS,
    LogFields,
    format_batch_delete,
    format_record,
    redact_uri,
    rest_operation,
    signature_fields,
)
from ..operations import SUBRESOURCES
from ..protocol.errors import CATALOG
from ..protocol.logging_status import PARTITIONED, SLOT, LoggingConfig
from ..stores.base import NotSupported, ObjectStore, StoreError
from .context import S3Request
from .policy_context import signature_of


def _config(store: ObjectStore, bucket: str) -> tuple[LoggingConfig | None, str | None]:
    """(logging configuration, bucket owner) of ``bucket``."""
    s3: S3Request | None = g.get("s3_request")
    try:
        if s3 is not None and s3.bucket == bucket:
            config = LoggingConfig.from_json(s3.bucket_config(SLOT, bucket))
            return config, (s3.bucket_owner(bucket) if config else None)
        config = LoggingConfig.from_json(store.get_bucket_config(bucket, SLOT))
        return config, (store.head_bucket(bucket).owner if config else None)
    except (StoreError, NotSupported):
        return None, None


def capture(
    request: Request,
    response: Response,
    store: ObjectStore,
    region: str,
    delivery: LogDelivery,
    record: Callable[[], access_log.AccessRecord],
) -> None:
    bucket: str | None = g.get("s3_bucket")
    if bucket is None:
        return
    config, owner = _config(store, bucket)
    if config is None:
        return
    prefix = config.target_prefix
    if config.key_format == PARTITIONED:
        prefix += f"{owner or '-'}/{region}/{bucket}/"
    destination = Destination(
        config.target_bucket,
        bucket,
        owner or "",
        config.target_prefix,
        prefix,
        config.key_format == PARTITIONED,
        config.grants,
    )
    fields = _fields(request, response, bucket, owner)
    s3: S3Request | None = g.get("s3_request")
    outcomes = list(s3.key_outcomes) if s3 is not None else []

    def deliver() -> None:
        access = record()
        delivery.add(destination, format_record(access, fields))
        for outcome in outcomes:  # DeleteObjects: then one record per key
            code = outcome.error_code
            status = DELETED_STATUS if code is None else CATALOG.get(code, (400, ""))[0]
            line = format_batch_delete(
                access, fields, outcome.key, outcome.version_id, status, code
            )
            delivery.add(destination, line)

    response.call_on_close(deliver)


def _fields(request: Request, response: Response, bucket: str, owner: str | None) -> LogFields:
    key: str | None = g.get("s3_key")
    subresource = next((name for name in request.args if name in SUBRESOURCES), None)
    s3: S3Request | None = g.get("s3_request")
    identity = s3.identity if s3 is not None else ANONYMOUS
    operation = g.get("s3_operation") or ""
    signature = signature_of(request, operation) if identity.id != ANONYMOUS.id else None
    sig_version, auth_type = signature_fields(signature)
    environ = request.environ
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path.rstrip("?")
    protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    started: float = g.get("s3_started_epoch") or 0.0
    elapsed = g.get("s3_started")
    return LogFields(
        bucket_owner=owner,
        bucket=bucket,
        started=started,
        requester=None if identity.id == ANONYMOUS.id else identity.id,
        operation=rest_operation(
            request.method, key is not None, subresource, "x-amz-copy-source" in request.headers
        ),
        key=key,
        request_uri=f"{request.method} {redact_uri(uri)} {protocol}",
        error_code=g.get("s3_error_code"),
        object_size=_object_size(request, response, key),
        turn_around_ms=None if elapsed is None else access_log.elapsed_ms(elapsed),
        referrer=request.headers.get("Referer"),
        user_agent=request.headers.get("User-Agent"),
        version_id=response.headers.get("x-amz-version-id") or request.args.get("versionId"),
        host_id=response.headers.get("x-amz-id-2"),
        signature_version=sig_version,
        cipher_suite=environ.get("SSL_CIPHER"),
        auth_type=auth_type,
        host=request.headers.get("Host"),
        tls_version=environ.get("SSL_PROTOCOL"),
        acl_required=s3 is not None and s3.acl_required,
    )


def _object_size(request: Request, response: Response, key: str | None) -> int | None:
    if key is None or response.status_code >= 300:
        return None
    if request.method in ("GET", "HEAD"):
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        value = total if total.isdigit() else response.headers.get("Content-Length")
    elif request.method == "PUT":
        value = request.headers.get("x-amz-decoded-content-length") or request.headers.get(
            "Content-Length"
        )
    else:
        return None
    return int(value) if value and value.isdigit() else None
