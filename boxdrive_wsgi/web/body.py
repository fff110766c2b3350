"""Request bodies: a readable stream and its size, never read whole.

Handles the shapes a body arrives in: Content-Length (streamed through a
limited stream), HTTP/1.1 ``Transfer-Encoding: chunked`` (only when the WSGI
server marks the input terminated; otherwise the body would look empty and we
answer 411 rather than store an empty object), and aws-chunked framing
(decoded, chunk signatures and trailing checksums verified while streaming).
Every shape is read through ``ClientBody``, so a client that drops the connection
mid-body gets IncompleteBody, not a 500.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Request
from werkzeug.exceptions import ClientDisconnected

from ..auth.chunked import AwsChunkedReader, ChunkSigner
from ..protocol import xml
from ..protocol.checksums import (
    VerifyingReader,
    is_sha256_hex,
    parse_checksum_headers,
    parse_content_md5,
    parse_trailer_declaration,
)
from ..protocol.errors import S3Error
from ..protocol.numbers import INT64_MAX, parse_integer
from ..protocol.xml import Document
from ..servers.waitress_spool import spool_of
from ..stores.base import Readable
from ..stores.streams import Spool

STREAMING_PREFIX = "STREAMING-"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_MODES = (UNSIGNED_TRAILER, SIGNED_STREAMING, SIGNED_TRAILER)


def is_http_chunked(request: Request) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def is_aws_chunked(request: Request) -> bool:
    """The payload mode says whether the body is framed; ``Content-Encoding:
    aws-chunked`` alone is a label that S3 strips from stored headers."""
    return request.headers.get("x-amz-content-sha256", "").startswith(STREAMING_PREFIX)


def raw_body(request: Request, *, required: bool = True) -> tuple[Readable, int | None]:
    """The body as sent on the wire, ``(stream, size)``; ``size`` None when unknown."""
    environ = request.environ
    if is_http_chunked(request):
        if not environ.get("wsgi.input_terminated"):
            raise S3Error("MissingContentLength")
        return ClientBody(environ["wsgi.input"]), None
    if request.content_length is None:
        if required:
            raise S3Error("MissingContentLength")
        return _Empty(), 0
    return ClientBody(request.stream), request.content_length


class ClientBody:
    """The client's body stream, with a dropped connection reported as S3 does.

    gunicorn reads the socket inside ``wsgi.input.read`` and marks its input
    terminated, so werkzeug hands that stream over as is: a client that resets the
    connection or stops sending until the server's timeout raises ConnectionError /
    TimeoutError in the app. Where werkzeug limits the stream itself (no
    ``wsgi.input_terminated``), it turns those into ClientDisconnected, a bare 400.
    waitress reads the whole body first and never calls the app. Either way the
    client is gone: IncompleteBody (400, S3's code) keeps it out of the 500s and the
    traceback log, and the store, seeing the read raise, stores nothing (the
    contract says so).
    """

    def __init__(self, stream: Readable) -> None:
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except (ConnectionError, TimeoutError, ClientDisconnected) as error:
            raise S3Error("IncompleteBody", "The request body terminated unexpectedly") from error


def open_body(
    request: Request, *, signer: ChunkSigner | None = None, required: bool = True
) -> tuple[Readable, int | None, AwsChunkedReader | None]:
    """The decoded body, ``(stream, decoded size, aws-chunked reader or None)``.

    ``signer`` verifies aws-chunked chunk signatures; the auth layer supplies it
    for the signed streaming modes.
    """
    raw, size = raw_body(request, required=required)
    if not is_aws_chunked(request):
        return raw, size, None
    mode = request.headers.get("x-amz-content-sha256", "")
    if mode.startswith(STREAMING_PREFIX) and mode not in STREAMING_MODES:
        raise S3Error("InvalidArgument", f"Unsupported x-amz-content-sha256 value {mode}")
    decoded = request.headers.get("x-amz-decoded-content-length")
    decoded_size = None
    if decoded is not None:
        decoded_size = parse_integer(
            decoded,
            "x-amz-decoded-content-length",
            maximum=INT64_MAX,
            message="x-amz-decoded-content-length is invalid",
        )
    if decoded_size is None and mode in STREAMING_MODES:
        raise S3Error("MissingContentLength", "x-amz-decoded-content-length is required")
    reader = AwsChunkedReader(
        raw,
        signer=signer if mode in (SIGNED_STREAMING, SIGNED_TRAILER) else None,
        expect_trailer=mode in (UNSIGNED_TRAILER, SIGNED_TRAILER),
        decoded_length=decoded_size,
    )
    return reader, decoded_size, reader


class LateChecksums(Mapping[str, str]):
    """Checksums known only once the body has been read (trailers, computed values).

    Stores read ``ObjectAttributes`` after consuming the body (the contract says
    so), so this mapping is complete by the time a store looks at it.
    """

    def __init__(self, reader: VerifyingReader, declared: Mapping[str, str], trailer: str | None):
        self._reader = reader
        self._declared = dict(declared)
        self._trailer = trailer

    def _values(self) -> dict[str, str]:
        values = dict(self._declared)
        if self._trailer and self._trailer in self._reader.checksums:
            values[self._trailer] = self._reader.checksums[self._trailer]
        return values

    def __getitem__(self, name: str) -> str:
        return self._values()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


def verified_body(
    request: Request,
    *,
    signer: ChunkSigner | None = None,
    required: bool = True,
    checksum_headers: bool = True,
) -> tuple[VerifyingReader, int | None, Mapping[str, str]]:
    """The body wrapped in the integrity checks its headers ask for.

    Returns ``(reader, size, checksums)``: ``checksums`` are what the client
    declared (in headers or a trailer), to be stored with the object. The reader
    raises BadDigest / XAmzContentSHA256Mismatch / SignatureDoesNotMatch before
    EOF, so a store never commits a body that failed a check. ``checksum_headers=False``
    leaves x-amz-checksum-* alone: on CompleteMultipartUpload they describe the object.
    """
    headers = request.headers
    md5 = headers.get("Content-MD5")
    declared = (
        parse_checksum_headers({k.lower(): v for k, v in headers.items()})
        if checksum_headers
        else {}
    )
    payload_hash = headers.get("x-amz-content-sha256", "")
    stream, size, chunked = open_body(request, signer=signer, required=required)
    trailer = parse_trailer_declaration(headers.get("x-amz-trailer", "")) if chunked else None
    spool = None
    if chunked is None and not is_http_chunked(request):  # the body is the bytes on the wire
        spool = spool_of(request.environ.get("wsgi.input"), size)
    reader = SpooledReader(
        stream,
        spool=spool,
        content_md5=parse_content_md5(md5) if md5 is not None else None,
        checksums=declared,
        sha256_hex=payload_hash if is_sha256_hex(payload_hash) else None,
        trailer_algorithm=trailer,
        trailers=chunked,
        size=size,
    )
    return reader, size, LateChecksums(reader, declared, trailer)


class SpooledReader(VerifyingReader):
    """A verified body and, when the server spooled it whole to a linkable file
    (``servers.waitress_patches.spool_of``), that file as ``spool`` for the store."""

    def __init__(self, raw: Readable, *, spool: Spool | None, **checks: Any) -> None:
        super().__init__(raw, **checks)
        self.spool = spool

    def verify_from_spool(self) -> bool:
        """Verify the body without reading it, when the server's hashing as the bytes
        arrived answers every check this reader makes: ``spool_of`` made sure the spool
        file holds exactly the body, and its MD5 settles a Content-MD5. Then the reader
        is at its end, as if read through. False (and nothing changed) when a check needs
        the bytes (a SHA-256 payload hash, an x-amz-checksum-*): read it through then.
        Raises BadDigest as ``read`` would."""
        spool = self.spool
        if spool is None or self._size != spool.size or self._count or self._done:
            return False
        if set(self._hashers) - {"MD5"} or self._trailer_algorithm is not None:
            return False
        if self._content_md5 is not None:
            if spool.md5 is None:
                return False
            if bytes.fromhex(spool.md5) != self._content_md5:
                self._failed = S3Error(
                    "BadDigest", "The Content-MD5 you specified did not match what we received."
                )
                raise self._failed
        self._count, self._done = spool.size, True
        return True


def read_small_body(
    request: Request,
    document: Document,
    *,
    signer: ChunkSigner | None = None,
    checksum_headers: bool = True,
) -> bytes:
    """Read a small, verified request body (an XML ``document``) fully, refusing
    with MaxMessageLengthExceeded before reading past ``document.max_bytes``."""
    limit = document.max_bytes
    reader, size, _ = verified_body(
        request, signer=signer, required=False, checksum_headers=checksum_headers
    )
    if size is not None and size > limit:
        raise S3Error("MaxMessageLengthExceeded")
    parts: list[bytes] = []
    total = 0
    while chunk := reader.read(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise S3Error("MaxMessageLengthExceeded")
        parts.append(chunk)
    return b"".join(parts)


def read_document(
    request: Request, document: Document, *, signer: ChunkSigner | None = None
) -> ET.Element:
    """The request's XML ``document``, read within its limits and parsed."""
    return xml.parse(read_small_body(request, document, signer=signer), document)


class _Empty:
    def read(self, size: int = -1, /) -> bytes:
        return b""
