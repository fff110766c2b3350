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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from .multipart import MultipartBackend

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


class NoSuchUpload(StoreError):
    """No multipart upload ``upload_id`` for this bucket and key (never created,
    aborted, or completed)."""

    def __init__(self, bucket: str, key: str, upload_id: str) -> None:
        super().__init__(f"{bucket}/{key}: upload {upload_id}")
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id


class InvalidPart(StoreError):
    """A part listed for completion was not uploaded, or its ETag differs."""

    def __init__(self, part_number: int) -> None:
        super().__init__(f"part {part_number}")
        self.part_number = part_number


class InvalidPartOrder(StoreError):
    """The parts listed for completion are not in strictly ascending order."""


class EntityTooSmall(StoreError):
    """A part other than the last is smaller than the store's minimum part size."""

    def __init__(self, part_number: int, size: int, minimum: int) -> None:
        super().__init__(f"part {part_number} has {size} bytes, minimum {minimum}")
        self.part_number = part_number
        self.size = size
        self.minimum = minimum


class EntityTooLarge(StoreError):
    """The body is larger than the store accepts (``maximum`` bytes); nothing is stored."""

    def __init__(self, maximum: int) -> None:
        super().__init__(f"larger than {maximum} bytes")
        self.maximum = maximum


class StoreUnavailable(StoreError):
    """The store's backend is overloaded or down (after retries); the client may retry.

    ``throttled``: the backend asked us to slow down (answered 503 SlowDown rather than
    503 ServiceUnavailable). ``retry_after``: seconds the client should wait, if known.
    The message names what failed (for the server log); it never holds a secret."""

    def __init__(
        self, message: str = "", *, throttled: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.throttled = throttled
        self.retry_after = retry_after


class BackendError(StoreError):
    """The store's backend answered something the store cannot pass on (an unknown
    error, or a refusal of the store's own credentials): answered 502, because the
    client did nothing wrong and retrying at once will not help. The message is for the
    server log and never holds a secret."""


class InsufficientStorage(StoreError):
    """No room for this write (the disk is full or below the store's free-space
    threshold); nothing was stored. Deletes keep working."""


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: datetime
    owner: str | None = None


@dataclass(frozen=True)
class PartInfo:
    """One uploaded part of a multipart upload."""

    part_number: int
    #: hex MD5 of the part's content, no quotes.
    etag: str
    size: int
    last_modified: datetime
    #: algorithm (CRC32, SHA256, ...) -> base64 value, as sent with the part.
    checksums: Mapping[str, str] = field(default_factory=dict)


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
    #: object tags (key -> value), validated by the HTTP layer; order is kept.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: the object's access control list as the HTTP layer encodes it (a JSON text),
    #: or None for the default (the owner has full control).
    acl: str | None = None
    #: canonical id of the identity that wrote the object, if known.
    owner: str | None = None
    #: ``COMPOSITE`` (checksums of the part checksums, ``...-N``) or ``FULL_OBJECT``;
    #: on an upload, with ``checksum_algorithm``, what CreateMultipartUpload asked for.
    checksum_type: str | None = None
    checksum_algorithm: str | None = None
    #: A multipart object's parts in order, or None if unknown (then ?partNumber= and
    #: GetObjectAttributes answer 501). A store that keeps attributes MUST keep this.
    parts: tuple[PartInfo, ...] | None = None

    def copy(self) -> ObjectAttributes:
        """A snapshot with plain dicts (the mappings handed in may be live views)."""
        return replace(
            self,
            metadata=dict(self.metadata),
            headers=dict(self.headers),
            checksums=dict(self.checksums),
            tags=dict(self.tags),
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


@dataclass(frozen=True)
class UploadInfo:
    """A multipart upload in progress. ``attributes`` are those given at creation;
    their ``owner`` is who initiated it (None where a store keeps no attributes)."""

    bucket: str
    key: str
    upload_id: str
    initiated: datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)


@dataclass(frozen=True)
class PartPage:
    """One page of ListParts, in part-number order."""

    parts: list[PartInfo]
    is_truncated: bool
    #: the last part number on this page (where the next page starts after).
    next_part_number_marker: int | None = None
    #: the upload's attributes (its checksum algorithm and type), if the store tells them.
    attributes: ObjectAttributes | None = None


@dataclass(frozen=True)
class UploadPage:
    """One page of ListMultipartUploads: by key (UTF-8 byte order), then by initiation."""

    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None


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
        file: BinaryIO | None = None,
    ) -> None:
        self.info = info
        self.content_range = content_range
        self.path = path
        self.file = file
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


#: Destination attributes derived from the source version a copy reads.
SourceAttributes = Callable[["ObjectInfo"], ObjectAttributes]

#: A completed object's attributes from its upload's and the chosen parts; MAY raise.
CompletedAttributes = Callable[[ObjectAttributes, Sequence[PartInfo]], ObjectAttributes]


@dataclass(frozen=True)
class DeleteCondition:
    """A conditional delete (If-Match, x-amz-if-match-size, -last-modified-time, or
    DeleteObjects' per-object ones): every condition given must hold."""

    etag: str | None = None  # without quotes, or ``*`` (the object must exist)
    size: int | None = None
    last_modified: datetime | None = None  # compared in whole seconds

    def allows(self, bucket: str, key: str, current: ObjectInfo | None) -> bool:
        """True: delete ``current``; False: nothing to delete. NoSuchKey if absent with an
        ETag given (S3: 404), else PreconditionFailed if a condition fails."""
        if current is None:
            if self.etag is not None:
                raise NoSuchKey(bucket, key)
            return False
        if self.etag is not None and self.etag not in ("*", current.etag):
            raise PreconditionFailed("etag does not match")
        if self.size is not None and self.size != current.size:
            raise PreconditionFailed("size does not match")
        when = self.last_modified
        if when is not None and int(when.timestamp()) != int(current.last_modified.timestamp()):
            raise PreconditionFailed("last modified time does not match")
        return True


class _ChunkReader:
    """A ``Readable`` over an iterator of byte chunks (an ObjectBody)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return data


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
        etag: str | None = None,
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

        ``etag``, when given (multipart completion composing parts), MUST be
        recorded as the object's ETag instead of the MD5 of the content; the body
        MUST still be read to its end.
        """

    @abstractmethod
    def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> ObjectBody:
        """Open an object for reading. MUST raise NoSuchBucket / NoSuchKey, and
        InvalidRange if ``byte_range`` cannot be satisfied. The body MUST stay
        consistent (the object as it was when opened) even if the key is
        overwritten or deleted while it is read."""

    def get_object_part(self, bucket: str, key: str, number: int) -> tuple[ObjectBody, int] | None:
        """Multipart objects without ``attributes.parts``: part ``number`` (content_range:
        its span) and the part count; InvalidPart past the last. None (default): 501."""
        return None

    @abstractmethod
    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """MUST raise NoSuchBucket / NoSuchKey."""

    @abstractmethod
    def delete_object(self, bucket: str, key: str) -> None:
        """Remove a key. Deleting an absent key is not an error (S3 answers 204);
        an absent bucket MUST raise NoSuchBucket."""

    def delete_object_if(self, bucket: str, key: str, condition: DeleteCondition) -> None:
        """Delete ``key`` if ``condition.allows`` it, check and delete atomic; NoSuchBucket.
        A store that cannot keeps this default: NotSupported (501), never a plain delete."""
        raise NotSupported("conditional delete")

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

    # ---- multipart uploads
    #
    # Every store has them: the default (stores/multipart.py) stages parts as files
    # under multipart_staging_dir() with the upload state in SQLite there, and
    # completes by streaming the parts, concatenated, into put_object. A store with
    # a native implementation overrides multipart_backend() (or the methods).

    #: Smallest size of every part but the last (S3: 5 MiB). Tests may lower it.
    multipart_min_part_size: int = 5 * 1024 * 1024

    def multipart_staging_dir(self) -> str:
        """Where the default multipart implementation keeps parts and upload state.

        Default: a temporary directory per store instance (removed when the store
        is garbage-collected). Stores shared by several processes SHOULD return a
        directory they all see: the default keeps no upload state in memory.
        """
        from .multipart import default_staging_dir

        return default_staging_dir(self)

    def multipart_backend(self) -> MultipartBackend:
        """The object implementing the multipart methods below (default: staged)."""
        from .multipart import staged_backend

        return staged_backend(self)

    def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes | None = None
    ) -> str:
        """Start an upload; return its id (URL-safe ASCII).

        ``attributes`` (content type, metadata, headers) become the object's on
        completion. MUST raise NoSuchBucket if the bucket is absent.
        """
        return self.multipart_backend().create(bucket, key, attributes=attributes)

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Readable | BinaryIO,
        *,
        size: int | None = None,
        checksums: Mapping[str, str] | None = None,
    ) -> PartInfo:
        """Store part ``part_number`` (1..10000), replacing a part with that number.

        Body rules as put_object: read in chunks, MD5 ETag computed while streaming,
        IncompleteBody if shorter than ``size``; if reading raises, no part is stored
        (an earlier part with the same number stays). ``checksums`` MUST be read only
        after EOF. MUST raise NoSuchUpload if the upload does not exist (also after
        it was completed or aborted), NoSuchBucket if the bucket is absent.
        """
        return self.multipart_backend().upload_part(
            bucket, key, upload_id, part_number, body, size=size, checksums=checksums
        )

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo:
        """Compose the listed ``(part_number, etag)`` parts into the object ``key``.

        MUST raise, before writing anything: NoSuchUpload; InvalidPartOrder unless
        part numbers strictly ascend; InvalidPart if a listed part was not uploaded or
        its ETag (quotes ignored) differs; EntityTooSmall if a part but the last is
        smaller than ``multipart_min_part_size``. Parts not listed are discarded.
        The object's ETag MUST be ``md5(concat(part MD5 digests))-N``; its
        attributes are those given at creation, or ``attributes(those, chosen parts)``
        (called before writing; if it raises, nothing is), with ``parts`` = the chosen
        parts. Conditional writes and atomicity as put_object. On success the upload no
        longer exists.
        """
        return self.multipart_backend().complete(
            bucket,
            key,
            upload_id,
            parts,
            if_match=if_match,
            if_none_match=if_none_match,
            attributes=attributes,
        )

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts. MUST raise NoSuchUpload if absent.
        A part upload racing with the abort MUST NOT resurrect it."""
        self.multipart_backend().abort(bucket, key, upload_id)

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartPage:
        """Parts with numbers greater than ``part_number_marker``, ascending, at most
        ``max_parts``. MUST raise NoSuchUpload if the upload does not exist."""
        return self.multipart_backend().list_parts(
            bucket, key, upload_id, part_number_marker=part_number_marker, max_parts=max_parts
        )

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        """Uploads in progress, by key (UTF-8 byte order) then initiation order.

        Starts after ``key_marker``; with ``upload_id_marker`` too, the uploads of
        ``key_marker`` after that id come first. ``prefix``/``delimiter`` roll keys
        into common prefixes as list_objects does (each counts once toward
        ``max_uploads``). MUST raise NoSuchBucket if the bucket is absent.
        """
        return self.multipart_backend().list_uploads(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

    # ---- copies, tags and bucket configuration (defaults a store may replace)

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        """Copy an object's content to ``dst_key``, replacing any object there.

        ``attributes`` are the copy's attributes: None keeps the source's (tags
        included); a callable receives the ``ObjectInfo`` of the exact source version
        being copied and returns them. The callable MAY raise (the HTTP layer checks
        x-amz-copy-source-if-* there) and then nothing is written. The copy MUST be
        atomic like ``put_object`` and MUST stay correct if the source is replaced or
        deleted meanwhile (it copies one version, whole). ``if_match`` and
        ``if_none_match`` apply to the destination as in ``put_object``. MUST raise
        NoSuchBucket / NoSuchKey for a missing source, NoSuchBucket for a missing
        destination bucket. The ETag of a copy of a single-part object is its MD5.

        The default streams ``get_object`` into ``put_object``.
        """
        source = self.get_object(src_bucket, src_key)
        with source:
            if attributes is None:
                new = source.info.attributes
            elif callable(attributes):
                new = attributes(source.info)
            else:
                new = attributes
            # put_object makes a single-part object (ETag: the MD5): no part boundaries.
            return self.put_object(
                dst_bucket,
                dst_key,
                _ChunkReader(iter(source)),
                size=source.info.size,
                attributes=replace(new, parts=None),
                if_match=if_match,
                if_none_match=if_none_match,
            )

    def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> ObjectInfo:
        """Replace an object's tags, keeping its content and other attributes.

        MUST be atomic (readers see the old tags or the new ones) and MUST raise
        NoSuchBucket / NoSuchKey. A native implementation SHOULD keep the ETag and
        Last-Modified, as S3 does; the default rewrites the object through
        ``copy_object`` (the ETag is kept, Last-Modified is not) and applies the
        tags only if the object was not replaced meanwhile.
        """

        def retag(info: ObjectInfo) -> ObjectAttributes:
            return replace(info.attributes, tags=dict(tags))

        head = self.head_object(bucket, key)
        return self.copy_object(bucket, key, bucket, key, attributes=retag, if_match=head.etag)

    def put_object_acl(self, bucket: str, key: str, acl: str | None) -> ObjectInfo:
        """Replace an object's ACL (``ObjectAttributes.acl``), keeping its content and
        other attributes, with the same obligations as ``put_object_tags``; the
        default rewrites the object through ``copy_object`` likewise."""

        def reacl(info: ObjectInfo) -> ObjectAttributes:
            return replace(info.attributes, acl=acl)

        head = self.head_object(bucket, key)
        return self.copy_object(bucket, key, bucket, key, attributes=reacl, if_match=head.etag)

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        """The configuration document ``name`` (``tagging``, ``cors``, ``policy``, ...)
        of a bucket, or None if it has none. The HTTP layer owns the format.
        MUST raise NoSuchBucket. Stores without configuration slots raise
        NotSupported (answered 501)."""
        raise NotSupported(f"bucket configuration {name!r}")

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        """Set (or with None, remove) a bucket's configuration document ``name``,
        atomically. MUST raise NoSuchBucket. Deleting a bucket MUST drop its
        configuration, so a bucket created again under the name starts bare."""
        raise NotSupported(f"bucket configuration {name!r}")

    def storage_full(self) -> bool:
        """True while the store refuses writes for lack of space (readiness turns 503)."""
        return False

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release resources (connections, threads). Optional."""
