"""What stores speak: buckets, objects and their attributes, pages, bodies, and the
options of writes, attribute updates and conditional deletes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import BinaryIO, Literal

from .errors import InvalidRange, NoSuchKey, PreconditionFailed

#: A bucket's versioning status; None (on ``BucketInfo.versioning``): never versioned.
VersioningStatus = Literal["Enabled", "Suspended"]
ENABLED: VersioningStatus = "Enabled"
SUSPENDED: VersioningStatus = "Suspended"

#: The version id of the null version (written while unversioned or Suspended).
NULL_VERSION = "null"


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: datetime
    owner: str | None = None
    #: "Enabled", "Suspended", or None if versioning was never set on the bucket.
    versioning: str | None = None
    #: The names of the bucket's configuration slots that hold a document, when the
    #: store can tell them with the lookup (None: unknown). The HTTP layer then reads
    #: only slots that exist: a request to a bucket without a policy, lock, lifecycle
    #: or ACL document costs no read for them.
    config_names: frozenset[str] | None = None


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
    #: object lock of this version: "GOVERNANCE" | "COMPLIANCE" until ``lock_until``
    #: (timezone-aware UTC), and the legal hold. Stored verbatim; the HTTP layer enforces.
    lock_mode: str | None = None
    lock_until: datetime | None = None
    legal_hold: bool = False
    #: Server-side encryption: how the stored bytes (ciphertext) were encrypted (scheme,
    #: key id, wrapped data key, ...; see encryption/sse.py), or None for plaintext.
    #: A store that keeps attributes MUST keep this: without it the object is unreadable.
    encryption: Mapping[str, str] | None = None

    def copy(self) -> ObjectAttributes:
        """A snapshot with plain dicts (the mappings handed in may be live views)."""
        return replace(
            self,
            metadata=dict(self.metadata),
            headers=dict(self.headers),
            checksums=dict(self.checksums),
            tags=dict(self.tags),
            encryption=None if self.encryption is None else dict(self.encryption),
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
    #: None: the bucket was never versioned (S3 omits x-amz-version-id); "null": the
    #: null version; else an opaque id (URL-safe ASCII, at most 64 characters).
    version_id: str | None = None
    is_latest: bool = True
    #: a delete marker: size 0, etag "", attributes with its owner only.
    delete_marker: bool = False

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
class VersionPage:
    """One page of ListObjectVersions: versions and delete markers interleaved, by key
    (UTF-8 byte order), then newest first; common prefixes merged in as in ObjectPage."""

    versions: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    #: where the next page starts after (a key or common prefix, and a version of it).
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None


@dataclass(frozen=True)
class DeleteResult:
    """What delete_object did: S3's x-amz-version-id and x-amz-delete-marker.

    ``version_id``: the marker added, or the version removed (None on a never-versioned
    bucket); ``delete_marker``: a marker was added, or the version removed was one."""

    version_id: str | None = None
    delete_marker: bool = False


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


#: Destination attributes derived from the source version a copy reads.
SourceAttributes = Callable[["ObjectInfo"], ObjectAttributes]


def copy_attributes(
    attributes: ObjectAttributes | SourceAttributes | None, source: ObjectInfo
) -> ObjectAttributes:
    """A copy's attributes as ``copy_object`` takes them: None keeps the source's, a
    callable derives them from the source version copied (and MAY raise: then nothing
    is written), anything else is them."""
    if attributes is None:
        return source.attributes
    if callable(attributes):
        return attributes(source)
    return attributes


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


class WriteMode(Enum):
    """How a write treats an object already under its key (arrow-rs ``PutMode``)."""

    #: Replace whatever is there (a plain PUT).
    OVERWRITE = "overwrite"
    #: Write only if the key is absent (``If-None-Match: *``), else PreconditionFailed.
    CREATE = "create"
    #: Write only over the object with ETag ``WriteOptions.etag`` (``If-Match``), or any
    #: object with ``*``: NoSuchKey if absent, PreconditionFailed if the ETag differs.
    UPDATE = "update"


@dataclass(frozen=True)
class WriteOptions:
    """How put_object, copy_object and complete_multipart_upload write their object.

    Stores check ``check`` under the same lock / transaction that commits the write.
    Room for what later issues add to a write (version and object-lock settings).
    """

    mode: WriteMode = WriteMode.OVERWRITE
    #: With UPDATE: the ETag the current object must have (no quotes), or ``*``.
    etag: str | None = None

    @classmethod
    def create(cls) -> WriteOptions:
        return cls(WriteMode.CREATE)

    @classmethod
    def update(cls, etag: str) -> WriteOptions:
        return cls(WriteMode.UPDATE, etag)

    @property
    def conditional(self) -> bool:
        return self.mode is not WriteMode.OVERWRITE

    def check(self, bucket: str, key: str, current: ObjectInfo | None) -> None:
        """Raise unless the write may go ahead over ``current`` (None: key absent)."""
        if self.mode is WriteMode.CREATE and current is not None:
            raise PreconditionFailed("object exists")
        if self.mode is WriteMode.UPDATE:
            if current is None:
                raise NoSuchKey(bucket, key)
            if self.etag != "*" and self.etag != current.etag:
                raise PreconditionFailed("etag does not match")


#: A plain write: replace whatever is there.
OVERWRITE = WriteOptions()


class Keep(Enum):
    """An attribute an AttributeUpdate leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class AttributeUpdate:
    """A change to an object's attributes that leaves its content alone (PutObjectTagging,
    PutObjectAcl; later retention and legal hold). Fields left ``KEEP`` stay."""

    tags: Mapping[str, str] | Keep = KEEP
    #: the ACL as ``ObjectAttributes.acl`` holds it; None is the default ACL.
    acl: str | Keep | None = KEEP
    #: object lock retention (None removes it) and legal hold, as ObjectAttributes has them.
    lock_mode: str | Keep | None = KEEP
    lock_until: datetime | Keep | None = KEEP
    legal_hold: bool | Keep = KEEP

    def apply(self, attributes: ObjectAttributes) -> ObjectAttributes:
        new = attributes
        if not isinstance(self.tags, Keep):
            new = replace(new, tags=dict(self.tags))
        if not isinstance(self.acl, Keep):
            new = replace(new, acl=self.acl)
        if not isinstance(self.lock_mode, Keep):
            new = replace(new, lock_mode=self.lock_mode)
        if not isinstance(self.lock_until, Keep):
            new = replace(new, lock_until=self.lock_until)
        if not isinstance(self.legal_hold, Keep):
            new = replace(new, legal_hold=self.legal_hold)
        return new


def multipart_etag(part_md5s: Iterable[bytes]) -> str:
    digests = list(part_md5s)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"
