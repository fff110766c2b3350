"""S3Store's copies: server-side CopyObject of the exact source version inspected, and
attribute updates (tags, ACLs) as self-copies.

A copy reads the source's attributes with HEAD, then asks upstream to copy that very
version (the source condition ``x-amz-copy-source-if-match``, or Ceph 16's own
``x-amz-copy-if-match``: the store's client sends the one the probe found, see
``s3_conditions``). Where upstream reads neither (moto 5.2), the copy's ETag is compared
with the one inspected instead. A copy of another version is done again; a source that
keeps being replaced is streamed through this process once (the GET pins one version).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base import (
    OVERWRITE,
    AttributeUpdate,
    BackendError,
    NoSuchKey,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    PreconditionFailed,
    SourceAttributes,
    WriteOptions,
)
from ..model import copy_attributes
from .support import encode_attributes, map_error, strip_etag, utc

if TYPE_CHECKING:
    from .store import S3Store

#: How often a copy inspects a source that keeps being replaced.
COPY_ATTEMPTS = 5


def copy_object(
    store: S3Store,
    src: tuple[str, str],
    dst: tuple[str, str],
    attributes: ObjectAttributes | SourceAttributes | None,
    options: WriteOptions,
    version_id: str | None = None,
) -> ObjectInfo:
    """Copy ``src`` (bucket, key; upstream's ``version_id`` of it) to ``dst``."""
    for _ in range(COPY_ATTEMPTS):
        inspected: list[str] = []
        try:
            return _copy_once(store, src, dst, attributes, options, inspected, version_id)
        except PreconditionFailed:
            current = store._head(*src, version_id)[1]
            if options.conditional and inspected and current == inspected[0]:
                raise  # the source is unchanged: the destination's condition failed
    # The source keeps being replaced: stream one version through this process,
    # which the GET pins by itself, rather than fail a copy the client may retry.
    return ObjectStore.copy_object(
        store, *src, *dst, attributes=attributes, options=options, source_version_id=version_id
    )


def _copy_once(
    store: S3Store,
    src: tuple[str, str],
    dst: tuple[str, str],
    attributes: ObjectAttributes | SourceAttributes | None,
    options: WriteOptions,
    inspected: list[str],
    version_id: str | None,
) -> ObjectInfo:
    source, source_etag = store._head(*src, version_id)
    inspected.append(source_etag)
    new = copy_attributes(attributes, source)
    dst_bucket, dst_key = dst
    store._require_bucket(dst_bucket)
    store._refuse_reserved(dst_bucket, dst_key)
    extra = store._conditions(dst_bucket, dst_key, options, "copy")
    if new.content_type:
        extra["ContentType"] = new.content_type
    recorded = source.etag if source.etag != source_etag else None
    try:
        response = store.client.copy_object(
            **store.layout.where(dst_bucket, dst_key),
            CopySource={
                "Bucket": store.layout.upstream_bucket(src[0]),
                "Key": store.layout.key(*src),
                **({"VersionId": version_id} if version_id else {}),
            },
            CopySourceIfMatch=f'"{source_etag}"',
            MetadataDirective="REPLACE",
            Metadata=encode_attributes(new, recorded),
            **extra,
        )
    except Exception as exc:
        error = map_error(exc, dst_bucket, dst_key)
        if isinstance(error, NoSuchKey):
            store.head_bucket(dst_bucket)
        if version_id is not None and isinstance(error, NoSuchKey | BackendError):
            store._head(*src, version_id)  # NoSuchVersion, VersionIsDeleteMarker
        raise error from exc
    result = response.get("CopyObjectResult", {})
    copied = strip_etag(result.get("ETag"))
    if copied and copied != source_etag and store.conditional_writes.copy_source_header() is None:
        # upstream ignored the source condition and copied a newer source: again
        raise PreconditionFailed("the copy source changed during the copy")
    etag = recorded or copied or source_etag
    return ObjectInfo(
        dst_bucket,
        dst_key,
        source.size,
        etag,
        utc(result.get("LastModified")),
        new.copy(),
        store._version(response),
    )


def update_attributes(store: S3Store, bucket: str, key: str, update: AttributeUpdate) -> ObjectInfo:
    """Tags, ACLs: a self-copy with the updated attributes (the ETag is kept,
    Last-Modified is not), never refused for want of upstream conditions.

    Where upstream applies ``If-Match`` on CopyObject (probed), the copy commits only
    over the version read, as ObjectStore's default. Where it does not (moto 5.2, Ceph
    16), last writer wins: the copy is pinned to the version read by its source
    condition where upstream reads one (Ceph 16: under ``x-amz-copy-if-match``), or else
    its ETag is compared with the one read and a copy of another version is done again
    from the current one (moto). Residual race there: a PUT of the same key that
    upstream commits while the copy runs (after upstream read the source, before it
    commits the copy) is overwritten by the copy, so that write is lost; without a
    source condition, a PUT landing between the store's HEAD and the copy keeps its
    content but gets the previous version's attributes with the update.
    """
    head = store.head_object(bucket, key)  # NoSuchBucket / NoSuchKey first
    support = store.conditional_writes.support(store.client, *store.layout.probe_location(bucket))
    return copy_object(
        store,
        (bucket, key),
        (bucket, key),
        lambda info: update.apply(info.attributes),
        WriteOptions.update(head.etag) if support.copy.if_match else OVERWRITE,
    )
