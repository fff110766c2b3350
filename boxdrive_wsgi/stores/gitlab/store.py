# Over 500 lines: one GitLab adapter; every method shares its commit and cache helpers.
"""GitlabStore: a branch of a GitLab project as object storage, via python-gitlab.

Layout (see ``gitlab_paths`` for how keys become paths): a bucket is a top-level
directory with a marker file ``<bucket>/.boxdrive-bucket`` (JSON: created, owner,
always written; so creation dates are stable; a marker without a readable owner, made
by hand or by an old version, reads as owner None: the operator's only). An object is
a file; its sidecar ``.boxdrive-meta/<name>`` holds its ETag (MD5), size, date and
attributes; the directory's ``.boxdrive-index`` holds size, ETag and date of every key
in that directory. Content, sidecar and index change in one commit (Commits API actions),
so a reader sees all three old or all three new.

Why an index per directory: the tree API gives names and blob ids, not sizes or
dates, so a listing would otherwise read one sidecar per key. The index costs a
write what git already pays: every commit rewrites the tree object of that
directory, which is O(entries in the directory) too. It also serialises writers of
one directory: each write updates the index with ``last_commit_id``, so a
concurrent change makes GitLab reject the commit and the write is retried (that
is also what makes an UPDATE write atomic; a CREATE write is a ``create`` action,
which GitLab rejects if the file exists).

Listings read the tree at one commit (the branch head, resolved once), so all
pages and index reads agree; index contents are cached by blob id and a listing's
rows by (commit, directory), both immutable, so walking pages with ``start_after``
costs one API call per page once warm. With delimiter ``/`` only the directory of
the prefix is read (its index and its sub-directories); otherwise its whole subtree.

Versions: read-only, the branch history (see ``history``).

Bodies: GET streams the raw file endpoint. PUT spools the body to a temporary
file (MD5 while reading) and streams the commit's JSON body from it, base64
piece by piece: this process holds O(1 MiB), but GitLab itself holds the whole
JSON (4/3 of the object) in memory, so objects above ``max_object_size`` are
refused with EntityTooLarge.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO, TypeVar

import requests

from ..base import (
    CHUNK_SIZE,
    OVERWRITE,
    AttributeUpdate,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    Capabilities,
    DeleteCondition,
    DeleteGuard,
    DeleteResult,
    EntityTooLarge,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    Readable,
    StoreUnavailable,
    VersionPage,
    WriteOptions,
    iter_chunks,
)
from ..documents import to_document
from ..listing import paginate
from ..lookups import LazyBucketInfo
from ..model import NULL_VERSION
from ..versions import guard_before
from . import paths
from .api import Action, Conflict, GitlabApi, NotFound, RepoFile, RetryPolicy
from .cache import Lru
from .history import COMMIT_SHA, READ_ONLY, History, moment, sidecar_info

log = logging.getLogger(__name__)

T = TypeVar("T")
#: index entry: key -> [size, etag, last modified (epoch seconds)]
Index = dict[str, list[Any]]

DEFAULT_MAX_OBJECT_SIZE = 64 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class GitlabStore(ObjectStore):
    """Buckets and objects in a branch of a GitLab project (see the module docstring)."""

    #: commits retried after losing a race (the files changed meanwhile)
    conflict_attempts = 40

    capabilities = Capabilities(conditional_delete=True, bucket_config=True, version_reads=True)

    def __init__(
        self,
        url: str,
        token: str,
        project: str,
        branch: str = "main",
        *,
        max_object_size: int = DEFAULT_MAX_OBJECT_SIZE,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.api = GitlabApi(url, token, project, branch, retry=retry, timeout=timeout)
        self.max_object_size = max_object_size
        self._indexes = Lru(1024)  # blob id -> Index
        self._rows = Lru(32)  # (commit, directory, shallow) -> sorted rows
        self._history = History(self.api, self._require_bucket)

    def __repr__(self) -> str:
        return f"GitlabStore({self.api!r})"

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------------ helpers

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (read, check, commit) again while its commit loses races."""
        for n in range(self.conflict_attempts):
            try:
                return attempt()
            except Conflict:
                time.sleep(min(0.2, 0.005 * (n + 1)) * random.random())
        raise StoreUnavailable("too many concurrent writes to the same directory")

    def _marker(self, bucket: str, ref: str | None = None) -> dict[str, Any] | None:
        """The bucket's marker, None if absent; an unreadable one reads as ``{}``."""
        found = self.api.get_file(paths.marker_path(bucket), ref)
        if found is None:
            return None
        try:
            marker = json.loads(found.content)
        except ValueError:
            return {}
        return dict(marker) if isinstance(marker, dict) else {}

    def _require_bucket(self, bucket: str, ref: str | None = None) -> None:
        if not self.api.file_exists(paths.marker_path(bucket), ref):
            raise NoSuchBucket(bucket)

    @staticmethod
    def _bucket_info(bucket: str, marker: Mapping[str, Any]) -> BucketInfo:
        created, owner = marker.get("created"), marker.get("owner")
        return BucketInfo(
            bucket,
            moment(created if isinstance(created, int | float) else 0),
            owner if isinstance(owner, str) else None,
        )

    def _index(self, found: RepoFile | None) -> Index:
        if found is None:
            return {}
        return self._indexes.fetch(found.blob_id, lambda: dict(json.loads(found.content)))

    def _index_by_blob(self, blob_id: str) -> Index:
        return self._indexes.fetch(blob_id, lambda: dict(json.loads(self.api.blob(blob_id))))

    # ------------------------------------------------------------------ buckets

    def list_buckets(self) -> list[BucketInfo]:
        head = self.api.branch_head()
        if head is None:
            return []
        buckets: list[BucketInfo] = []
        for entry in self.api.tree("", head, recursive=False):
            if entry["type"] != "tree":
                continue
            marker = self._marker(entry["name"], head)
            if marker is not None:
                buckets.append(self._bucket_info(entry["name"], marker))
        return sorted(buckets, key=lambda b: b.name)

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        created = _now()
        # "write" tells this creation from another one of the same name and owner
        write = uuid.uuid4().hex
        marker = json.dumps({"created": _epoch(created), "owner": owner, "write": write})

        def landed() -> bool:
            found = self._marker(bucket)
            return found is not None and found.get("write") == write

        try:
            self.api.commit(
                f"Create bucket {bucket}",
                [Action("create", paths.marker_path(bucket), marker.encode())],
                landed=landed,
            )
        except Conflict:
            existing = self._marker(bucket)
            if existing is not None and existing.get("write") == write:
                return BucketInfo(bucket, created, owner)  # a retry of ours that had landed
            info = self._bucket_info(bucket, existing or {})
            raise BucketAlreadyExists(bucket, info.owner) from None
        return BucketInfo(bucket, created, owner)

    def head_bucket(self, bucket: str) -> BucketInfo:
        marker = self._marker(bucket)
        if marker is None:
            raise NoSuchBucket(bucket)
        info = self._bucket_info(bucket, marker)
        # the slots holding a document, by one tree call when the HTTP layer first asks:
        # it then reads only those (a slot that is not there costs two calls to read)
        return LazyBucketInfo(
            info.name, info.created, info.owner, config_names_of=partial(self._configs, bucket)
        )

    def _configs(self, bucket: str) -> frozenset[str]:
        entries = self.api.tree(paths.config_dir(bucket), self.api.branch, recursive=False)
        return frozenset(paths.decode_segment(e["name"]) for e in entries if e["type"] == "blob")

    def delete_bucket(self, bucket: str) -> None:
        def attempt() -> None:
            head = self.api.branch_head()
            marker = self.api.get_file(paths.marker_path(bucket), head)
            if head is None or marker is None:
                raise NoSuchBucket(bucket)
            configs: list[str] = []
            for entry in self.api.tree(bucket, head, recursive=True):
                path = entry["path"]
                config_dir = f"{bucket}/{paths.CONFIG}"
                if path in (marker_path, config_dir):
                    continue
                if path.startswith(config_dir + "/"):
                    configs.append(path)
                    continue
                raise BucketNotEmpty(bucket)
            actions = [Action("delete", marker_path, last_commit_id=marker.last_commit_id)]
            actions += [Action("delete", path) for path in configs]
            self.api.commit(
                f"Delete bucket {bucket}",
                actions,
                landed=lambda: not self.api.file_exists(marker_path),
            )

        marker_path = paths.marker_path(bucket)
        self._retrying(attempt)

    # ------------------------------------------------------------------ objects

    def _spool(self, body: Readable | BinaryIO, size: int | None) -> tuple[BinaryIO, int, str]:
        if size is not None and size > self.max_object_size:
            raise EntityTooLarge(self.max_object_size)
        spool: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller
        md5 = hashlib.md5()
        total = 0
        try:
            for chunk in iter_chunks(body, size):
                total += len(chunk)
                if total > self.max_object_size:
                    raise EntityTooLarge(self.max_object_size)
                md5.update(chunk)
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        return spool, total, md5.hexdigest()

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
        self._require_bucket(bucket)
        spool, total, digest = self._spool(body, size)
        with spool:
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=total,
                etag=etag or digest,
                last_modified=_now(),
                attributes=(attributes or ObjectAttributes()).copy(),
            )
            where = paths.key_paths(bucket, key)
            write = uuid.uuid4().hex  # tells this write's sidecar from any other
            meta = {
                "key": key,
                "size": info.size,
                "etag": info.etag,
                "last_modified": _epoch(info.last_modified),
                "attributes": _attributes_json(info.attributes),
                "write": write,
            }
            meta_bytes = json.dumps(meta, ensure_ascii=True, sort_keys=True).encode()

            def landed() -> bool:
                found = self.api.get_file(where.meta)
                return found is not None and json.loads(found.content).get("write") == write

            def attempt() -> ObjectInfo:
                found = self.api.get_file(where.index)
                if found is None:
                    self._require_bucket(bucket)
                index = dict(self._index(found))
                current = index.get(key)
                options.check(bucket, key, self._row(bucket, key, current) if current else None)
                # create fails if the file appeared meanwhile (GitLab checks); the
                # index's last_commit_id fails the commit if any key of the
                # directory changed since it was read: then read and check again.
                verb = "update" if current else "create"
                index[key] = [info.size, info.etag, _epoch(info.last_modified)]
                actions = [
                    Action(verb, where.data, (spool, total)),
                    Action(verb, where.meta, meta_bytes),
                    _index_action(where.index, found, index),
                ]
                self.api.commit(f"Put {bucket}/{key}", actions, landed=landed)
                return info

            return self._retrying(attempt)

    @staticmethod
    def _row(bucket: str, key: str, entry: list[Any]) -> ObjectInfo:
        return ObjectInfo(bucket, key, int(entry[0]), str(entry[1]), moment(entry[2]))

    def _meta(self, bucket: str, key: str) -> tuple[ObjectInfo, str]:
        """The object's info and the commit it was read at."""
        found = self.api.get_file(paths.key_paths(bucket, key).meta)
        if found is None:
            self._require_bucket(bucket)
            raise NoSuchKey(bucket, key)
        return sidecar_info(bucket, key, json.loads(found.content)), found.commit_id

    # ------------------------------------------------------------------ versions

    def is_version_id(self, value: str) -> bool:
        return value == NULL_VERSION or COMMIT_SHA.fullmatch(value) is not None

    def _commit_named(self, bucket: str, key: str, version_id: str | None) -> str | None:
        """The commit a version id names; None: the latest (None or "null", the object
        itself: buckets here are never versioned). NoSuchVersion if not a commit SHA."""
        if version_id is None or version_id == NULL_VERSION:
            return None
        if COMMIT_SHA.fullmatch(version_id) is None:
            raise NoSuchVersion(bucket, key, version_id)
        return version_id

    def _refuse_rewrite(self, bucket: str, key: str, version_id: str | None) -> None:
        """Removing or changing one version would rewrite the branch's history."""
        if self._commit_named(bucket, key, version_id) is not None:
            raise NotSupported(f"changing a version: {READ_ONLY}")

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        """NotSupported: the versions are the branch's history, read-only; buckets
        stay never versioned (see the module docstring)."""
        raise NotSupported(f"bucket versioning: {READ_ONLY}")

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        """Of the latest version only; by version id: NotSupported (read-only history)."""
        self._refuse_rewrite(bucket, key, version_id)
        return super().update_object_attributes(bucket, key, update)

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        commit = self._commit_named(bucket, key, version_id)
        if commit is not None:
            return self._history.version(bucket, key, commit)
        return self._meta(bucket, key)[0]

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        named = self._commit_named(bucket, key, version_id)
        if named is not None:
            info, commit = self._history.version(bucket, key, named), named
        else:
            info, commit = self._meta(bucket, key)
        span = byte_range.resolve(info.size) if byte_range else None
        start, stop = span or (0, info.size)
        try:
            # the content as of the commit the sidecar was read at: one version, whole
            response = self.api.open_raw(paths.key_paths(bucket, key).data, commit)
        except NotFound:
            raise NoSuchKey(bucket, key) from None
        return ObjectBody(
            info, _slice(response, start, stop), content_range=span, on_close=response.close
        )

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        """Deletes the object (a commit; its history stays). By version id ("null" is
        the object itself): NotSupported, the history is read-only."""
        self._refuse_rewrite(bucket, key, version_id)
        guard_before(guard, lambda: self.head_object(bucket, key))  # not atomic: right before
        self._delete(bucket, key, None)
        return DeleteResult()

    def delete_object_if(
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        # Checked against the index the commit names (last_commit_id): atomic as put's.
        self._delete(bucket, key, condition)
        return DeleteResult()

    def _delete(self, bucket: str, key: str, condition: DeleteCondition | None) -> None:
        where = paths.key_paths(bucket, key)

        def attempt() -> None:
            found = self.api.get_file(where.index)
            index = dict(self._index(found))
            if found is None:
                self._require_bucket(bucket)
            current = index.get(key)
            if condition is not None:
                row = self._row(bucket, key, current) if current else None
                if not condition.allows(bucket, key, row):
                    return
            if current is None:
                return
            del index[key]
            actions = [
                Action("delete", where.data),
                Action("delete", where.meta),
                _index_action(where.index, found, index),
            ]
            self.api.commit(
                f"Delete {bucket}/{key}",
                actions,
                landed=lambda: key not in self._index(self.api.get_file(where.index)),
            )

        self._retrying(attempt)

    # ------------------------------------------------------------------ listing

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        rows = self._head_rows(bucket, prefix, delimiter)[1]

        def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
            return iter(rows[_find(rows, lower, inclusive) :])

        return paginate(
            seek, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys
        )

    def _head_rows(self, bucket: str, prefix: str, delimiter: str) -> tuple[str, list[ObjectInfo]]:
        """The branch head and the rows a listing of ``prefix`` reads there."""
        head = self.api.branch_head()
        if head is None:
            raise NoSuchBucket(bucket)
        key_dir = prefix[: prefix.rfind("/") + 1]
        shallow = delimiter == "/"
        rows: list[ObjectInfo] = self._rows.fetch(
            (head, bucket, key_dir, shallow),
            lambda: self._load_rows(head, bucket, key_dir, shallow),
        )
        return head, rows

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
        """The keys present at the head, each with the commits that changed it (see
        the module docstring); O(page) API calls."""
        head, rows = self._head_rows(bucket, prefix, delimiter)

        def seek(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
            return iter(rows[_find(rows, lower, inclusive) :])

        return self._history.page(
            bucket,
            head,
            seek,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    def _load_rows(self, head: str, bucket: str, key_dir: str, shallow: bool) -> list[ObjectInfo]:
        self._require_bucket(bucket, head)
        directory = bucket + "/" + paths.dir_prefix(key_dir)
        rows: dict[str, ObjectInfo] = {}
        index_name = paths.INDEX
        if shallow:
            for entry in self.api.tree(directory.rstrip("/"), head, recursive=False):
                if entry["type"] == "blob" and entry["name"] == index_name:
                    self._add_index(rows, bucket, self._index_by_blob(entry["id"]))
                elif entry["type"] == "tree" and not entry["name"].startswith("."):
                    for segment in self._subdirectories(entry, head):
                        # a placeholder under the sub-directory: paginate rolls it up
                        common = f"{key_dir}{segment}/"
                        rows.setdefault(common, ObjectInfo(bucket, common, 0, "", moment(0)))
        else:
            for entry in self.api.tree(directory.rstrip("/"), head, recursive=True):
                if entry["type"] == "blob" and entry["name"] == index_name:
                    self._add_index(rows, bucket, self._index_by_blob(entry["id"]))
        return sorted(rows.values(), key=lambda row: row.key)

    def _add_index(self, rows: dict[str, ObjectInfo], bucket: str, index: Index) -> None:
        for key, entry in index.items():
            rows[key] = self._row(bucket, key, entry)

    def _subdirectories(self, entry: Mapping[str, Any], head: str) -> list[str]:
        """Key segments of the directories that a tree entry starts."""
        name = entry["name"]
        if not name.endswith(paths.MORE_SUFFIX):
            found = paths.first_directory_segment([name])
            return [] if found is None else [found[0]]
        # a long segment cut into pieces: look below for where it ends
        segments: set[str] = set()
        base = entry["path"].count("/")
        for sub in self.api.tree(entry["path"], head, recursive=True):
            if sub["type"] != "tree":
                continue
            components = sub["path"].split("/")[base:]
            found = paths.first_directory_segment(components)
            if found is not None and found[1] == len(components):
                segments.add(found[0])
        return sorted(segments)

    # ------------------------------------------------------------------ bucket configuration

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        found = self.api.get_file(paths.config_path(bucket, name))
        if found is None:
            self._require_bucket(bucket)
            return None
        return found.content

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        path = paths.config_path(bucket, name)

        def attempt() -> None:
            self._require_bucket(bucket)
            found = self.api.get_file(path)

            def landed() -> bool:
                now = self.api.get_file(path)
                return (now.content if now else None) == value

            if value is None:
                if found is not None:
                    self.api.commit(
                        f"Remove {name} of {bucket}",
                        [Action("delete", path, last_commit_id=found.last_commit_id)],
                        landed=landed,
                    )
                return
            verb = "create" if found is None else "update"
            last = found.last_commit_id if found else None
            self.api.commit(
                f"Set {name} of {bucket}", [Action(verb, path, bytes(value), last)], landed=landed
            )

        self._retrying(attempt)


def _find(rows: list[ObjectInfo], lower: str, inclusive: bool) -> int:
    """Where rows (sorted by key) ``>= lower`` (or ``> lower``) start."""
    find = bisect.bisect_left if inclusive else bisect.bisect_right
    return find(rows, lower, key=lambda row: row.key)


def _attributes_json(attributes: ObjectAttributes) -> dict[str, Any]:
    return to_document(attributes)


def _index_action(path: str, found: RepoFile | None, index: Index) -> Action:
    if found is None:
        return Action("create", path, _dump_index(index))
    if not index:
        return Action("delete", path, last_commit_id=found.last_commit_id)
    return Action("update", path, _dump_index(index), found.last_commit_id)


def _dump_index(index: Index) -> bytes:
    return json.dumps(index, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()


def _slice(response: requests.Response, start: int, stop: int) -> Iterator[bytes]:
    """Bytes ``start``..``stop`` of a streamed response, in pieces of at most CHUNK_SIZE.
    The raw endpoint has no Range support, so bytes before ``start`` are skipped."""
    position = 0
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            end = position + len(chunk)
            if end > start and position < stop:
                yield chunk[max(0, start - position) : min(len(chunk), stop - position)]
            position = end
            if position >= stop:
                return
        if position < stop:
            raise OSError(f"GitLab sent {position} bytes, expected {stop}")
    finally:
        response.close()
