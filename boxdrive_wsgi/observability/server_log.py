"""S3 server access log records: one line per request to a bucket with logging on,
in S3's format (26 space-separated fields)::

    owner bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 requester 3E57427F3EXAMPLE
    REST.GET.VERSIONING - "GET /bucket?versioning HTTP/1.1" 200 - 113 - 7 - "-"
    "S3Console/0.4" - hostid SigV4 - AuthHeader bucket.example.com - - -

Built from the access log's ``AccessRecord`` (request id, status, bytes sent, total
time, remote address) and what only this format needs (``LogFields``). A missing
value is ``-``. Never a secret: the request URI has its signature and session token
query values replaced by ``REDACTED``, and no header but Referer, User-Agent and Host
is logged. Quoted fields escape ``"`` and ``\\`` (and percent-encode brackets, which
naive parsers take for the time's); other fields and the key are
percent-encoded, so a line is always 26 fields and one line. A DeleteObjects request
adds one BATCH.DELETE.OBJECT record per key after its own (``format_batch_delete``).
Pure.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from urllib.parse import quote

from .access_log import AccessRecord

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:X-Amz-Signature|Signature|X-Amz-Security-Token|x-amz-security-token)=)[^&]*"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BARE_SAFE = "/:@!$&'()*+,;=-._~%"
#: Sub-resource -> how S3 names it in the operation field (others: upper-cased).
_SUBRESOURCE_NAMES = {
    "delete": "MULTI_OBJECT_DELETE",
    "versions": "BUCKETVERSIONS",
    "policy": "BUCKETPOLICY",
    "logging": "LOGGING_STATUS",
    "policyStatus": "POLICY_STATUS",
    "publicAccessBlock": "PUBLIC_ACCESS_BLOCK",
    "ownershipControls": "OWNERSHIP_CONTROLS",
    "object-lock": "OBJECT_LOCK_CONFIGURATION",
    "legal-hold": "LEGAL_HOLD",
    "uploads": "UPLOADS",
    "attributes": "OBJECT_ATTRIBUTES",
}
_SIGNATURES = {"AWS4-HMAC-SHA256": "SigV4", "AWS": "SigV2"}
_AUTH_TYPES = {"REST-HEADER": "AuthHeader", "REST-QUERY-STRING": "QueryString"}


def rest_operation(method: str, has_key: bool, subresource: str | None, copy: bool) -> str:
    """S3's name for the operation: ``REST.GET.OBJECT``, ``REST.PUT.PART``, ..."""
    if method == "OPTIONS":
        return "REST.OPTIONS.PREFLIGHT"
    verb = "COPY" if copy and method == "PUT" else method
    if subresource is None:
        return f"REST.{verb}.{'OBJECT' if has_key else 'BUCKET'}"
    if subresource == "uploadId":
        return f"REST.{verb}.{'PART' if method == 'PUT' else 'UPLOAD'}"
    if subresource == "tagging" and has_key:
        return f"REST.{verb}.OBJECT_TAGGING"
    name = _SUBRESOURCE_NAMES.get(subresource) or subresource.upper().replace("-", "_")
    return f"REST.{verb}.{name}"


def signature_fields(signature: tuple[str, str] | None) -> tuple[str | None, str | None]:
    """(SigV4/SigV2, AuthHeader/QueryString) for ``web.policy_context.signature_of``."""
    if signature is None:
        return None, None
    return _SIGNATURES.get(signature[0]), _AUTH_TYPES.get(signature[1])


def redact_uri(uri: str) -> str:
    """The request URI without its signature or session token values."""
    return _SECRET_QUERY.sub(r"\1REDACTED", uri) if "?" in uri else uri


def log_time(seconds: float) -> str:
    """``06/Feb/2019:00:00:38 +0000`` (in UTC, whatever the locale)."""
    t = time.gmtime(seconds)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


@dataclass(frozen=True)
class LogFields:
    """What a server access log record has beyond the access log's record."""

    bucket_owner: str | None
    bucket: str
    started: float  # epoch seconds
    requester: str | None  # canonical id; None: anonymous
    operation: str  # REST.GET.OBJECT
    key: str | None
    request_uri: str  # "GET /bucket/key?x HTTP/1.1", redacted
    error_code: str | None
    object_size: int | None
    turn_around_ms: float | None
    referrer: str | None
    user_agent: str | None
    version_id: str | None
    host_id: str | None
    signature_version: str | None
    cipher_suite: str | None
    auth_type: str | None
    host: str | None
    tls_version: str | None
    #: an ACL grant (not ownership or a policy) allowed the request
    acl_required: bool = False


def _bare(value: object) -> str:
    if value is None or value == "":
        return "-"
    return quote(str(value), safe=_BARE_SAFE)


def _quoted(value: str | None) -> str:
    if not value:
        return '"-"'
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("[", "%5B").replace("]", "%5D")
    return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + '"'


def _count(value: int | None) -> str:
    return "-" if not value else str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else str(round(value))


#: The operation of the records a DeleteObjects request adds, one per key.
BATCH_DELETE = "BATCH.DELETE.OBJECT"
#: What a key's record shows when S3 deleted it (DeleteObject's status).
DELETED_STATUS = 204


def format_record(access: AccessRecord, fields: LogFields) -> str:
    """The record's line, without its newline."""
    return _line(access, access.status, access.bytes_out, access.duration_ms, fields)


def format_batch_delete(
    access: AccessRecord,
    fields: LogFields,
    key: str,
    version_id: str | None,
    status: int,
    error_code: str | None,
) -> str:
    """The BATCH.DELETE.OBJECT line of one key of a DeleteObjects request, as S3 writes
    it after the request's own REST.POST.MULTI_OBJECT_DELETE: the request's time,
    requester, id and signature; the key, its version and outcome (204, or the key's
    error); no request URI, bytes, times, referrer or user agent."""
    one = replace(
        fields,
        operation=BATCH_DELETE,
        key=key,
        request_uri="",
        error_code=error_code,
        object_size=None,
        turn_around_ms=None,
        referrer=None,
        user_agent=None,
        version_id=version_id,
    )
    return _line(access, status, None, None, one)


def _line(
    access: AccessRecord,
    status: int,
    bytes_out: int | None,
    total_ms: float | None,
    fields: LogFields,
) -> str:
    f = fields
    key = "-" if f.key is None else quote(f.key, safe="/")
    return " ".join(
        (
            _bare(f.bucket_owner),
            _bare(f.bucket),
            f"[{log_time(f.started)}]",
            _bare(access.remote),
            _bare(f.requester),
            _bare(access.request_id),
            f.operation,
            key,
            _quoted(f.request_uri),
            str(status),
            _bare(f.error_code),
            _count(bytes_out),
            _count(f.object_size),
            _ms(total_ms),
            _ms(f.turn_around_ms),
            _quoted(f.referrer),
            _quoted(f.user_agent),
            _bare(f.version_id),
            _bare(f.host_id),
            _bare(f.signature_version),
            _bare(f.cipher_suite),
            _bare(f.auth_type),
            _bare(f.host),
            _bare(f.tls_version),
            "-",  # access point ARN: this server has no access points
            "Yes" if f.acl_required else "-",
        )
    )
