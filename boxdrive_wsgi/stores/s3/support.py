"""What S3Store needs besides the store itself: the upstream client, error mapping,
attribute encoding and spooling of request bodies. No Flask or Werkzeug here."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO, Literal

from ..base import (
    CHUNK_SIZE,
    BackendError,
    BucketAlreadyExists,
    BucketNotEmpty,
    EntityTooSmall,
    IncompleteBody,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NotSupported,
    ObjectAttributes,
    PreconditionFailed,
    Readable,
    StoreError,
    StoreUnavailable,
    iter_chunks,
)

#: The upstream metadata entry holding our attributes as ASCII JSON (exact round-trip:
#: any Unicode, leading/trailing spaces, content headers, checksums, tags).
ATTRS_META = "boxdrive-attrs"
#: The upstream metadata entry of a bucket marker (prefix mode): ``{"owner": ...}``.
BUCKET_META = "boxdrive-bucket"
#: Request bodies up to this size are spooled in memory, larger ones in a temp file.
SPOOL_MEMORY = 8 * 1024 * 1024
#: Upstream error codes that ask us to slow down (answered 503 SlowDown).
THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequests",
        "TooManyRequestsException",
        "429",
    }
)
#: Upstream error codes of a backend that is down or overloaded (503 ServiceUnavailable).
UNAVAILABLE_CODES = frozenset({"InternalError", "ServiceUnavailable", "RequestTimeout"})
#: Longest Retry-After (seconds) passed on from upstream.
MAX_RETRY_AFTER = 60


def make_client(
    *,
    endpoint_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str | None,
    addressing_style: Literal["auto", "virtual", "path"] = "path",
    max_connections: int = 64,
    max_attempts: int = 2,
    connect_timeout: float = 3,
    read_timeout: float = 30,
    sign_payload: bool = True,
) -> Any:
    """A boto3 S3 client. ``sign_payload=False`` sends bodies as ``UNSIGNED-PAYLOAD``
    (the request is signed, its body not), so a body can be streamed (``Streamed``)
    even over ``http://``, where botocore would otherwise hash it whole before sending."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        s3={"addressing_style": addressing_style, "payload_signing_enabled": sign_payload},
        retries={"mode": "standard", "total_max_attempts": max(1, max_attempts)},
        max_pool_connections=max_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # Checksums only where the operation requires them: the store already verified
        # the body, and an upstream that predates flexible checksums stays usable.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=config,
    )


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _range_size(exc: BaseException) -> int:
    response: dict[str, Any] = getattr(exc, "response", {})
    size = response.get("Error", {}).get("ActualObjectSize")
    if size is None:
        header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("content-range")
        match = re.search(r"/(\d+)", header or "")
        size = match.group(1) if match else 0
    return int(size)


def map_error(exc: BaseException, bucket: str, key: str = "", upload_id: str = "") -> BaseException:
    """The store error for an upstream error; see ``upstream_failure`` for the rest."""
    if isinstance(exc, StoreError):
        return exc
    code = error_code(exc)
    status = http_status(exc)
    if code == "NoSuchBucket":
        return NoSuchBucket(bucket)
    if code in ("NoSuchKey", "404") or (code is None and status == 404):
        return NoSuchKey(bucket, key)
    if code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        return BucketAlreadyExists(bucket, None)
    if code == "BucketNotEmpty":
        return BucketNotEmpty(bucket)
    if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
        return PreconditionFailed(code)
    if code in ("InvalidRange", "416"):
        return InvalidRange(_range_size(exc))
    if code == "NoSuchUpload":
        return NoSuchUpload(bucket, key, upload_id)
    if code == "InvalidPart":
        return InvalidPart(_int_field(exc, "PartNumber"))
    if code == "InvalidPartOrder":
        return InvalidPartOrder(code)
    if code == "EntityTooSmall":
        return EntityTooSmall(
            _int_field(exc, "PartNumber"),
            _int_field(exc, "ProposedSize"),
            _int_field(exc, "MinSizeAllowed"),
        )
    if code in ("NotImplemented", "501"):
        return NotSupported(f"upstream: {code}")
    return upstream_failure(exc)


def upstream_failure(exc: BaseException) -> BaseException:
    """A StoreUnavailable (throttled, down, unreachable: the client may retry) or a
    BackendError (anything else upstream said) for an upstream error no store error
    names; anything that is not an upstream error (a bug) is returned unchanged. The
    message holds the operation, upstream's code, status and request id, never
    credentials (botocore's own messages may quote the endpoint URL)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        UnseekableStreamError,
    )

    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc) or "?"
        status = http_status(exc)
        response: dict[str, Any] = getattr(exc, "response", {})
        metadata = response.get("ResponseMetadata", {})
        detail = (
            f"upstream {exc.operation_name}: {code} (HTTP {status}, "
            f"request id {metadata.get('RequestId') or '-'})"
        )
        retry_after = _retry_after(metadata.get("HTTPHeaders", {}))
        if code in THROTTLE_CODES or status == 429:
            return StoreUnavailable(detail, throttled=True, retry_after=retry_after)
        if code in UNAVAILABLE_CODES or (status is not None and status >= 500):
            return StoreUnavailable(detail, retry_after=retry_after)
        return BackendError(detail)
    if isinstance(exc, UnseekableStreamError):  # a retry of a streamed body: the client's
        return StoreUnavailable("upstream failed while a streamed body was sent")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return StoreUnavailable(f"upstream unreachable: {type(exc).__name__}")
    if isinstance(exc, BotoCoreError):
        return BackendError(f"upstream client failed: {type(exc).__name__}")
    if isinstance(exc, OSError):  # a socket error botocore did not wrap
        return StoreUnavailable(f"upstream unreachable: {type(exc).__name__}")
    return exc


def _retry_after(headers: Mapping[str, str]) -> int | None:
    try:
        seconds = int(str(headers.get("retry-after", "")).strip())
    except ValueError:
        return None
    return min(MAX_RETRY_AFTER, seconds) if seconds > 0 else None


def _int_field(exc: BaseException, name: str) -> int:
    response: dict[str, Any] = getattr(exc, "response", {})
    try:
        return int(response.get("Error", {}).get(name, 0))
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- attributes


def encode_attributes(attributes: ObjectAttributes, etag: str | None = None) -> dict[str, str]:
    """Upstream ``Metadata`` for our attributes (and an ETag we must report instead)."""
    document: dict[str, Any] = {
        "content_type": attributes.content_type,
        "metadata": dict(attributes.metadata),
        "headers": dict(attributes.headers),
        "checksums": dict(attributes.checksums),
        "tags": dict(attributes.tags),
    }
    if attributes.acl is not None:
        document["acl"] = attributes.acl
    if attributes.owner is not None:
        document["owner"] = attributes.owner
    if attributes.encryption is not None:
        document["encryption"] = dict(attributes.encryption)
    if etag is not None:
        document["etag"] = etag
    return {ATTRS_META: json.dumps(document, ensure_ascii=True, separators=(",", ":"))}


def _optional_mapping(value: object) -> dict[str, str] | None:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def decode_attributes(
    metadata: Mapping[str, str] | None, content_type: str | None
) -> tuple[ObjectAttributes, str | None]:
    """Our attributes from upstream metadata, and the recorded ETag if any.

    An object written by someone else (no entry of ours) reads with its content type
    and its user metadata as they are upstream."""
    metadata = dict(metadata or {})
    raw = metadata.get(ATTRS_META)
    if raw is None:
        return ObjectAttributes(content_type=content_type, metadata=metadata), None
    try:
        document = json.loads(raw)
        attributes = ObjectAttributes(
            content_type=document.get("content_type"),
            metadata=dict(document.get("metadata", {})),
            headers=dict(document.get("headers", {})),
            checksums=dict(document.get("checksums", {})),
            tags=dict(document.get("tags", {})),
            acl=_optional_str(document.get("acl")),
            owner=_optional_str(document.get("owner")),
            encryption=_optional_mapping(document.get("encryption")),
        )
    except (ValueError, TypeError, AttributeError):
        return ObjectAttributes(content_type=content_type), None
    etag = document.get("etag")
    return attributes, etag if isinstance(etag, str) else None


def strip_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def utc(value: datetime | None) -> datetime:
    when = value or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- bodies


class Spooled:
    """A request body copied, in chunks, into a seekable spool (memory, then disk),
    with its MD5 computed on the way. botocore needs a seekable body with a known length
    to sign and checksum a PUT; a spool gives that without holding a large body in
    memory. Close it when done (``with``)."""

    def __init__(self, body: Readable | BinaryIO, size: int | None, memory: int = SPOOL_MEMORY):
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=memory)  # noqa: SIM115
        md5 = hashlib.md5()
        length = 0
        try:
            for chunk in iter_chunks(body, size):
                md5.update(chunk)
                self.file.write(chunk)
                length += len(chunk)
        except BaseException:
            self.file.close()
            raise
        self.file.seek(0)
        self.size = length
        self.md5 = md5.hexdigest()

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def error(self, exc: BaseException) -> BaseException:
        return exc

    def verify(self, etag: str | None) -> None:
        _verify(self.md5, etag)


def pid() -> int:
    return os.getpid()


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def meta_owner(metadata: Mapping[str, str]) -> str | None:
    """The owner a bucket's ``BUCKET_META`` metadata names, if any."""
    try:
        owner = json.loads(metadata.get(BUCKET_META, "{}")).get("owner")
    except (ValueError, AttributeError):
        return None
    return owner if isinstance(owner, str) else None


def upstream_chunks(stream: Any) -> Iterator[bytes]:
    yield from stream.iter_chunks(CHUNK_SIZE)


class Streamed:
    """A request body of known length handed to botocore as it is read, not spooled, its
    MD5 computed on the way. Needs an unsigned payload (``make_client(stream=True)``):
    signing it would make botocore read the whole body first. botocore cannot rewind it to
    retry (UnseekableStreamError, answered 503: the client retries); an error the body
    raised while upstream was reading it (IncompleteBody, BadDigest) is kept in
    ``failed``, since botocore reports it as its own."""

    def __init__(self, body: Readable | BinaryIO, size: int) -> None:
        self._body = body
        self._md5 = hashlib.md5()
        self._left = size
        self.size = size
        self.failed: BaseException | None = None

    def read(self, n: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        try:
            chunk = self._body.read(want)
            if not chunk:
                raise IncompleteBody(self._left)
        except BaseException as exc:
            self.failed = exc
            raise
        self._md5.update(chunk)
        self._left -= len(chunk)
        return chunk

    def tell(self) -> int:
        return self.size - self._left

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Only to where it is (botocore's CRT signer and urllib3 ask it to be seekable;
        rewinding what was sent, for a retry, is impossible)."""
        if whence != 0 or offset != self.tell():
            raise io.UnsupportedOperation("a streamed request body cannot be rewound")
        return offset

    @property
    def md5(self) -> str:
        """The MD5 of the whole body (once upstream has read all of it)."""
        if self._left:
            raise IncompleteBody(self._left)
        return self._md5.hexdigest()

    @property
    def file(self) -> Streamed:
        return self

    def __enter__(self) -> Streamed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def error(self, exc: BaseException) -> BaseException:
        """What to raise for ``exc``, raised while upstream read this body."""
        return self.failed if self.failed is not None else exc

    def verify(self, etag: str | None) -> None:
        _verify(self.md5, etag)


def request_body(
    body: Readable | BinaryIO, size: int | None, *, stream: bool, memory: int = SPOOL_MEMORY
) -> Spooled | Streamed:
    """``body`` as upstream gets it: streamed if ``stream`` and its size is known and
    over ``memory``, else spooled (botocore needs a length, or a whole body to sign). A
    body held in memory anyway stays retryable: botocore resends it when upstream drops a
    connection (a streamed body can be resent only if no byte of it was sent)."""
    if stream and size is not None and size > memory:
        return Streamed(body, size)
    return Spooled(body, size, memory)


_MD5_HEX = re.compile(r"[0-9a-f]{32}")


def _verify(md5: str, etag: str | None) -> None:
    """An upstream ETag that is an MD5 (no encryption, one PUT) must be the body's."""
    upstream = strip_etag(etag).lower()
    if _MD5_HEX.fullmatch(upstream) and upstream != md5:
        raise BackendError(f"upstream stored a body with MD5 {upstream}, not {md5}")
