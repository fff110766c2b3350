"""Request bodies: a readable stream and its size, never read whole.

Handles the three shapes a body arrives in: Content-Length (streamed through a
limited stream), HTTP/1.1 ``Transfer-Encoding: chunked`` (only when the WSGI
server marks the input terminated; otherwise the body would look empty and we
answer 411 rather than store an empty object), and aws-chunked framing.
"""

from __future__ import annotations

from flask import Request

from .protocol.checksums import (
    VerifyingReader,
    is_sha256_hex,
    parse_checksum_headers,
    parse_content_md5,
)
from .protocol.errors import S3Error
from .stores.base import Readable

STREAMING_PREFIX = "STREAMING-"


def is_http_chunked(request: Request) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def is_aws_chunked(request: Request) -> bool:
    sha = request.headers.get("x-amz-content-sha256", "")
    encoding = request.headers.get("Content-Encoding", "").lower()
    return sha.startswith(STREAMING_PREFIX) or "aws-chunked" in encoding


def open_body(request: Request, *, required: bool = True) -> tuple[Readable, int | None]:
    """The request body as ``(stream, size)``; ``size`` is None when unknown."""
    environ = request.environ
    if is_http_chunked(request):
        if not environ.get("wsgi.input_terminated"):
            raise S3Error("MissingContentLength")
        raw: Readable = environ["wsgi.input"]
        size: int | None = None
    else:
        if request.content_length is None:
            if required:
                raise S3Error("MissingContentLength")
            return _Empty(), 0
        raw = request.stream
        size = request.content_length
    if is_aws_chunked(request):
        raise S3Error("NotImplemented", "aws-chunked request bodies are not supported yet")
    return raw, size


def verified_body(request: Request) -> tuple[VerifyingReader, int | None, dict[str, str]]:
    """The body wrapped in the integrity checks its headers ask for.

    Returns ``(reader, size, checksums)``: ``checksums`` are the x-amz-checksum-*
    values the client declared, to be stored with the object. The reader raises
    BadDigest / XAmzContentSHA256Mismatch before EOF, so nothing is stored then.
    """
    headers = request.headers
    md5 = headers.get("Content-MD5")
    checksums = parse_checksum_headers({k.lower(): v for k, v in headers.items()})
    payload_hash = headers.get("x-amz-content-sha256", "")
    raw, size = open_body(request)
    reader = VerifyingReader(
        raw,
        content_md5=parse_content_md5(md5) if md5 is not None else None,
        checksums=checksums,
        sha256_hex=payload_hash if is_sha256_hex(payload_hash) else None,
        size=size,
    )
    return reader, size, checksums


def read_small_body(request: Request, limit: int = 1024 * 1024) -> bytes:
    """Read a small XML request body (DeleteObjects, configurations) fully."""
    stream, size = open_body(request, required=False)
    if size is not None and size > limit:
        raise S3Error("MaxMessageLengthExceeded")
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise S3Error("MaxMessageLengthExceeded")
    return data


class _Empty:
    def read(self, size: int = -1, /) -> bytes:
        return b""
