"""The store contract: a synchronous, streaming ObjectStore and the types it speaks.

A store only stores. The HTTP layer does all protocol work (auth, XML, listing
versions, URL encoding, conditionals on reads). This module never imports Flask
or Werkzeug, so a store can be used and tested without a web stack.

Obligations use MUST/SHOULD as in RFC 2119. The contract test suite in
``tests/stores/`` is the executable definition of this interface.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

#: Chunk size used when streaming bodies in and out.
CHUNK_SIZE = 1024 * 1024


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base class of every error a store raises on purpose."""


class NoSuchBucket(StoreError):
    def __init__(self, bucket: str) -> None:
        super().__init__(bucket)
        self.bucket = bucket


class NoSuchKey(StoreError):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"{bucket}/{key}")
        self.bucket = bucket
        self.key = key


class BucketAlreadyExists(StoreError):
    """The bucket exists. ``owner`` is its owner, so the caller can tell
    BucketAlreadyOwnedByYou from BucketAlreadyExists."""

    def __init__(self, bucket: str, owner: str | None) -> None:
        super().__init__(bucket)
        self.bucket = bucket
        self.owner = owner


class BucketNotEmpty(StoreError):
    def __init__(self, bucket: str) -> None:
        super().__init__(bucket)
        self.bucket = bucket


class PreconditionFailed(StoreError):
    """A conditional write (``if_match`` / ``if_none_match``) did not hold."""


class InvalidRange(StoreError):
    """The requested byte range cannot be satisfied for an object of ``size`` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for size {size}")
        self.size = size


class NotSupported(StoreError):
    """The store cannot do this (the HTTP layer answers 501 NotImplemented)."""


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: datetime
    owner: str | None = None


@dataclass(frozen=True)
class ObjectAttributes:
    """What a client says about an object when writing it; stored verbatim and
    returned on read.

    ``metadata`` holds user metadata with lower-case names, without the
    ``x-amz-meta-`` prefix. ``headers`` holds standard content headers with
    canonical names (Content-Encoding, Content-Disposition, Content-Language,
    Cache-Control, Expires). ``checksums`` maps an algorithm name as S3 spells
    it (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) to its base64 value.
    """

    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    checksums: Mapping[str, str] = field(default_factory=dict)

    def copy(self) -> ObjectAttributes:
        """A snapshot with plain dicts (the mappings handed in may be live views)."""
        return ObjectAttributes(
            content_type=self.content_type,
            metadata=dict(self.metadata),
            headers=dict(self.headers),
            checksums=dict(self.checksums),
        )


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    #: hex MD5 of the content, or ``md5-of-part-md5s-N`` for multipart; no quotes.
    etag: str
    #: timezone-aware UTC, whole seconds are enough (HTTP dates have no fractions).
    last_modified: datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)

    @property
    def content_type(self) -> str | None:
        return self.attributes.content_type

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.attributes.metadata


@dataclass(frozen=True)
class ByteRange:
    """One HTTP byte range, not yet resolved against an object's size.

    ``ByteRange(10, 19)`` is bytes 10..19 inclusive, ``ByteRange(10, None)`` is
    from 10 to the end, ``ByteRange(None, 5)`` is the last 5 bytes.
    """

    start: int | None
    end: int | None

    def resolve(self, size: int) -> tuple[int, int]:
        """Return ``(start, stop)`` (stop exclusive) or raise InvalidRange."""
        if self.start is None:
            if self.end is None or self.end <= 0 or size == 0:
                raise InvalidRange(size)
            return max(0, size - self.end), size
        if self.start >= size:
            raise InvalidRange(size)
        stop = size if self.end is None else min(self.end + 1, size)
        if stop <= self.start:
            raise InvalidRange(size)
        return self.start, stop


@dataclass(frozen=True)
class ObjectPage:
    """One page of a listing, in UTF-8 byte order of keys and prefixes merged."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    #: the last key or common prefix on this page: where the next page starts after.
    last: str | None = None


class ObjectBody:
    """An object's content as an iterable of byte chunks, plus what describes it.

    Returned straight into a WSGI response; ``close()`` MUST release what it
    holds and is safe to call twice. ``content_range`` is the ``(start, stop)``
    slice served when a range was asked for. A store with the content in a local
    file MAY set ``path`` (with ``offset``/``length``) so the server can send
    the file itself (sendfile, nginx X-Accel-Redirect).
    """

    def __init__(
        self,
        info: ObjectInfo,
        chunks: Iterable[bytes],
        *,
        content_range: tuple[int, int] | None = None,
        on_close: Callable[[], None] | None = None,
        path: str | None = None,
    ) -> None:
        self.info = info
        self.content_range = content_range
        self.path = path
        self._chunks = chunks
        self._on_close = on_close
        self._closed = False

    @property
    def offset(self) -> int:
        return self.content_range[0] if self.content_range else 0

    @property
    def length(self) -> int:
        if self.content_range:
            return self.content_range[1] - self.content_range[0]
        return self.info.size

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def read_all(self) -> bytes:
        """Convenience for tests and small objects; closes the body."""
        try:
            return b"".join(self)
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> ObjectBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# --------------------------------------------------------------------------- helpers


def iter_chunks(body: Readable | BinaryIO, size: int | None = None) -> Iterator[bytes]:
    """Read ``body`` in CHUNK_SIZE pieces; stop after ``size`` bytes if given.

    Raises ``IncompleteBody`` when ``size`` is given and the body ends early, so
    a store never commits a truncated object.
    """
    remaining = size
    while remaining is None or remaining > 0:
        want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
        chunk = body.read(want)
        if not chunk:
            if remaining:
                raise IncompleteBody(remaining)
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class IncompleteBody(StoreError):
    """The request body ended before its declared size."""

    def __init__(self, missing: int) -> None:
        super().__init__(f"body ended {missing} bytes early")
        self.missing = missing


def check_write_condition(
    bucket: str,
    key: str,
    current: ObjectInfo | None,
    *,
    if_match: str | None,
    if_none_match: bool,
) -> None:
    """Raise PreconditionFailed unless a conditional write may go ahead.

    Stores call this under the same lock / transaction that commits the write.
    ``if_match`` is an ETag without quotes, or ``*``.
    """
    if if_none_match and current is not None:
        raise PreconditionFailed("object exists")
    if if_match is not None:
        if current is None:
            raise NoSuchKey(bucket, key)
        if if_match != "*" and if_match != current.etag:
            raise PreconditionFailed("etag does not match")


def multipart_etag(part_md5s: Iterable[bytes]) -> str:
    digests = list(part_md5s)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


# --------------------------------------------------------------------------- the interface


class ObjectStore(ABC):
    """A synchronous, streaming object store.

    Thread safety: a store MUST be safe to call from many threads at once (waitress
    and gunicorn gthread serve requests on threads). A store that keeps its data
    outside the process (filesystem, upstream S3) SHOULD also be safe with several
    processes sharing it.
    """

    # ---- buckets

    @abstractmethod
    def list_buckets(self) -> list[BucketInfo]:
        """All buckets, sorted by name."""

    @abstractmethod
    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        """Create an empty bucket. MUST raise BucketAlreadyExists (with the
        existing owner) if it exists. Names are validated by the HTTP layer."""

    @abstractmethod
    def head_bucket(self, bucket: str) -> BucketInfo:
        """MUST raise NoSuchBucket if absent."""

    @abstractmethod
    def delete_bucket(self, bucket: str) -> None:
        """MUST raise NoSuchBucket if absent, BucketNotEmpty if it holds objects."""

    # ---- objects

    @abstractmethod
    def put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        *,
        size: int | None = None,
        attributes: ObjectAttributes | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        """Store ``body`` under ``key``, replacing any object there.

        MUST read ``body`` in chunks (never whole), compute the MD5 ETag while
        streaming, and be atomic: readers see the old object or the new one,
        never a partial one. If reading ``body`` raises, nothing is stored and
        the exception propagates unchanged. If ``size`` is given and the body is
        shorter, raise IncompleteBody and store nothing. ``attributes`` MUST be
        read (and copied, e.g. with ``ObjectAttributes.copy``) only after the body
        reached EOF: checksums sent as trailers are known only then.

        Conditional writes: ``if_none_match=True`` (S3 ``If-None-Match: *``)
        raises PreconditionFailed if the key exists; ``if_match`` (an ETag or
        ``*``) raises NoSuchKey if the key is absent and PreconditionFailed if
        the ETag differs. The check and the commit MUST be atomic.
        MUST raise NoSuchBucket if the bucket is absent.
        """

    @abstractmethod
    def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> ObjectBody:
        """Open an object for reading. MUST raise NoSuchBucket / NoSuchKey, and
        InvalidRange if ``byte_range`` cannot be satisfied. The body MUST stay
        consistent (the object as it was when opened) even if the key is
        overwritten or deleted while it is read."""

    @abstractmethod
    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """MUST raise NoSuchBucket / NoSuchKey."""

    @abstractmethod
    def delete_object(self, bucket: str, key: str) -> None:
        """Remove a key. Deleting an absent key is not an error (S3 answers 204);
        an absent bucket MUST raise NoSuchBucket."""

    @abstractmethod
    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """One page of keys starting with ``prefix`` and greater than ``start_after``,
        in UTF-8 byte order.

        With a ``delimiter``, a key whose remainder after ``prefix`` contains it is
        rolled into the common prefix ending at the first delimiter; each common
        prefix counts once toward ``max_keys``. A common prefix is returned only if
        it sorts after ``start_after``, and keys it covers are skipped when it does
        not. ``is_truncated`` is true when more entries follow; ``last`` is the last
        key or prefix returned. A page SHOULD cost O(max_keys), not O(bucket).
        ``max_keys=0`` returns an empty, untruncated page.
        MUST raise NoSuchBucket if absent.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release resources (connections, threads). Optional."""
