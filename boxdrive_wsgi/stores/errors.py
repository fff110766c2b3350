"""The errors a store raises on purpose; the HTTP layer maps each to an S3 error."""

from __future__ import annotations

from datetime import datetime


class StoreError(Exception):
    """Base class of every error a store raises on purpose."""


class NoSuchBucket(StoreError):
    def __init__(self, bucket: str) -> None:
        super().__init__(bucket)
        self.bucket = bucket


class NoSuchKey(StoreError):
    """No such object. ``delete_marker``: the key's latest version is a delete marker
    (``version_id`` names it); S3 then answers 404 with ``x-amz-delete-marker: true``."""

    def __init__(
        self, bucket: str, key: str, *, delete_marker: bool = False, version_id: str | None = None
    ) -> None:
        super().__init__(f"{bucket}/{key}")
        self.bucket = bucket
        self.key = key
        self.delete_marker = delete_marker
        self.version_id = version_id


class NoSuchVersion(StoreError):
    """The key has no version ``version_id`` (or the id is not one the store makes)."""

    def __init__(self, bucket: str, key: str, version_id: str) -> None:
        super().__init__(f"{bucket}/{key}?versionId={version_id}")
        self.bucket = bucket
        self.key = key
        self.version_id = version_id


class VersionIsDeleteMarker(StoreError):
    """A read (get, head, copy source, attributes) named the version id of a delete
    marker: S3 answers 405 MethodNotAllowed with ``x-amz-delete-marker: true``, the
    ``x-amz-version-id`` and the marker's ``Last-Modified``."""

    def __init__(
        self, bucket: str, key: str, version_id: str, last_modified: datetime | None = None
    ) -> None:
        super().__init__(f"{bucket}/{key}?versionId={version_id}")
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.last_modified = last_modified


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


class IncompleteBody(StoreError):
    """The request body ended before its declared size."""

    def __init__(self, missing: int) -> None:
        super().__init__(f"body ended {missing} bytes early")
        self.missing = missing
