"""Conditional reads (If-Match, If-None-Match, If-(Un)Modified-Since), RFC 7232
precedence as S3 applies it: an If-Match that holds makes If-Unmodified-Since
irrelevant, an If-None-Match present makes If-Modified-Since irrelevant."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.http import http_date, parse_date, parse_etags

from ..stores.base import OVERWRITE, DeleteCondition, WriteOptions
from .errors import S3Error
from .headers import HeaderMap
from .numbers import INT64_MAX, parse_integer


def check_read_conditions(headers: HeaderMap, etag: str, last_modified: datetime) -> None:
    """Raise S3Error PreconditionFailed (412) or NotModified (304), or return."""
    if_match = headers.get("If-Match")
    if if_match is not None:
        if not parse_etags(if_match).contains_weak(etag):
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Match"})
    else:
        since = parse_date(headers.get("If-Unmodified-Since"))
        if since is not None and last_modified > since:
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Unmodified-Since"})
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if parse_etags(if_none_match).contains_weak(etag):
            raise _not_modified(etag, last_modified)
    else:
        since = parse_date(headers.get("If-Modified-Since"))
        if since is not None and last_modified <= since:
            raise _not_modified(etag, last_modified)


def _not_modified(etag: str, last_modified: datetime) -> S3Error:
    return S3Error(
        "NotModified",
        headers={"ETag": f'"{etag}"', "Last-Modified": http_date(last_modified)},
    )


#: Both If-Match and If-None-Match: * on a write can never go ahead: an update over an
#: ETag no object has answers 404 when the key is absent and 412 when it exists.
_NEVER = WriteOptions.update("")


def write_conditions(headers: HeaderMap) -> WriteOptions:
    """The WriteOptions of a write's If-None-Match: * / If-Match headers."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on writes supports only '*'")
    if_match = headers.get("If-Match")
    if if_match is not None:
        if_match = if_match.strip()
        if if_match != "*":
            if_match = if_match.strip('"')
        return _NEVER if if_none_match is not None else WriteOptions.update(if_match)
    return WriteOptions.create() if if_none_match is not None else OVERWRITE


SIZE_HEADER = "x-amz-if-match-size"
MODIFIED_HEADER = "x-amz-if-match-last-modified-time"


def delete_condition(headers: HeaderMap) -> DeleteCondition | None:
    """The conditions of a DeleteObject (If-Match, x-amz-if-match-size,
    x-amz-if-match-last-modified-time), or None for an unconditional delete."""
    etag = headers.get("If-Match")
    size = headers.get(SIZE_HEADER)
    modified = headers.get(MODIFIED_HEADER)
    if etag is None and size is None and modified is None:
        return None
    return make_delete_condition(
        etag, size, None if modified is None else _http_date(MODIFIED_HEADER, modified)
    )


def make_delete_condition(
    etag: str | None, size: str | None, modified: datetime | None
) -> DeleteCondition:
    """A DeleteCondition from the raw values (headers, or DeleteObjects' elements)."""
    if etag is not None:
        etag = etag.strip()
        if etag != "*":
            etag = etag.strip('"')
    size_value: int | None = None
    if size is not None:
        size_value = parse_integer(
            size.strip(), SIZE_HEADER, maximum=INT64_MAX, message=f"Invalid size {size!r}"
        )
    return DeleteCondition(etag=etag, size=size_value, last_modified=modified)


def _http_date(name: str, value: str) -> datetime:
    moment = parse_date(value)
    if moment is None:
        raise S3Error("InvalidArgument", f"Invalid {name}", extra=_argument(name, value))
    return moment


def iso_date(name: str, value: str) -> datetime:
    """A time as DeleteObjects' <LastModifiedTime> carries it: ISO 8601, or the HTTP date
    the SDKs send (boto3's model spells this field rfc822)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = parse_date(value.strip())
        if parsed is None:
            raise S3Error(
                "InvalidArgument", f"Invalid {name}", extra=_argument(name, value)
            ) from None
        moment = parsed
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _argument(name: str, value: str) -> dict[str, str]:
    return {"ArgumentName": name, "ArgumentValue": value}
