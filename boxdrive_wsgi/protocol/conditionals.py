"""Conditional reads (If-Match, If-None-Match, If-(Un)Modified-Since), RFC 7232
precedence as S3 applies it: an If-Match that holds makes If-Unmodified-Since
irrelevant, an If-None-Match present makes If-Modified-Since irrelevant."""

from __future__ import annotations

from datetime import datetime

from werkzeug.http import http_date, parse_date, parse_etags

from .errors import S3Error
from .headers import HeaderMap


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


def write_conditions(headers: HeaderMap) -> tuple[str | None, bool]:
    """(if_match etag or '*', if_none_match) for a conditional write."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on writes supports only '*'")
    if_match = headers.get("If-Match")
    if if_match is not None:
        if_match = if_match.strip()
        if if_match != "*":
            if_match = if_match.strip('"')
    return if_match, if_none_match is not None
