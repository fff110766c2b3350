"""The store contract: a synchronous, streaming ObjectStore and the types it speaks.

A store only stores. The HTTP layer does all protocol work (auth, XML, listing
versions, URL encoding, conditionals on reads). This module never imports Flask
or Werkzeug, so a store can be used and tested without a web stack.

Obligations use MUST/SHOULD as in RFC 2119. The contract kit ``boxdrive_wsgi.testing``
(``StoreContract``) is the executable definition of this interface.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import BinaryIO

from .capabilities import Capabilities
from .errors import (
    BackendError,
    BucketAlreadyExists,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InsufficientStorage,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    NotSupported,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
    VersionIsDeleteMarker,
)
from .model import (
    OVERWRITE,
    AttributeUpdate,
    BucketInfo,
    ByteRange,
    CompletedAttributes,
    DeleteCondition,
    DeleteResult,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    PartInfo,
    PartPage,
    SourceAttributes,
    UploadInfo,
    UploadPage,
    VersionPage,
    WriteMode,
    WriteOptions,
    copy_attributes,
    multipart_etag,
)
from .multipart.backend import MultipartBackend
from .multipart.staged import StagedMultipart
from .streams import CHUNK_SIZE, IterReader, Readable, iter_chunks
from .versions import as_null_versions, require_null

#: Called with the version a delete is about to remove for good; may raise to refuse.
DeleteGuard = Callable[[ObjectInfo], None]

#: The contract's names, importable from here as before the split into errors,
#: model and streams.
__all__ = [
    "CHUNK_SIZE",
    "OVERWRITE",
    "AttributeUpdate",
    "BackendError",
    "BucketAlreadyExists",
    "BucketInfo",
    "BucketNotEmpty",
    "ByteRange",
    "Capabilities",
    "CompletedAttributes",
    "DeleteCondition",
    "DeleteGuard",
    "DeleteResult",
    "EntityTooLarge",
    "EntityTooSmall",
    "IncompleteBody",
    "InsufficientStorage",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRange",
    "IterReader",
    "MultipartBackend",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotSupported",
    "ObjectAttributes",
    "ObjectBody",
    "ObjectInfo",
    "ObjectPage",
    "ObjectStore",
    "PartInfo",
    "PartPage",
    "PreconditionFailed",
    "Readable",
    "SourceAttributes",
    "StoreError",
    "StoreUnavailable",
    "UploadInfo",
    "UploadPage",
    "VersionIsDeleteMarker",
    "VersionPage",
    "WriteMode",
    "WriteOptions",
    "iter_chunks",
    "multipart_etag",
]


# --------------------------------------------------------------------------- the interface

#: Serialises building a store's staged backend (two first requests at once).
_STAGED_LOCK = threading.Lock()


class ObjectStore(ABC):
    """A synchronous, streaming object store.

    Thread safety: a store MUST be safe to call from many threads at once (waitress
    and gunicorn gthread serve requests on threads). A store that keeps its data
    outside the process (filesystem, upstream S3) SHOULD also be safe with several
    processes sharing it.

    ``capabilities`` declares what the store can do beyond the defaults below (see
    ``Capabilities``); the HTTP layer answers 501 for what it lacks.

    Versions (``capabilities.versioning``): a bucket is never versioned, or Enabled, or
    Suspended (``set_bucket_versioning``; never back). Writes to an Enabled bucket make
    a new version, writes while Suspended or never versioned replace the null version
    ("null"; ``ObjectInfo.version_id`` is None on a never-versioned bucket). Every read
    without ``version_id`` sees the latest version; a delete marker as the latest means
    the key is absent (NoSuchKey with ``delete_marker``). ``version_id`` names one
    version: NoSuchVersion if the key has none such, VersionIsDeleteMarker on reads of
    a marker. Stores without versioning accept ``version_id`` None or "null" (the
    object) and raise NoSuchVersion for any other.
    """

    capabilities: Capabilities = Capabilities()

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
        """MUST raise NoSuchBucket if absent, BucketNotEmpty if it holds objects (or,
        versioned, any version or delete marker)."""

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        """Set a bucket's versioning to "Enabled" or "Suspended" (``BucketInfo.versioning``
        then tells it); applied by every later write, inside its transaction. MUST raise
        NoSuchBucket. Default: NotSupported (stores without ``capabilities.versioning``)."""
        raise NotSupported("bucket versioning")

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
        options: WriteOptions = OVERWRITE,
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

        ``options`` says how to treat an object already there (``WriteOptions``):
        ``OVERWRITE`` replaces it; ``CREATE`` (S3 ``If-None-Match: *``) raises
        PreconditionFailed if the key exists; ``UPDATE`` (``If-Match``: an ETag or
        ``*``) raises NoSuchKey if the key is absent and PreconditionFailed if the
        ETag differs (``options.check``). The check and the commit MUST be atomic.
        MUST raise NoSuchBucket if the bucket is absent.

        ``etag``, when given (multipart completion composing parts), MUST be
        recorded as the object's ETag instead of the MD5 of the content; the body
        MUST still be read to its end.
        """

    @abstractmethod
    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        """Open an object (the latest version, or ``version_id``) for reading. MUST raise
        NoSuchBucket / NoSuchKey / NoSuchVersion / VersionIsDeleteMarker, and
        InvalidRange if ``byte_range`` cannot be satisfied. The body MUST stay
        consistent (the object as it was when opened) even if the key is
        overwritten or deleted while it is read."""

    def get_object_part(
        self, bucket: str, key: str, number: int, *, version_id: str | None = None
    ) -> tuple[ObjectBody, int] | None:
        """Multipart objects without ``attributes.parts``: part ``number`` (content_range:
        its span) and the part count; InvalidPart past the last. None (default): 501."""
        return None

    @abstractmethod
    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """MUST raise NoSuchBucket / NoSuchKey / NoSuchVersion / VersionIsDeleteMarker."""

    @abstractmethod
    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        """Remove a key. Deleting an absent key is not an error (S3 answers 204);
        an absent bucket MUST raise NoSuchBucket.

        Without ``version_id``: never versioned: remove the object; Enabled: add a delete
        marker (returned: its id, True); Suspended: remove the null version and add a
        null marker ("null", True). With ``version_id`` ("null": the null version, also
        the object of a never-versioned bucket): remove that version or marker for good
        and return (version_id, it was a marker); an unknown id of the store's format is
        no error ((version_id, False)), one of another format raises NoSuchVersion. The
        next newest version becomes the latest. ``guard`` is called with each version
        about to be removed for good, inside the atomic section; if it raises, nothing
        changes. ``owner`` (who deletes) becomes the owner of a marker it adds. On a
        never-versioned bucket the result's version_id is None."""

    def delete_object_if(
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        """Delete ``key`` (its latest version) if ``condition.allows`` it, check and delete
        atomic; NoSuchBucket. Returns what delete_object without a version would (on a
        versioned bucket: the marker added, ``owner`` its owner); nothing deleted:
        ``DeleteResult()``. A store that cannot keeps this default: NotSupported (501),
        never a plain delete."""
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
    # One extension point: multipart_backend() returns the MultipartBackend that the
    # methods below delegate to. A store with a native implementation (filesystem, S3,
    # an async store that has one) returns its own; every other store gets the staged
    # default (stores/multipart/staged.py): parts as files and the upload state in
    # SQLite under ``multipart_dir``, completed by streaming the parts, concatenated,
    # into put_object.

    #: Smallest size of every part but the last (S3: 5 MiB). Tests may lower it.
    multipart_min_part_size: int = 5 * 1024 * 1024

    #: Where the staged default keeps parts and upload records: a directory every
    #: process of the server sees (create_app sets it from the settings). None: a
    #: temporary directory private to this process, which a multi-process server refuses.
    multipart_dir: str | None = None

    _staged: StagedMultipart | None = None

    def uploads_are_private(self) -> bool:
        """True if this store's uploads are seen by this process only (the staged
        default over a private directory): a multi-process server must refuse it."""
        return not self.capabilities.native_multipart and self.multipart_dir is None

    def multipart_backend(self) -> MultipartBackend:
        """What implements this store's multipart uploads (default: the staged one
        over ``multipart_dir``). Stores with a native implementation override this,
        and only this."""
        staged = self._staged
        if staged is None or staged.configured != self.multipart_dir:
            with _STAGED_LOCK:
                staged = self._staged
                if staged is None or staged.configured != self.multipart_dir:
                    staged = self._staged = StagedMultipart(self, self.multipart_dir)
        return staged

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
        options: WriteOptions = OVERWRITE,
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
        parts. ``options`` and atomicity as put_object. On success the upload no
        longer exists.
        """
        return self.multipart_backend().complete(
            bucket,
            key,
            upload_id,
            parts,
            options=options,
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

    def is_version_id(self, value: str) -> bool:
        """True if ``value`` has the shape of this store's version ids ("null" included):
        the HTTP layer answers 400 InvalidArgument for others before asking the store."""
        return value == "null"

    def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        """One page of versions and delete markers, by key (UTF-8 byte order) then newest
        first; ``version_id`` is always set ("null" for null versions, also on a
        never-versioned bucket). Starts after every version of ``key_marker``, or with
        ``version_id_marker`` after that version of it. Prefix, delimiter and common
        prefixes as list_objects (each counts once). A page SHOULD cost O(max_keys).
        MUST raise NoSuchBucket.

        The default decides by ``capabilities``: a store that keeps versions
        (``versioning`` or ``version_reads``) answers through ``list_stored_versions``;
        one without lists its current objects as null versions. A store whose versions
        depend on how it is configured (an upstream's, an async store's) overrides the
        hook only; one that always versions may override this method whole."""
        if self.capabilities.versioning or self.capabilities.version_reads:
            return self.list_stored_versions(
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                version_id_marker=version_id_marker,
                max_keys=max_keys,
            )
        return current_versions(
            self,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            max_keys=max_keys,
        )

    def list_stored_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        """``list_object_versions`` of a store whose capabilities say it keeps versions,
        same arguments and obligations; only that method calls it. Default: NotSupported
        (501): a store that declares versions and lists none is refused, never shown
        its current objects as if they were all it had."""
        raise NotSupported("listing object versions")

    # ---- copies, tags and bucket configuration (defaults a store may replace)

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None = None,
        options: WriteOptions = OVERWRITE,
        source_version_id: str | None = None,
    ) -> ObjectInfo:
        """Copy an object's content (its latest version, or ``source_version_id``) to
        ``dst_key``, writing it as put_object does (a new version if versioned).

        ``attributes`` are the copy's attributes: None keeps the source's (tags
        included); a callable receives the ``ObjectInfo`` of the exact source version
        being copied and returns them. The callable MAY raise (the HTTP layer checks
        x-amz-copy-source-if-* there) and then nothing is written. The copy MUST be
        atomic like ``put_object`` and MUST stay correct if the source is replaced or
        deleted meanwhile (it copies one version, whole). ``options`` apply to
        the destination as in ``put_object``. MUST raise
        NoSuchBucket / NoSuchKey / NoSuchVersion / VersionIsDeleteMarker for a missing
        source, NoSuchBucket for a missing destination bucket. The ETag of a copy of a
        single-part object is its MD5.

        The default streams ``get_object`` into ``put_object``.
        """
        source = self.get_object(src_bucket, src_key, version_id=source_version_id)
        with source:
            new = copy_attributes(attributes, source.info)
            # put_object makes a single-part object (ETag: the MD5): no part boundaries.
            return self.put_object(
                dst_bucket,
                dst_key,
                IterReader(source),
                size=source.info.size,
                attributes=replace(new, parts=None),
                options=options,
            )

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        """Apply ``update`` (tags, ACL, retention, legal hold) to the attributes of an
        object (its latest version, or ``version_id``), keeping its content and the
        attributes the update leaves alone.

        MUST be atomic (readers see the old attributes or the new ones) and MUST raise
        NoSuchBucket / NoSuchKey / NoSuchVersion / VersionIsDeleteMarker. A native
        implementation SHOULD keep the ETag and Last-Modified, as S3 does; the default
        rewrites the object through ``copy_object`` (the ETag is kept, Last-Modified is
        not) and applies the update only if the object was not replaced meanwhile; it
        knows no versions (NoSuchVersion for any id but "null", NotSupported on a
        versioned bucket).
        """
        require_null(bucket, key, version_id)
        if self.capabilities.versioning and self.head_bucket(bucket).versioning is not None:
            raise NotSupported("attribute updates of versions")
        head = self.head_object(bucket, key)
        return self.copy_object(
            bucket,
            key,
            bucket,
            key,
            attributes=lambda info: update.apply(info.attributes),
            options=WriteOptions.update(head.etag),
        )

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


def current_versions(
    store: ObjectStore,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    max_keys: int = 1000,
) -> VersionPage:
    """A page of ``store``'s current objects as null versions: ``list_object_versions`` of
    a store without versions, and what the lifecycle sweeper lists where it may remove
    only current objects (a store's read-only history is not its to remove)."""
    page = store.list_objects(
        bucket, prefix=prefix, delimiter=delimiter, start_after=key_marker, max_keys=max_keys
    )
    return as_null_versions(page)
