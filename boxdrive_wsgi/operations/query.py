"""Query parameters every listing reads alike (ListObjects, ListObjectVersions,
ListMultipartUploads, ListParts): ``encoding-type`` and the ArgumentName/ArgumentValue
that S3 names in an InvalidArgument error."""

from __future__ import annotations

from collections.abc import Callable

from ..protocol.errors import S3Error
from ..web.context import S3Request, url_quote


def argument(s3: S3Request, name: str) -> dict[str, str]:
    """The extra fields of an InvalidArgument error about query parameter ``name``."""
    return {"ArgumentName": name, "ArgumentValue": s3.query.get(name, "")}


def key_encoder(s3: S3Request) -> Callable[[str], str]:
    """How the listing shows keys and prefixes: as they are, or percent-encoded with
    ``encoding-type=url``; InvalidArgument for any other encoding."""
    encoding = s3.query.get("encoding-type")
    if encoding is None:
        return lambda value: value
    if encoding.lower() != "url":
        raise S3Error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            extra=argument(s3, "encoding-type"),
        )
    return url_quote
