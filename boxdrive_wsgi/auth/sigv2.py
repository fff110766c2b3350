"""AWS Signature Version 2 for S3 (HMAC-SHA1), as pure functions.

Still what boto3's ``generate_presigned_url`` produces by default for S3 and
what older tools (s3cmd, some backup software) sign with, so a server that
refuses it breaks real clients. Header form ``Authorization: AWS key:signature``
and query form ``?AWSAccessKeyId=&Expires=&Signature=``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from ..protocol.errors import S3Error
from ..protocol.numbers import INT64_MAX, parse_bounded

MAX_SKEW = timedelta(minutes=15)

#: Query parameters that are part of the resource being signed.
SIGNED_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "delete", "inventory", "lifecycle",
        "location", "logging", "metrics", "notification", "object-lock", "partNumber",
        "policy", "replication", "requestPayment", "response-cache-control",
        "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires",
        "restore", "select", "select-type", "storageClass", "tagging", "torrent",
        "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip


@dataclass(frozen=True)
class V2Request:
    """What a SigV2 request claims; nothing in it is trusted before ``verify``."""

    access_key: str
    signature: str
    #: what the client should have signed; a second form for bucket requests,
    #: which SDKs sign as ``/bucket/`` while sending ``/bucket``.
    strings_to_sign: tuple[str, ...]
    #: the Date header (header auth) or None (query auth).
    date: datetime | None
    #: the Expires parameter (query auth) or None.
    expires: int | None


def is_v2(headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    authorization = headers.get("authorization", "")
    return authorization.startswith("AWS ") or ("AWSAccessKeyId" in query and "Signature" in query)


def parse_v2(
    method: str,
    resource_path: str,
    query_string: str,
    headers: Mapping[str, str],
) -> V2Request:
    """``resource_path`` is the path as sent, with ``/bucket`` in front for
    virtual-host-style requests; ``headers`` have lower-case names."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    query = dict(pairs)
    authorization = headers.get("authorization")
    amz = {k: v for k, v in headers.items() if k.startswith("x-amz-")}
    if authorization is not None:
        credential = authorization[len("AWS ") :]
        access_key, colon, signature = credential.rpartition(":")
        if not colon or not access_key or not signature:
            raise S3Error("InvalidArgument", "AWS authorization header is invalid.")
        date_line = "" if "x-amz-date" in amz else headers.get("date", "")
        date_value = amz.get("x-amz-date") or headers.get("date")
        if not date_value:
            raise S3Error(
                "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
            )
        expires = None
    else:
        access_key, signature = query["AWSAccessKeyId"], query["Signature"]
        date_line = query.get("Expires", "")
        expires = parse_bounded(date_line, 0, INT64_MAX)
        if expires is None:
            raise S3Error("AccessDenied", "Query-string authentication requires Expires")
        amz.update({k.lower(): v for k, v in pairs if k.lower().startswith("x-amz-")})
        date_value = None
    string_to_sign = "\n".join(
        [
            method,
            headers.get("content-md5", query.get("content-md5", "")).strip(),
            headers.get("content-type", query.get("content-type", "")).strip(),
            date_line,
        ]
    )
    string_to_sign += "\n" + "".join(f"{k}:{v.strip()}\n" for k, v in sorted(amz.items()))
    paths = [resource_path]
    if resource_path.count("/") == 1 and len(resource_path) > 1:
        paths.append(resource_path + "/")
    return V2Request(
        access_key=access_key,
        signature=signature,
        strings_to_sign=tuple(string_to_sign + canonical_resource(p, pairs) for p in paths),
        date=_parse_http_date(date_value) if date_value is not None else None,
        expires=expires,
    )


def canonical_resource(path: str, pairs: Iterable[tuple[str, str]]) -> str:
    signed = sorted((k, v) for k, v in pairs if k in SIGNED_SUBRESOURCES)
    if not signed:
        return path
    return path + "?" + "&".join(f"{k}={v}" if v else k for k, v in signed)


def sign(secret_key: str, string_to_sign: str) -> str:
    digest = hmac.new(secret_key.encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(claim: V2Request, secret_key: str, now: datetime) -> None:
    if claim.expires is not None:
        if now.timestamp() > claim.expires:
            raise S3Error("AccessDenied", "Request has expired")
    elif claim.date is None or abs(now - claim.date) > MAX_SKEW:
        raise S3Error("RequestTimeTooSkewed") if claim.date else S3Error("AccessDenied")
    provided = claim.signature.encode()
    for string_to_sign in claim.strings_to_sign:
        if hmac.compare_digest(sign(secret_key, string_to_sign).encode(), provided):
            return
    raise S3Error(
        "SignatureDoesNotMatch",
        extra={"AWSAccessKeyId": claim.access_key, "StringToSign": claim.strings_to_sign[0]},
    )


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
