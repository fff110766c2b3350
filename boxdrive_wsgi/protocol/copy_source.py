"""x-amz-copy-source: which object a CopyObject or UploadPartCopy reads, and the
x-amz-copy-source-if-* conditions on it. Pure functions over header values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from werkzeug.http import parse_date, parse_etags

from .errors import S3Error
from .headers import HeaderMap
from .names import check_key
from .versioning import check_version_id

HEADER = "x-amz-copy-source"


@dataclass(frozen=True)
class CopySource:
    bucket: str
    key: str
    #: the ``?versionId=`` asked for (checked by ``versioning.check_version_id``); None
    #: when absent (the latest version).
    version_id: str | None = None


def parse_copy_source(value: str) -> CopySource:
    """Parse ``/bucket/key`` or ``bucket/key`` (URL-encoded), optionally followed by
    ``?versionId=...``. Raises S3Error InvalidArgument as S3 does."""
    # WSGI hands header values as latin-1; a client may have sent raw UTF-8 bytes.
    try:
        raw = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raw = value
    path, _, query = raw.partition("?")
    version_id: str | None = None
    if query:
        name, _, version = query.partition("=")
        if name != "versionId":
            raise _invalid(value)
        version_id = unquote(version)
    decoded = unquote(path)  # invalid UTF-8 -> U+FFFD, as Werkzeug decodes paths
    if decoded.startswith("/"):
        decoded = decoded[1:]
    bucket, _, key = decoded.partition("/")
    if not bucket or not key:
        raise _invalid(value)
    if version_id is not None:
        check_version_id(version_id)
    check_key(key)
    return CopySource(bucket, key, version_id)


def _invalid(value: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        extra={"ArgumentName": HEADER, "ArgumentValue": value},
    )


def check_copy_source_conditions(headers: HeaderMap, etag: str, last_modified: datetime) -> None:
    """Raise PreconditionFailed (412) unless the x-amz-copy-source-if-* headers hold
    for the source's ``etag`` and ``last_modified``.

    Precedence as S3 documents it: an if-match that holds makes if-unmodified-since
    irrelevant; an if-none-match present makes if-modified-since irrelevant. Unlike
    GET, a failed if-none-match / if-modified-since is a 412, not a 304.
    """
    if_match = headers.get(f"{HEADER}-if-match")
    if if_match is not None:
        if not parse_etags(if_match).contains_weak(etag):
            raise _failed(f"{HEADER}-if-match")
    else:
        since = parse_date(headers.get(f"{HEADER}-if-unmodified-since"))
        if since is not None and last_modified > since:
            raise _failed(f"{HEADER}-if-unmodified-since")
    if_none_match = headers.get(f"{HEADER}-if-none-match")
    if if_none_match is not None:
        if parse_etags(if_none_match).contains_weak(etag):
            raise _failed(f"{HEADER}-if-none-match")
    else:
        since = parse_date(headers.get(f"{HEADER}-if-modified-since"))
        if since is not None and last_modified <= since:
            raise _failed(f"{HEADER}-if-modified-since")


def _failed(condition: str) -> S3Error:
    return S3Error("PreconditionFailed", extra={"Condition": condition})
