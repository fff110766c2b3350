"""BoxDriveShim: a BoxDrive store, unchanged, seen through our async store interface.

BoxDrive's ``ObjectStore`` (cospectrum/boxdrive) is async and holds bytes:
``put_object(bucket_name, key, data: bytes, content_type=None) -> ObjectInfo`` (older
releases return the ETag), ``get_object(bucket_name, key) -> Object(data, info)``,
``head_object -> ObjectInfo(key, size, last_modified, etag, content_type)``,
``list_objects(bucket_name, *, prefix, delimiter, max_keys, marker, ...) ->
ListObjectsInfo(objects, is_truncated, common_prefixes, next_marker)``,
``list_buckets -> [BucketInfo(name, creation_date)]``, ``create_bucket``,
``delete_bucket``, ``delete_object``; errors are ``boxdrive.exceptions.NoSuchBucket``,
``NoSuchKey`` and ``BucketAlreadyExists``, raised without arguments. The shim maps an
exception by its class name (whatever its module) and never imports BoxDrive.

Whole objects pass as bytes, so memory is O(object) per request. What BoxDrive does
not keep lives in a sidecar: a hidden bucket of the same store (``SIDECAR_BUCKET``, a
name our HTTP layer refuses to create) holding one small JSON record per bucket (owner)
and per object (attributes, the ETag we reported, the ETag BoxDrive reported), and the
bucket configuration documents. A record whose BoxDrive ETag no longer matches the
object's (the object was rewritten behind our back) is ignored, so objects written
by BoxDrive itself read with defaults: a migration path. Listings read the records of
the page's objects too, so they show the ETag HEAD shows (a multipart ``-N`` one).

A bucket's owner record is tied to the bucket's creation date, so that a bucket deleted
and made again behind our back does not inherit an old owner. Some BoxDrive stores
(its GitlabStore) report "now" as every bucket's creation date: once two listings in a
row disagree on a date, the shim knows the dates mean nothing and trusts the records
as they are. A bucket with no (valid) record has owner None: the operator's only.
Where BoxDrive falls short of
our contract (it has no ``head_bucket``; its ``put_object`` creates buckets; its
``delete_bucket`` deletes non-empty buckets) the shim checks first. Conditional writes
and the pairing of object and record are atomic within one process (per-key locks on
the loop), not across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ..base import (
    CHUNK_SIZE,
    OVERWRITE,
    AttributeUpdate,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    NoSuchBucket,
    NoSuchKey,
    ObjectAttributes,
    ObjectInfo,
    ObjectPage,
    StoreError,
    WriteOptions,
)
from ..documents import from_document, to_document
from ..listing import paginate
from .bridge import AsyncObjectBody

#: Where the shim keeps what BoxDrive cannot: "--ol-s3" names are refused for new buckets.
SIDECAR_BUCKET = "boxdrive-wsgi-sidecar--ol-s3"
#: BoxDrive's largest page (its MaxKeys validator).
PAGE = 1000
#: Object records read at once while a listing page resolves its ETags.
RECORD_READS = 16
#: Content types BoxDrive's validator accepts; others are kept in the sidecar only.
_SIMPLE_CONTENT_TYPE = re.compile(
    r"^[a-zA-Z0-9!#$&\-^_]*/[a-zA-Z0-9!#$&\-^_]*(\s*;\s*[a-zA-Z0-9!#$&\-^_]*=[a-zA-Z0-9!#$&\-^_]*)*$"
)


def _when(value: object) -> datetime:
    when = value if isinstance(value, datetime) else datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def _error_name(exc: BaseException) -> str:
    return type(exc).__name__


def _record_key(kind: str, bucket: str, name: str = "") -> str:
    digest = hashlib.sha256(f"{bucket}\x00{name}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}/{bucket}/{digest}" if kind == "c" else f"{kind}/{digest}"


class BoxDriveShim:
    """Our async store interface over a BoxDrive-style store (see the module docstring)."""

    def __init__(self, store: Any) -> None:
        self.inner = store
        self._key_locks: dict[tuple[str, str], list[Any]] = {}  # [lock, users]
        self._bucket_lock: asyncio.Lock | None = None
        self._sidecar_ready = False
        #: True once BoxDrive reported two creation dates for one bucket
        self._unstable_dates = False

    async def aclose(self) -> None:
        for name in ("aclose", "close"):
            closer = getattr(self.inner, name, None)
            if closer is not None:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
                return

    # ---- plumbing

    @contextlib.asynccontextmanager
    async def _locked(self, bucket: str, key: str) -> AsyncIterator[None]:
        """Serialise the operations on one key (in this process)."""
        entry = self._key_locks.setdefault((bucket, key), [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._key_locks[(bucket, key)]

    def _buckets(self) -> asyncio.Lock:
        if self._bucket_lock is None:
            self._bucket_lock = asyncio.Lock()
        return self._bucket_lock

    async def _inner(self, method: str, bucket: str, *args: Any, **kw: Any) -> Any:
        key = str(args[0]) if args else ""
        try:
            return await getattr(self.inner, method)(bucket, *args, **kw)
        except StoreError:
            raise
        except Exception as exc:
            name = _error_name(exc)
            if name == "NoSuchBucket":
                raise NoSuchBucket(bucket) from exc
            if name == "NoSuchKey":
                raise NoSuchKey(bucket, key) from exc
            if name == "BucketAlreadyExists":
                raise BucketAlreadyExists(bucket, None) from exc
            raise

    async def _sidecar_get(self, key: str) -> bytes | None:
        try:
            obj = await self.inner.get_object(SIDECAR_BUCKET, key)
        except Exception as exc:
            if _error_name(exc) in ("NoSuchKey", "NoSuchBucket"):
                return None
            raise
        return None if obj is None else bytes(_data_of(obj))

    async def _sidecar_put(self, key: str, value: bytes) -> None:
        if not self._sidecar_ready:
            try:
                await self.inner.create_bucket(SIDECAR_BUCKET)
            except Exception as exc:
                if _error_name(exc) != "BucketAlreadyExists":
                    raise
            self._sidecar_ready = True
        await self.inner.put_object(SIDECAR_BUCKET, key, value, None)

    async def _sidecar_delete(self, key: str) -> None:
        try:
            await self.inner.delete_object(SIDECAR_BUCKET, key)
        except Exception as exc:
            if _error_name(exc) not in ("NoSuchKey", "NoSuchBucket"):
                raise

    async def _json(self, key: str) -> dict[str, Any]:
        raw = await self._sidecar_get(key)
        if raw is None:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    # ---- buckets

    async def _bucket_infos(self) -> dict[str, Any]:
        return {b.name: b for b in await self.inner.list_buckets() if b.name != SIDECAR_BUCKET}

    async def _info(self, raw: Any) -> BucketInfo:
        record = await self._json(_record_key("b", raw.name))
        created = _when(getattr(raw, "creation_date", None))
        owner = record.get("owner")
        if not isinstance(owner, str) or not await self._record_applies(raw, record, created):
            owner = None
        return BucketInfo(name=raw.name, created=created, owner=owner)

    async def _record_applies(self, raw: Any, record: Mapping[str, Any], created: datetime) -> bool:
        """Whether a bucket record belongs to this bucket, not to an earlier one of the
        same name (see the module docstring)."""
        if record.get("created") == created.isoformat() or self._unstable_dates:
            return True
        if "created" not in record:
            return False
        again = (await self._bucket_infos()).get(raw.name)
        first, second = (getattr(b, "creation_date", None) for b in (raw, again))
        if again is not None and (first is None or second is None or first != second):
            self._unstable_dates = True  # the store makes dates up: they tell nothing
            return True
        return False

    async def list_buckets(self) -> list[BucketInfo]:
        raw = await self._bucket_infos()
        return [await self._info(raw[name]) for name in sorted(raw)]

    async def head_bucket(self, bucket: str) -> BucketInfo:
        raw = (await self._bucket_infos()).get(bucket)
        if raw is None:
            raise NoSuchBucket(bucket)
        return await self._info(raw)

    async def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        async with self._buckets():
            try:
                await self._inner("create_bucket", bucket)
            except BucketAlreadyExists:
                raise BucketAlreadyExists(bucket, (await self.head_bucket(bucket)).owner) from None
            raw = (await self._bucket_infos()).get(bucket)
            created = _when(getattr(raw, "creation_date", None))
            record = {"owner": owner, "created": created.isoformat()}
            await self._sidecar_put(_record_key("b", bucket), json.dumps(record).encode())
            return BucketInfo(name=bucket, created=created, owner=owner)

    async def delete_bucket(self, bucket: str) -> None:
        async with self._buckets():
            page = await self._inner("list_objects", bucket, max_keys=1)
            if page.objects:
                raise BucketNotEmpty(bucket)
            await self._inner("delete_bucket", bucket)
            await self._sidecar_delete(_record_key("b", bucket))
            configs = await self._sidecar_keys(f"c/{bucket}/")
            for key in configs:
                await self._sidecar_delete(key)

    async def _sidecar_keys(self, prefix: str) -> list[str]:
        try:
            page = await self.inner.list_objects(SIDECAR_BUCKET, prefix=prefix, max_keys=PAGE)
        except Exception as exc:
            if _error_name(exc) == "NoSuchBucket":
                return []
            raise
        return [o.key for o in page.objects]

    async def _require_bucket(self, bucket: str) -> None:
        if bucket not in await self._bucket_infos():
            raise NoSuchBucket(bucket)

    # ---- objects

    async def _current(self, bucket: str, key: str) -> tuple[ObjectInfo, Any] | None:
        """Our view of an object (or None) and BoxDrive's raw info of it."""
        try:
            raw = await self._inner("head_object", bucket, key)
        except NoSuchKey:
            return None
        if raw is None:
            return None
        return await self._view(bucket, raw), raw

    async def _view(self, bucket: str, raw: Any) -> ObjectInfo:
        record = await self._json(_record_key("o", bucket, raw.key))
        attributes = ObjectAttributes(content_type=getattr(raw, "content_type", None))
        etag = str(raw.etag).strip('"')
        if record.get("source_etag") == etag:
            attributes = from_document(record["attributes"])
            etag = record["etag"]
        return ObjectInfo(
            bucket=bucket,
            key=raw.key,
            size=int(raw.size),
            etag=etag,
            last_modified=_when(raw.last_modified),
            attributes=attributes,
        )

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        *,
        size: int | None = None,
        attributes: ObjectAttributes | None = None,
        options: WriteOptions = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        await self._require_bucket(bucket)
        md5 = hashlib.md5()
        parts: list[bytes] = []
        async for chunk in body:
            md5.update(chunk)
            parts.append(chunk)
        data = b"".join(parts)
        del parts
        attrs = (attributes or ObjectAttributes()).copy()
        async with self._locked(bucket, key):
            await self._require_bucket(bucket)
            if options.conditional:
                current = await self._current(bucket, key)
                options.check(bucket, key, current[0] if current else None)
            ctype = attrs.content_type
            simple = ctype if ctype and _SIMPLE_CONTENT_TYPE.match(ctype) else None
            result = await self._inner("put_object", bucket, key, data, simple)
            raw = (
                result if hasattr(result, "etag") else await self._inner("head_object", bucket, key)
            )
            ours = etag or md5.hexdigest()
            record = {
                "attributes": _attributes_json(attrs),
                "etag": ours,
                "source_etag": str(raw.etag).strip('"'),
            }
            await self._sidecar_put(_record_key("o", bucket, key), json.dumps(record).encode())
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=ours,
            last_modified=_when(getattr(raw, "last_modified", None)),
            attributes=attrs,
        )

    async def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> Any:
        async with self._locked(bucket, key):
            obj = await self._inner("get_object", bucket, key)
            if obj is None:
                raise NoSuchKey(bucket, key)
            info = await self._view(bucket, _info_of(obj))
        data = memoryview(bytes(_data_of(obj)))
        info = ObjectInfo(
            info.bucket, info.key, len(data), info.etag, info.last_modified, info.attributes
        )
        span = byte_range.resolve(len(data)) if byte_range else None
        start, stop = span or (0, len(data))

        async def chunks() -> AsyncIterator[bytes]:
            for at in range(start, stop, CHUNK_SIZE):
                yield bytes(data[at : min(at + CHUNK_SIZE, stop)])

        return AsyncObjectBody(info, chunks(), content_range=span)

    async def head_object(self, bucket: str, key: str) -> ObjectInfo:
        async with self._locked(bucket, key):
            current = await self._current(bucket, key)
        if current is None:
            raise NoSuchKey(bucket, key)
        return current[0]

    async def delete_object(self, bucket: str, key: str) -> None:
        await self._require_bucket(bucket)
        async with self._locked(bucket, key):
            with contextlib.suppress(NoSuchKey):
                await self._inner("delete_object", bucket, key)
            await self._sidecar_delete(_record_key("o", bucket, key))

    async def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate
    ) -> ObjectInfo:
        async with self._locked(bucket, key):
            current = await self._current(bucket, key)
            if current is None:
                raise NoSuchKey(bucket, key)
            info, raw = current
            new = update.apply(info.attributes)
            record = {
                "attributes": _attributes_json(new),
                "etag": info.etag,
                "source_etag": str(raw.etag).strip('"'),
            }
            await self._sidecar_put(_record_key("o", bucket, key), json.dumps(record).encode())
        return ObjectInfo(bucket, key, info.size, info.etag, info.last_modified, new)

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """BoxDrive lists without a delimiter, page by page (its own roll-up and
        truncation disagree with S3's); we roll up, fetching only as far as the page
        needs: O(keys up to the end of the page), covered keys included."""
        await self._require_bucket(bucket)
        fetched: list[ObjectInfo] = []
        entries: set[str] = set()
        marker = start_after if start_after.encode() > prefix.encode() else ""
        while max_keys > 0:
            page = await self._inner(
                "list_objects", bucket, prefix=prefix or None, marker=marker or None, max_keys=PAGE
            )
            for raw in page.objects:
                fetched.append(await self._listed(bucket, raw))
                rest = raw.key[len(prefix) :]
                at = rest.find(delimiter) if delimiter else -1
                entries.add(raw.key if at < 0 else raw.key[: len(prefix) + at + len(delimiter)])
            if not page.is_truncated or not page.objects or len(entries) > max_keys + 1:
                break
            marker = page.objects[-1].key
        fetched.sort(key=lambda o: o.key)
        keys = [o.key for o in fetched]

        def seek(lower: str, inclusive: bool) -> Any:
            import bisect

            find = bisect.bisect_left if inclusive else bisect.bisect_right
            return iter(fetched[find(keys, lower) :])

        page = paginate(
            seek, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys
        )
        return dataclasses.replace(page, objects=await self._reported(bucket, page.objects))

    async def _reported(self, bucket: str, listed: list[ObjectInfo]) -> list[ObjectInfo]:
        """The listed objects with the ETags HEAD and GET report (a multipart object's
        ``-N`` one is in its record, BoxDrive lists the MD5): one record read per object
        of the page, ``RECORD_READS`` at a time."""
        limit = asyncio.Semaphore(RECORD_READS)

        async def reported(info: ObjectInfo) -> ObjectInfo:
            async with limit:
                record = await self._json(_record_key("o", bucket, info.key))
            if record.get("source_etag") != info.etag or not isinstance(record.get("etag"), str):
                return info
            return dataclasses.replace(info, etag=record["etag"])

        return list(await asyncio.gather(*(reported(info) for info in listed)))

    async def _listed(self, bucket: str, raw: Any) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=raw.key,
            size=int(raw.size),
            etag=str(raw.etag).strip('"'),
            last_modified=_when(raw.last_modified),
            attributes=ObjectAttributes(content_type=getattr(raw, "content_type", None)),
        )

    # ---- bucket configuration, in the sidecar

    async def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        await self._require_bucket(bucket)
        return await self._sidecar_get(_record_key("c", bucket, name))

    async def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        async with self._buckets():
            await self._require_bucket(bucket)
            key = _record_key("c", bucket, name)
            if value is None:
                await self._sidecar_delete(key)
            else:
                await self._sidecar_put(key, bytes(value))


def _attributes_json(a: ObjectAttributes) -> dict[str, Any]:
    return to_document(a)


def _data_of(obj: Any) -> bytes:
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj)
    data = getattr(obj, "data", None)
    if data is None:
        data = obj.bytes
    return bytes(data)


def _info_of(obj: Any) -> Any:
    info = getattr(obj, "info", None)
    return info if info is not None else obj.metadata
