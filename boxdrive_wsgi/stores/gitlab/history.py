"""GitLab's branch history as GitlabStore's read-only versions.

Read-only versions (``capabilities.version_reads``): the branch history is the
version history. Every write of a key (put, copy, multipart completion, attribute
update) rewrites its sidecar (a fresh ``write`` id) and every delete removes it, in
the commit that changes the content; so the commits that changed the sidecar
(``repository/commits?path=``) are the key's versions, newest first, and a commit
that removed it is a delete marker. A version id is that commit's SHA (40 hex);
get/head/copy source with ``version_id`` read the sidecar and the content at that
commit (``files?ref=``). ``list_object_versions`` lists the keys present at the head,
each with its whole history (a key deleted now is not listed, though its past
versions stay readable by id), at one API call per version listed (its sidecar at
that commit, cached: commits are immutable) plus one per 100 commits of a key.
Buckets stay never versioned (writes return no version id, ``versionId=null`` is
the object itself); history cannot be rewritten through the store:
``set_bucket_versioning`` and deletes or attribute updates by version id raise
NotSupported (501). A bucket deleted and created again sees the old history of its
keys' paths. Commits of other branches are no versions (NoSuchVersion). SHA-1 projects
only (GitLab's SHA-256 repositories are experimental).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..base import NoSuchVersion, ObjectInfo, VersionIsDeleteMarker, VersionPage
from ..documents import from_document
from ..listing import Seek
from ..versions import paginate_versions
from . import paths
from .api import GitlabApi, RepoFile
from .cache import Lru

#: A version id: a full commit SHA-1, as GitLab spells it (lower-case hex).
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
READ_ONLY = "GitLab's history is read-only through the store"


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def commit_date(commit: Mapping[str, Any]) -> datetime:
    """When a commit was made (its committed_date, ISO 8601 with an offset)."""
    try:
        when = datetime.fromisoformat(str(commit.get("committed_date")))
    except ValueError:
        return moment(0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def sidecar_info(bucket: str, key: str, meta: Mapping[str, Any]) -> ObjectInfo:
    """An object's info from its sidecar (``.boxdrive-meta/<name>``)."""
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=meta["size"],
        etag=meta["etag"],
        last_modified=moment(meta["last_modified"]),
        attributes=from_document(meta["attributes"]),
    )


class History:
    """Versions of a branch's keys: reads by commit and pages of versions."""

    def __init__(self, api: GitlabApi, require_bucket: Callable[[str], None]) -> None:
        self.api = api
        self._require_bucket = require_bucket
        self._at = Lru(4096)  # (path, commit) -> the file there (or None)

    def file_at(self, path: str, commit: str) -> RepoFile | None:
        return self._at.fetch((path, commit), lambda: self.api.get_file(path, commit))

    def version(self, bucket: str, key: str, commit: str) -> ObjectInfo:
        """Version ``commit`` of ``key``: the sidecar as that commit wrote it. Raises
        NoSuchBucket, NoSuchVersion, VersionIsDeleteMarker."""
        meta = paths.key_paths(bucket, key).meta
        found = self.file_at(meta, commit)
        if found is None or found.last_commit_id != commit:
            self._require_bucket(bucket)
            if found is None:
                self._refuse_marker(bucket, key, meta, commit)
            raise NoSuchVersion(bucket, key, commit)
        latest = self.api.last_commit_of(meta) == commit
        if not latest and not self.api.is_ancestor(commit):
            raise NoSuchVersion(bucket, key, commit)  # another branch's commit
        info = sidecar_info(bucket, key, json.loads(found.content))
        return replace(info, version_id=commit, is_latest=latest)

    def _refuse_marker(self, bucket: str, key: str, meta: str, commit: str) -> None:
        """VersionIsDeleteMarker if ``commit`` (of the branch) deleted ``key``."""
        found = self.api.commit_info(commit)
        parents = found.get("parent_ids") if found else None
        if not found or not parents or not self.api.is_ancestor(commit):
            return
        if self.file_at(meta, str(parents[0])) is not None:
            raise VersionIsDeleteMarker(bucket, key, commit, commit_date(found))

    def page(
        self,
        bucket: str,
        head: str,
        rows: Seek,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        version_id_marker: str,
        max_keys: int,
    ) -> VersionPage:
        """A page of versions of the keys ``rows`` yields (the head's, in key order):
        O(page) API calls."""
        per_page = max(1, min(100, max_keys + 2))  # the marker and one looked ahead

        def history(key: str, ref: str, after: str | None) -> Iterator[ObjectInfo]:
            meta = paths.key_paths(bucket, key).meta
            for n, commit in enumerate(self.api.commits(meta, ref, per_page=per_page)):
                if n == 0 and commit["id"] == after:
                    continue  # the history from a version starts with that version
                yield self._listed(bucket, key, meta, commit, latest=n == 0 and after is None)

        def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
            for row in rows(lower, inclusive):
                if delimiter and row.key.find(delimiter, len(prefix)) >= 0:
                    yield row  # paginate rolls it into a common prefix: no history read
                else:
                    yield from history(row.key, head, None)

        def older(key: str, version_id: str) -> Iterator[ObjectInfo]:
            if COMMIT_SHA.fullmatch(version_id) is None or not self.api.is_ancestor(version_id):
                return iter(())
            return history(key, version_id, version_id)

        return paginate_versions(
            seek,
            older,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    def _listed(
        self, bucket: str, key: str, meta: str, commit: Mapping[str, Any], *, latest: bool
    ) -> ObjectInfo:
        """The version a commit that changed ``key``'s sidecar made: a delete marker if
        it removed the sidecar."""
        sha = str(commit["id"])
        found = self.file_at(meta, sha)
        if found is None:
            when = commit_date(commit)
            return ObjectInfo(
                bucket, key, 0, "", when, version_id=sha, is_latest=latest, delete_marker=True
            )
        info = sidecar_info(bucket, key, json.loads(found.content))
        return replace(info, version_id=sha, is_latest=latest)
