"""One pass of lifecycle rules over a store.

For each bucket with rules (its ``lifecycle`` configuration slot), the versions are
paged in S3's order (key, newest first) and each key's versions are judged together:

- a current version a rule expires is deleted as a client's DELETE would be (on a
  versioned bucket that adds a delete marker, on an unversioned one it is removed, only
  if it is still the version that was listed);
- a noncurrent version is removed NoncurrentDays after it became noncurrent (its
  successor's Last-Modified), keeping the NewerNoncurrentVersions newest noncurrent ones;
- a delete marker left as the only version of its key is removed (ExpiredObjectDeleteMarker,
  or an Expiration by Days that has passed since the marker was written);
- uploads initiated DaysAfterInitiation ago are aborted.

Object lock holds: a version under retention or legal hold is never removed (the store's
delete guard refuses it atomically) and is counted as ``locked``. A "day" is ``day``
seconds (BOXDRIVE_LIFECYCLE_DAY_SECONDS), so tests can watch expiry happen.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..protocol.errors import S3Error
from ..protocol.lifecycle import (
    DAY_SECONDS,
    Configuration,
    Rule,
    after_days,
    current_expiry,
    load_configuration,
)
from ..protocol.object_lock import lock_of
from ..stores.base import (
    DeleteCondition,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectInfo,
    ObjectStore,
    PreconditionFailed,
    StoreError,
    current_versions,
)

#: The bucket configuration slot of the rules (as operations/lifecycle.py keeps them).
CONFIG = "lifecycle"
PAGE = 1000
log = logging.getLogger("boxdrive_wsgi.lifecycle")


@dataclass
class SweepReport:
    buckets: int = 0
    expired: int = 0
    noncurrent: int = 0
    markers: int = 0
    aborted: int = 0
    locked: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"buckets={self.buckets} expired={self.expired} noncurrent={self.noncurrent} "
            f"markers={self.markers} aborted={self.aborted} locked={self.locked} "
            f"errors={len(self.errors)}"
        )


class Locked(Exception):
    """The delete guard's refusal: the version is under retention or legal hold."""


def _guard(info: ObjectInfo, now: datetime) -> None:
    lock = lock_of(info)
    if lock.legal_hold or lock.retained(now):
        raise Locked(info.key)


def sweep(
    store: ObjectStore,
    *,
    now: datetime | None = None,
    day: float = DAY_SECONDS,
    buckets: Sequence[str] | None = None,
) -> SweepReport:
    """Apply every bucket's rules once (or those of ``buckets``)."""
    report = SweepReport()
    names = list(buckets) if buckets is not None else [b.name for b in store.list_buckets()]
    for name in names:
        try:
            stored = store.get_bucket_config(name, CONFIG)
        except NoSuchBucket:
            continue
        except StoreError as error:
            report.errors.append(f"{name}: {error}")
            continue
        if stored is None:
            continue
        report.buckets += 1
        try:
            sweep_bucket(
                store, name, load_configuration(stored), now or datetime.now(UTC), day, report
            )
        except NoSuchBucket:
            continue
        except (StoreError, S3Error, ValueError, KeyError) as error:
            log.warning("lifecycle: bucket %s: %s", name, error)
            report.errors.append(f"{name}: {error}")
    return report


def sweep_bucket(
    store: ObjectStore,
    bucket: str,
    config: Configuration,
    now: datetime,
    day: float,
    report: SweepReport,
) -> None:
    rules = [r for r in config.rules if r.enabled]
    if not rules:
        return
    object_rules = [r for r in rules if _acts_on_objects(r)]
    if object_rules:
        versioned = store.head_bucket(bucket).versioning is not None
        for versions in _keys(store, bucket, _common_prefix(object_rules)):
            _sweep_key(store, bucket, versions, object_rules, now, day, versioned, report)
    for rule in rules:
        if rule.abort_days is not None:
            _abort_uploads(store, bucket, rule, now, day, report)


def _acts_on_objects(rule: Rule) -> bool:
    return (
        rule.expiration_days is not None
        or rule.expiration_date is not None
        or bool(rule.expired_object_delete_marker)
        or rule.noncurrent_days is not None
    )


def _common_prefix(rules: Sequence[Rule]) -> str:
    prefixes = [r.key_prefix for r in rules]
    first, last = min(prefixes), max(prefixes)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _keys(store: ObjectStore, bucket: str, prefix: str) -> Iterator[list[ObjectInfo]]:
    """Each key's versions and markers, newest first, one key at a time. A store
    without ``capabilities.versioning`` gives its current objects only: what history
    it may keep (read-only versions, ``version_reads``) is not the sweeper's to remove."""
    key_marker, version_marker = "", ""
    group: list[ObjectInfo] = []
    while True:
        if store.capabilities.versioning:
            page = store.list_object_versions(
                bucket,
                prefix=prefix,
                key_marker=key_marker,
                version_id_marker=version_marker,
                max_keys=PAGE,
            )
        else:
            page = current_versions(
                store, bucket, prefix=prefix, key_marker=key_marker, max_keys=PAGE
            )
        for info in page.versions:
            if group and group[0].key != info.key:
                yield group
                group = []
            group.append(info)
        if not page.is_truncated or page.next_key_marker is None:
            break
        key_marker = page.next_key_marker
        version_marker = page.next_version_id_marker or ""
    if group:
        yield group


def _tags(store: ObjectStore, info: ObjectInfo) -> dict[str, str]:
    if info.attributes.tags:
        return dict(info.attributes.tags)
    try:
        return dict(
            store.head_object(info.bucket, info.key, version_id=info.version_id).attributes.tags
        )
    except StoreError:
        return {}


def _matching(store: ObjectStore, rules: Sequence[Rule], info: ObjectInfo) -> list[Rule]:
    tags: dict[str, str] | None = None
    found = []
    for rule in rules:
        if not info.key.startswith(rule.key_prefix):
            continue
        if rule.tags and tags is None:
            tags = _tags(store, info)
        if rule.matches(info.key, info.size, tags or {}):
            found.append(rule)
    return found


def _sweep_key(
    store: ObjectStore,
    bucket: str,
    versions: list[ObjectInfo],
    rules: Sequence[Rule],
    now: datetime,
    day: float,
    versioned: bool,
    report: SweepReport,
) -> None:
    latest = versions[0]
    key = latest.key
    if not latest.is_latest:
        return  # the key's latest version sorted before this page: next pass
    expire = not latest.delete_marker
    if expire and _expire_current(store, bucket, latest, rules, now, day, versioned):
        report.expired += 1
        return  # what was current is noncurrent from now on
    remaining = [latest]
    noncurrent_rank = 0
    for successor, info in itertools.pairwise(versions):
        due = False
        for rule in _matching(store, rules, info) if not info.delete_marker else rules:
            if rule.noncurrent_days is None or not key.startswith(rule.key_prefix):
                continue
            kept = rule.newer_noncurrent_versions or 0
            if noncurrent_rank < kept:
                continue
            if after_days(successor.last_modified, rule.noncurrent_days, day) <= now:
                due = True
        if not info.delete_marker:
            noncurrent_rank += 1
        if due and _remove(store, bucket, info, now, report):
            report.noncurrent += 1
        else:
            remaining.append(info)
    alone = latest.delete_marker and len(remaining) == 1 and versioned
    expired = alone and any(_marker_expired(rule, latest, now, day) for rule in rules)
    if expired and _remove(store, bucket, latest, now, report):
        report.markers += 1


def _marker_expired(rule: Rule, marker: ObjectInfo, now: datetime, day: float) -> bool:
    if not marker.key.startswith(rule.key_prefix) or rule.tags:
        return False
    if rule.expired_object_delete_marker:
        return True
    if rule.expiration_days is not None:
        return after_days(marker.last_modified, rule.expiration_days, day) <= now
    return rule.expiration_date is not None and rule.expiration_date <= now


def _expire_current(
    store: ObjectStore,
    bucket: str,
    info: ObjectInfo,
    rules: Sequence[Rule],
    now: datetime,
    day: float,
    versioned: bool,
) -> bool:
    for rule in _matching(store, rules, info):
        when = current_expiry(rule, info.last_modified, day)
        if when is None or when > now:
            continue
        try:
            if not versioned and store.capabilities.conditional_delete:
                # Unversioned: remove it only if it is still the object that was listed.
                condition = DeleteCondition(etag=info.etag, last_modified=info.last_modified)
                store.delete_object_if(bucket, info.key, condition)
            else:
                store.delete_object(bucket, info.key)
        except (NoSuchKey, PreconditionFailed):
            return False
        return True
    return False


def _remove(
    store: ObjectStore, bucket: str, info: ObjectInfo, now: datetime, report: SweepReport
) -> bool:
    """Remove one version permanently, unless object lock protects it."""
    try:
        store.delete_object(
            bucket,
            info.key,
            version_id=info.version_id or "null",
            guard=lambda current: _guard(current, now),
        )
    except Locked:
        report.locked += 1
        return False
    except (S3Error, StoreError) as error:
        if isinstance(error, S3Error) and error.code == "AccessDenied":
            report.locked += 1
            return False
        raise
    return True


def _abort_uploads(
    store: ObjectStore, bucket: str, rule: Rule, now: datetime, day: float, report: SweepReport
) -> None:
    assert rule.abort_days is not None
    key_marker, upload_marker = "", ""
    while True:
        page = store.list_multipart_uploads(
            bucket, prefix=rule.key_prefix, key_marker=key_marker, upload_id_marker=upload_marker
        )
        for upload in page.uploads:
            if after_days(upload.initiated, rule.abort_days, day) > now:
                continue
            try:
                store.abort_multipart_upload(bucket, upload.key, upload.upload_id)
            except NoSuchUpload:
                continue
            report.aborted += 1
        if not page.is_truncated or page.next_key_marker is None:
            break
        key_marker = page.next_key_marker
        upload_marker = page.next_upload_id_marker or ""
