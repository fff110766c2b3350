# Over 500 lines: one upstream-S3 adapter; all its methods share the reserved-key helpers.
"""S3Store: objects in an upstream S3-compatible service (Ceph RGW, MinIO, Garage, AWS,
or another boxdrive-wsgi), through boto3.

Two mappings of our buckets onto upstream (``s3_layout.Layout``, the one place every
part of the store takes its upstream names from):

* ``bucket=None``: 1:1, our bucket ``b`` is upstream bucket ``b``. Its owner is a small
  record object under the reserved prefix ``.boxdrive/`` of that upstream bucket (see
  ``s3_owners``: hidden from listings, never addressable by clients; a bucket made
  outside boxdrive has none: owner None). Bucket configuration documents raise
  NotSupported. Versioning is upstream's own, passed through (``s3_versions``).
* ``bucket="upstream"``: every bucket of ours lives in one upstream bucket, under
  ``prefix``: a marker object ``<prefix><bucket>`` (created with ``If-None-Match: *``,
  so creation is atomic; it records the owner), objects at ``<prefix><bucket>/<key>``
  and configuration documents at ``<prefix>.config/<bucket>/<name>`` (bucket names never
  start with a dot; ``s3_configs``). A page of objects still costs one upstream listing.
  No versioning: upstream versions whole buckets, not our prefixes of one (501).

``head_bucket`` answers a ``LazyBucketInfo``: what a GET or PUT never reads costs no
upstream call until read (1:1: the versioning status; prefix: the names of the bucket's
configuration slots, one listing, which spares the HTTP layer a read of each absent slot).

Bodies stream both ways. A request body of known length over ``spool_memory`` goes
upstream as one PUT while it arrives (``stream_uploads``: requests are signed, bodies
sent as ``UNSIGNED-PAYLOAD``, as botocore would otherwise hash the whole body first over
``http://``), its MD5 computed on the way and compared with upstream's ETag. A smaller
one, one of unknown length, or one whose recorded ETag must be compared with its MD5
first is spooled (memory up to ``spool_memory``, then a temp file) first. One PUT keeps
S3's single-PUT semantics (the ETag is the content MD5, ``If-None-Match``/``If-Match``
are checked by upstream atomically at commit).
Responses stream from upstream's body in CHUNK_SIZE pieces; ranges pass through.
Our attributes (content headers, metadata with any Unicode, checksums, tags) travel as
one ASCII JSON entry of upstream metadata (``x-amz-meta-boxdrive-attrs``), the content
type also natively. Multipart uploads pass through natively (``capabilities.native_multipart``).

Upstream failures that no store error names become StoreUnavailable (throttled, 5xx,
unreachable: 503 with Retry-After) or BackendError (502), with upstream's code in the
message (``s3_support.upstream_failure``). Which conditions upstream applies on PutObject,
CopyObject and CompleteMultipartUpload (``If-None-Match: *``, ``If-Match``, the copy's
source condition) is probed once per process (``s3_conditions``): at start-up by the
first readiness check (prefix mode; 1:1 mode in the first upstream bucket, if any), or
at the first conditional write. A conditional write of an operation whose condition
upstream ignores raises NotSupported (501) instead of overwriting; attribute updates
(tags, ACLs) still work there, last writer wins (``update_object_attributes``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, BinaryIO, Literal

from ..base import (
    OVERWRITE,
    AttributeUpdate,
    BackendError,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    Capabilities,
    DeleteGuard,
    DeleteResult,
    MultipartBackend,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    PreconditionFailed,
    Readable,
    SourceAttributes,
    VersionPage,
    WriteMode,
    WriteOptions,
)
from ..lookups import LazyBucketInfo
from ..model import NULL_VERSION
from ..versions import require_null
from . import configs, copies, owners, reserved
from . import versions as upstream_versions
from .conditions import COPY_SOURCE_IF_MATCH, LEGACY_COPY_SOURCE_IF_MATCH, ConditionalWrites
from .layout import Layout
from .multipart import S3Multipart
from .support import (
    BUCKET_META,
    SPOOL_MEMORY,
    decode_attributes,
    encode_attributes,
    http_status,
    make_client,
    map_error,
    meta_owner,
    moment,
    pid,
    request_body,
    strip_etag,
    upstream_chunks,
    utc,
)

#: Upstream's largest page.
UPSTREAM_PAGE = 1000
#: Owner records read at once by list_buckets in 1:1 mode.
OWNER_READS = 8


class S3Store(ObjectStore):
    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = "us-east-1",
        bucket: str | None = None,
        prefix: str = "",
        addressing_style: Literal["auto", "virtual", "path"] = "path",
        native_multipart: bool = True,
        spool_memory: int = SPOOL_MEMORY,
        client: Any = None,
        max_attempts: int = 2,
        connect_timeout: float = 3,
        read_timeout: float = 30,
        max_connections: int = 64,
        stream_uploads: bool = True,
        versioning: bool = True,
    ) -> None:
        self._options = {
            "endpoint_url": endpoint_url,
            "access_key": access_key,
            "secret_key": secret_key,
            "region": region,
            "addressing_style": addressing_style,
            "max_attempts": max_attempts,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_connections": max_connections,
            "sign_payload": not stream_uploads,
        }
        #: bodies of known length go upstream as they arrive (unsigned payloads)
        self.stream_uploads = stream_uploads
        self.upstream_bucket = bucket or None
        self.prefix = prefix if bucket else ""
        #: where our buckets and keys are upstream (shared with multipart, copies, ...)
        self.layout = Layout(self.upstream_bucket, self.prefix)
        self.capabilities = Capabilities(
            native_multipart=native_multipart,
            bucket_config=self.upstream_bucket is not None,
            # 1:1 only: upstream versions buckets, not the prefixes of one (s3_versions)
            versioning=versioning and self.upstream_bucket is None,
        )
        self._multipart = S3Multipart(self)
        self.spool_memory = spool_memory
        self._client = client
        self._client_pid = pid()
        self._client_lock = threading.Lock()
        shared = (endpoint_url, access_key, self.upstream_bucket) if client is None else None
        self.conditional_writes = ConditionalWrites(shared_key=shared)
        #: upstream applies If-None-Match in versioned buckets (None: not probed yet)
        self.versioned_create: bool | None = None
        if client is not None:
            self._watch(client)

    @property
    def client(self) -> Any:
        """The boto3 client (thread-safe); a new one after fork (sockets are not shared)."""
        if self._client is None or self._client_pid != pid():
            with self._client_lock:
                if self._client is None or self._client_pid != pid():
                    self._client = self._watch(make_client(**self._options))  # type: ignore[arg-type]
                    self._client_pid = pid()
        return self._client

    def _watch(self, client: Any) -> Any:
        """Let ``client``'s copies carry the source condition under the header name
        upstream reads (Ceph 16: its own old name as well)."""
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            events.register("before-sign.s3.CopyObject", self._copy_source_header)
            events.register(
                "before-parse.s3.ListObjectVersions", upstream_versions.keep_listing_order
            )
        return client

    def _copy_source_header(self, request: Any, **_: Any) -> None:
        if self.conditional_writes.copy_source_header() == LEGACY_COPY_SOURCE_IF_MATCH:
            value = request.headers.get(COPY_SOURCE_IF_MATCH)
            if value is not None:
                request.headers[LEGACY_COPY_SOURCE_IF_MATCH] = value

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def upstream_health(self) -> dict[str, object]:
        """For readiness: one cheap upstream call (a store error if it fails), where
        upstream is, how long it took, and which conditional writes it applies."""
        started = time.monotonic()
        try:
            if self.upstream_bucket:
                self.client.head_bucket(Bucket=self.upstream_bucket)
                # the first readiness check (at start-up) learns which conditional
                # writes are safe
                self.conditional_writes.support(self.client, *self.layout.probe_location(""))
            else:
                listed = self.client.list_buckets().get("Buckets", [])
                # 1:1: probe in the first upstream bucket (reserved keys); with none
                # yet, or one we may not write in, the first conditional write probes
                if listed and self.conditional_writes.probed is None:
                    with contextlib.suppress(BackendError):
                        self.conditional_writes.support(
                            self.client, *self.layout.probe_location(listed[0]["Name"])
                        )
        except Exception as exc:
            raise map_error(exc, self.upstream_bucket or "") from exc
        return {
            "endpoint": self._options["endpoint_url"] or "aws",
            "bucket": self.upstream_bucket,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
            "conditional_writes": self.conditional_writes.known(),
        }

    # ---- multipart: upstream's own, unless told to stage parts here

    def multipart_backend(self) -> MultipartBackend:
        return (
            self._multipart if self.capabilities.native_multipart else super().multipart_backend()
        )

    def get_object_part(
        self, bucket: str, key: str, number: int, *, version_id: str | None = None
    ) -> tuple[ObjectBody, int] | None:
        version_id = self._version_arg(bucket, key, version_id)
        return (
            self._multipart.get_part(bucket, key, number, version_id)
            if self.capabilities.native_multipart
            else None
        )

    # ---- mapping

    def _version_arg(self, bucket: str, key: str, version_id: str | None) -> str | None:
        """The upstream VersionId for ours (None: the latest); NoSuchVersion for ids no
        upstream makes. Without versioning only the null version (the object) exists."""
        if not self.capabilities.versioning:
            require_null(bucket, key, version_id)
            return None
        if version_id is not None and not upstream_versions.is_version_id(version_id):
            raise NoSuchVersion(bucket, key, version_id)
        return version_id

    def _version(self, response: Mapping[str, Any]) -> str | None:
        """The version id of an upstream answer (None: never versioned, or prefix mode)."""
        found = response.get("VersionId") if self.capabilities.versioning else None
        return str(found) if found else None

    def _hide_reserved(self, bucket: str, key: str) -> None:
        if self.layout.reserved(key):
            self.head_bucket(bucket)
            raise NoSuchKey(bucket, key)

    def _refuse_reserved(self, bucket: str, key: str) -> None:
        if self.layout.reserved(key):
            raise NotSupported(f"keys under {owners.RESERVED_PREFIX!r} are reserved")

    def _require_bucket(self, bucket: str) -> None:
        """In prefix mode, raise NoSuchBucket unless the marker exists (1:1: upstream does)."""
        if self.upstream_bucket:
            self.head_bucket(bucket)

    def _missing(self, exc: BaseException, bucket: str, key: str = "") -> BaseException:
        error = map_error(exc, bucket, key)
        if isinstance(error, NoSuchKey):
            self.head_bucket(bucket)  # NoSuchBucket wins over NoSuchKey
        return error

    # ---- buckets

    def list_buckets(self) -> list[BucketInfo]:
        if not self.upstream_bucket:
            try:
                response = self.client.list_buckets()
            except Exception as exc:
                raise map_error(exc, "") from exc
            names = sorted(b["Name"] for b in response["Buckets"])
            dates = {b["Name"]: b.get("CreationDate") for b in response["Buckets"]}
            with ThreadPoolExecutor(OWNER_READS) as pool:
                records = list(pool.map(self._listed_owner_record, names))
            return [
                LazyBucketInfo(
                    name,
                    utc(dates[name]),
                    owners.record_owner(record or {}),
                    versioning_of=partial(self._listed_status, name),
                )
                for name, record in zip(names, records, strict=True)
                if record is not owners.GONE
            ]
        names = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(
                Bucket=self.upstream_bucket, Prefix=self.prefix, Delimiter="/"
            ):
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    if name and not name.startswith("."):
                        names.append(name)
        except Exception as exc:
            raise map_error(exc, "") from exc
        infos: list[BucketInfo] = []
        for name in sorted(names):
            try:
                infos.append(self.head_bucket(name))
            except NoSuchBucket:
                continue  # deleted meanwhile
        return infos

    def _listed_owner_record(self, bucket: str) -> Mapping[str, Any] | None:
        """As ``_owner_record``, but a bucket whose record upstream will not show us
        (its policy, say) is listed as the operator's rather than failing the listing."""
        try:
            return self._owner_record(bucket)
        except BackendError:
            return None

    def _listed_status(self, bucket: str) -> str | None:
        """As ``s3_versions.status``, but a bucket whose status upstream will not show us
        lists as never versioned."""
        try:
            return upstream_versions.status(self, bucket)
        except (BackendError, NoSuchBucket):  # not ours to read, or deleted meanwhile
            return None

    def _owner_record(self, bucket: str) -> Mapping[str, Any] | None:
        """A 1:1 bucket's owner record: None if it has none, ``owners.GONE`` if the bucket
        does not exist (any more)."""
        try:
            response = self.client.get_object(Bucket=bucket, Key=owners.OWNER_RECORD)
            data: bytes = response["Body"].read()
        except Exception as exc:
            error = map_error(exc, bucket)
            if isinstance(error, NoSuchBucket):
                return owners.GONE
            if isinstance(error, NoSuchKey):
                return None
            raise error from exc
        return owners.parse_record(data)

    def head_bucket(self, bucket: str) -> BucketInfo:
        if not self.upstream_bucket:
            record = self._owner_record(bucket)
            if record is owners.GONE:
                raise NoSuchBucket(bucket)
            created = (record or {}).get("created")
            # GetBucketVersioning only when the status is read: GET/PUT never do
            status = partial(upstream_versions.status, self, bucket)
            if isinstance(created, int):  # no listing of buckets when recorded
                owner = owners.record_owner(record or {})
                return LazyBucketInfo(bucket, utc(moment(created)), owner, versioning_of=status)
            return LazyBucketInfo(bucket, self._creation_date(bucket), None, versioning_of=status)
        try:
            head = self.client.head_object(
                Bucket=self.upstream_bucket, Key=self.layout.marker(bucket)
            )
        except Exception as exc:
            if isinstance(map_error(exc, bucket), NoSuchKey):
                raise NoSuchBucket(bucket) from None
            raise map_error(exc, bucket) from exc
        owner = meta_owner(head.get("Metadata", {}))
        return LazyBucketInfo(
            bucket,
            utc(head.get("LastModified")),
            owner,
            config_names_of=lambda: configs.names(self, bucket),
        )

    def _creation_date(self, bucket: str) -> datetime:
        try:
            response = self.client.list_buckets(Prefix=bucket)
        except Exception as exc:
            raise map_error(exc, bucket) from exc
        for item in response.get("Buckets", []):
            if item["Name"] == bucket:
                return utc(item.get("CreationDate"))
        raise NoSuchBucket(bucket)

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        if not self.upstream_bucket:
            return self._create_direct(bucket, owner)
        import json

        create_only = self._create_only(bucket)
        if not create_only:
            # upstream would overwrite an existing marker (and its owner): look first;
            # two creations racing in this window both succeed, the last owner wins
            self._refuse_existing(bucket)
        try:
            self.client.put_object(
                Bucket=self.upstream_bucket,
                Key=self.layout.marker(bucket),
                Body=b"",
                Metadata={BUCKET_META: json.dumps({"owner": owner}, ensure_ascii=True)},
                **create_only,
            )
        except Exception as exc:
            if isinstance(map_error(exc, bucket), PreconditionFailed):
                raise BucketAlreadyExists(bucket, self.head_bucket(bucket).owner) from None
            raise map_error(exc, bucket) from exc
        return self.head_bucket(bucket)

    def _refuse_existing(self, bucket: str) -> None:
        try:
            owner = self.head_bucket(bucket).owner
        except NoSuchBucket:
            return
        raise BucketAlreadyExists(bucket, owner)

    def _create_only(self, bucket: str) -> dict[str, str]:
        """``IfNoneMatch: *`` if upstream honours it (probed once), else nothing."""
        supported = self.conditional_writes.support(
            self.client, *self.layout.probe_location(bucket)
        ).put.if_none_match
        return {"IfNoneMatch": "*"} if supported else {}

    def _create_direct(self, bucket: str, owner: str | None) -> BucketInfo:
        """1:1: create the upstream bucket, then claim it with an owner record. A bucket
        that already exists upstream is never claimed (it may be someone's, made outside
        boxdrive; AWS us-east-1 answers 200 to CreateBucket of a bucket you own)."""
        self._refuse_existing(bucket)
        options: dict[str, Any] = {"Bucket": bucket}
        region = self._options["region"]
        if region and region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**options)
        except Exception as exc:
            error = map_error(exc, bucket)
            if isinstance(error, BucketAlreadyExists):
                raise BucketAlreadyExists(bucket, self._existing_owner(bucket)) from None
            raise error from exc
        created = utc(None)
        try:
            self.client.put_object(
                Bucket=bucket,
                Key=owners.OWNER_RECORD,
                Body=owners.record_body(owner, int(created.timestamp())),
                ContentType="application/json",
                **self._create_only(bucket),
            )
        except Exception as exc:
            if isinstance(map_error(exc, bucket), PreconditionFailed):
                # another node created and claimed it at the same moment: it won
                raise BucketAlreadyExists(bucket, self.head_bucket(bucket).owner) from None
            raise map_error(exc, bucket) from exc
        return BucketInfo(bucket, created, owner)

    def _existing_owner(self, bucket: str) -> str | None:
        try:
            return self.head_bucket(bucket).owner
        except (NoSuchBucket, BackendError):  # e.g. someone else's bucket upstream
            return None

    def delete_bucket(self, bucket: str) -> None:
        if not self.upstream_bucket:
            upstream_versions.delete_bucket(self, bucket)
            return
        self.head_bucket(bucket)
        try:
            listed = self.client.list_objects_v2(
                Bucket=self.upstream_bucket, Prefix=self.layout.base(bucket), MaxKeys=1
            )
            if listed.get("KeyCount", 0) or listed.get("Contents"):
                raise BucketNotEmpty(bucket)
            if self.capabilities.native_multipart:
                self._multipart.abort_all(bucket)
            configs.delete_all(self, bucket)
            self.client.delete_object(Bucket=self.upstream_bucket, Key=self.layout.marker(bucket))
        except Exception as exc:
            raise map_error(exc, bucket) from exc

    # ---- objects

    def _conditions(
        self, bucket: str, key: str, options: WriteOptions, operation: str = "put"
    ) -> dict[str, str]:
        """Upstream conditional-write parameters for ours on ``operation`` (``put``,
        ``copy``, ``complete``): NotSupported if upstream ignores that condition there
        (probed). An UPDATE names the ETag we reported, which may differ from upstream's:
        check it against the current object, then make upstream commit only over that
        very version."""
        if not options.conditional:
            return {}
        conditions = self.conditional_writes.require(
            self.client,
            *self.layout.probe_location(bucket),
            operation,
            if_match=options.mode is WriteMode.UPDATE,
        )
        if options.mode is WriteMode.CREATE:
            if operation == "put":
                upstream_versions.require_versioned_create(self, bucket)
            return {"IfNoneMatch": "*"}
        current, upstream_etag = self._head(bucket, key)
        options.check(bucket, key, current)
        return {"IfMatch": conditions.if_match_value(upstream_etag)}

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
        self._refuse_reserved(bucket, key)
        # An ETag to record instead of the MD5 must be compared with it first: spool.
        stream = self.stream_uploads and etag is None
        with request_body(body, size, stream=stream, memory=self.spool_memory) as payload:
            attrs = (attributes or ObjectAttributes()).copy()
            extra = self._conditions(bucket, key, options)
            if attrs.content_type:
                extra["ContentType"] = attrs.content_type
            recorded = etag if etag and etag != payload.md5 else None
            try:
                response = self.client.put_object(
                    **self.layout.where(bucket, key),
                    Body=payload.file,
                    ContentLength=payload.size,
                    Metadata=encode_attributes(attrs, recorded),
                    **extra,
                )
            except Exception as exc:
                raise self._missing(payload.error(exc), bucket, key) from exc
            payload.verify(response.get("ETag"))
            size, md5 = payload.size, etag or payload.md5
            return ObjectInfo(bucket, key, size, md5, utc(None), attrs, self._version(response))

    def _info(self, bucket: str, key: str, response: Mapping[str, Any], size: int) -> ObjectInfo:
        attrs, recorded = decode_attributes(response.get("Metadata"), response.get("ContentType"))
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=size,
            etag=recorded or strip_etag(response.get("ETag")),
            last_modified=utc(response.get("LastModified")),
            attributes=attrs,
            version_id=self._version(response),
        )

    def _head(self, bucket: str, key: str, version_id: str | None = None) -> tuple[ObjectInfo, str]:
        self._hide_reserved(bucket, key)
        where = self.layout.where(bucket, key)
        try:
            head = self.client.head_object(**where, **upstream_versions.arguments(version_id))
        except Exception as exc:
            if version_id == NULL_VERSION and http_status(exc) == 400:
                head = upstream_versions.head_null(self, bucket, key)
            else:
                raise upstream_versions.read_error(self, exc, bucket, key, version_id) from exc
        info = self._info(bucket, key, head, int(head.get("ContentLength", 0)))
        return info, strip_etag(head.get("ETag"))

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        version_id = self._version_arg(bucket, key, version_id)
        info = self._head(bucket, key, version_id)[0]
        return info if version_id is None else upstream_versions.with_latest(self, info)

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        version_id = self._version_arg(bucket, key, version_id)
        self._hide_reserved(bucket, key)
        options: dict[str, Any] = self.layout.where(bucket, key)
        options.update(upstream_versions.arguments(version_id))
        if byte_range is not None:
            start = "" if byte_range.start is None else str(byte_range.start)
            end = "" if byte_range.end is None else str(byte_range.end)
            options["Range"] = f"bytes={start}-{end}"
        try:
            response = self.client.get_object(**options)
        except Exception as exc:
            raise upstream_versions.read_error(self, exc, bucket, key, version_id) from exc
        return self._body(bucket, key, response, ranged=byte_range is not None)

    def _body(
        self, bucket: str, key: str, response: Mapping[str, Any], *, ranged: bool
    ) -> ObjectBody:
        """An upstream GetObject response as our ObjectBody (Content-Range as its span)."""
        stream = response["Body"]
        length = int(response.get("ContentLength", 0))
        span: tuple[int, int] | None = None
        size = length
        content_range = response.get("ContentRange")
        if content_range:  # "bytes 0-9/100"
            spec, _, total = content_range.partition(" ")[2].partition("/")
            first = int(spec.partition("-")[0])
            size = int(total)
            span = (first, first + length)
        elif ranged:
            span = (0, length)  # upstream ignored the range: the whole object
        info = self._info(bucket, key, response, size)
        return ObjectBody(info, upstream_chunks(stream), content_range=span, on_close=stream.close)

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        version_id = self._version_arg(bucket, key, version_id)
        self._require_bucket(bucket)
        if self.layout.reserved(key):
            self.head_bucket(bucket)
            return DeleteResult()  # never the owner record: deleting an absent key is fine
        if guard is not None:  # not atomic upstream: right before (s3_versions)
            upstream_versions.guard_delete(self, bucket, key, version_id, guard)
        return upstream_versions.delete(self, bucket, key, version_id)

    # ---- versions: upstream's own, 1:1 only (s3_versions)

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        upstream_versions.set_status(self, bucket, status)

    def is_version_id(self, value: str) -> bool:
        if not self.capabilities.versioning:
            return value == NULL_VERSION
        return upstream_versions.is_version_id(value)

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
        return upstream_versions.list_versions(
            self, bucket, prefix=prefix, delimiter=delimiter, key_marker=key_marker,
            version_id_marker=version_id_marker, max_keys=max_keys,
        )  # fmt: skip

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        base = self.layout.base(bucket)
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        options: dict[str, Any] = {
            "Bucket": self.layout.upstream_bucket(bucket),
            "Prefix": base + prefix,
        }
        if delimiter:
            options["Delimiter"] = delimiter
        if start_after:
            options["StartAfter"] = base + start_after
        truncated = False
        while len(objects) + len(prefixes) < max_keys:
            options["MaxKeys"] = min(UPSTREAM_PAGE, max_keys - len(objects) - len(prefixes))
            try:
                page = self.client.list_objects_v2(**options)
            except Exception as exc:
                raise map_error(exc, bucket) from exc
            for item in page.get("Contents", []):
                if self.layout.reserved(item["Key"]):
                    continue  # the owner record (and probe keys) of a 1:1 bucket
                objects.append(
                    ObjectInfo(
                        bucket=bucket,
                        key=item["Key"][len(base) :],
                        size=int(item.get("Size", 0)),
                        etag=strip_etag(item.get("ETag")),
                        last_modified=utc(item.get("LastModified")),
                    )
                )
            prefixes.extend(
                p["Prefix"][len(base) :]
                for p in page.get("CommonPrefixes", [])
                if not reserved.only_reserved(self, bucket, p["Prefix"])
            )
            truncated = bool(page.get("IsTruncated"))
            token = page.get("NextContinuationToken")
            if not truncated or not token:
                break
            options.pop("StartAfter", None)
            options["ContinuationToken"] = token
        if truncated and token and not self.upstream_bucket:
            truncated = reserved.more_than_reserved(self, bucket, options, token)
        if max_keys <= 0:
            self.head_bucket(bucket)  # no upstream listing was made to say NoSuchBucket
        elif not objects and not prefixes:
            self._require_bucket(bucket)
        entries = [o.key for o in objects] + prefixes
        last = max(entries, key=lambda e: e.encode("utf-8", "surrogatepass")) if entries else None
        return ObjectPage(objects, prefixes, truncated, last)

    # ---- copies and bucket configuration

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
        """A server-side CopyObject of the exact source version inspected (``s3_copies``)."""
        version_id = self._version_arg(src_bucket, src_key, source_version_id)
        return copies.copy_object(
            self, (src_bucket, src_key), (dst_bucket, dst_key), attributes, options, version_id
        )

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        """Tags, ACLs: a self-copy, last writer wins where upstream ignores If-Match on
        CopyObject (``s3_copies.update_attributes`` says what that leaves open)."""
        version_id = self._version_arg(bucket, key, version_id)
        if upstream_versions.status(self, bucket) is not None:
            # a self-copy would make a new version rather than change this one
            raise NotSupported("attribute updates on a versioned bucket of the S3 store")
        return copies.update_attributes(self, bucket, key, update)

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        return configs.get(self, bucket, name)

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        configs.put(self, bucket, name, value)
