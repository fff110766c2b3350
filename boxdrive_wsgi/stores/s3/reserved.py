"""S3Store's reserved keys in 1:1 listings: whether a common prefix or the rest of a
truncated listing holds our own keys only (``owners.RESERVED_PREFIX``), which clients
must not see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import owners
from .support import map_error

if TYPE_CHECKING:
    from .store import S3Store


def only_reserved(store: S3Store, bucket: str, common_prefix: str) -> bool:
    """Whether a 1:1 listing's common prefix covers our reserved keys only."""
    if store.upstream_bucket:
        return False
    if store.layout.reserved(common_prefix):
        return True
    if not owners.RESERVED_PREFIX.startswith(common_prefix):
        return False
    # e.g. "." with delimiter ".": shown only if a client key is under it too
    for start_after in ("", owners.RESERVED_PREFIX + "\U0010ffff"):
        try:
            page = store.client.list_objects_v2(
                Bucket=bucket, Prefix=common_prefix, StartAfter=start_after, MaxKeys=1
            )
        except Exception as exc:
            raise map_error(exc, bucket) from exc
        if any(not store.layout.reserved(item["Key"]) for item in page.get("Contents", [])):
            return False
    return True


def more_than_reserved(store: S3Store, bucket: str, options: dict[str, Any], token: str) -> bool:
    """Whether a full, truncated 1:1 page is followed by more than our reserved keys
    (upstream counts the owner record; a client must not be sent for an empty page)."""
    probe = {**options, "ContinuationToken": token, "MaxKeys": 3}
    probe.pop("StartAfter", None)
    while True:
        try:
            page = store.client.list_objects_v2(**probe)
        except Exception as exc:
            raise map_error(exc, bucket) from exc
        if any(not store.layout.reserved(item["Key"]) for item in page.get("Contents", [])):
            return True
        if any(
            not only_reserved(store, bucket, p["Prefix"]) for p in page.get("CommonPrefixes", [])
        ):
            return True
        following = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not following:
            return False
        probe["ContinuationToken"] = following
