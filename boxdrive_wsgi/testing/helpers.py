"""Helpers of the store contract checks: deterministic data, one-line writes and reads,
a recording request body, threads, and the reference model of a listing.

A store author may use them in their own store-specific tests too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import threading
import zlib
from collections.abc import Callable

import pytest

from ..stores import (
    CHUNK_SIZE,
    OVERWRITE,
    ByteRange,
    NoSuchKey,
    ObjectAttributes,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    WriteOptions,
)

#: The minimum part size the contract's multipart checks set on a store (``mp_store``):
#: small parts keep the checks fast.
MIN_PART_SIZE = 1024
#: A store may ask for, and hand out, at most this much at once ("a few MiB").
MAX_PIECE = 2 * CHUNK_SIZE
LARGE = 3 * CHUNK_SIZE + CHUNK_SIZE // 2  # 3.5 MiB


def walk_version_pages(store: ObjectStore, bucket: str, max_keys: int) -> list[ObjectInfo]:
    """Every entry of ``list_object_versions``, walked ``max_keys`` at a time with the
    next key and version id markers each page gives (checked)."""
    seen: list[ObjectInfo] = []
    key_marker, version_marker = "", ""
    for _ in range(100):
        page = store.list_object_versions(
            bucket, key_marker=key_marker, version_id_marker=version_marker, max_keys=max_keys
        )
        assert len(page.versions) <= max_keys
        seen += page.versions
        if not page.is_truncated:
            return seen
        assert page.next_key_marker == page.versions[-1].key
        assert page.next_version_id_marker == page.versions[-1].version_id
        key_marker, version_marker = page.next_key_marker, str(page.next_version_id_marker)
    raise AssertionError("listing did not end")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes where every offset differs from its neighbours."""
    block = bytes((i * 7 + seed) % 251 for i in range(251 * 16))
    reps = size // len(block) + 1
    return (block * reps)[:size]


def keys_of(store: ObjectStore, bucket: str) -> list[str]:
    return [o.key for o in store.list_objects(bucket, max_keys=10_000).objects]


def assert_absent(store: ObjectStore, bucket: str, key: str) -> None:
    with pytest.raises(NoSuchKey):
        store.head_object(bucket, key)
    with pytest.raises(NoSuchKey):
        store.get_object(bucket, key)
    assert key not in keys_of(store, bucket)


def full_attributes(data: bytes) -> ObjectAttributes:
    return ObjectAttributes(
        content_type="text/plain; charset=utf-8",
        metadata={"color": "blue", "empty": "", "spaced-out": "  a b  ", "unicode": "日本 é"},
        headers={
            "Content-Encoding": "gzip",
            "Content-Disposition": 'attachment; filename="report.txt"',
            "Content-Language": "en-GB",
            "Cache-Control": "max-age=60, private",
            "Expires": "Thu, 01 Dec 2094 16:00:00 GMT",
        },
        checksums={
            "CRC32": base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode(),
            "SHA256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        },
    )


def assert_attributes(info: ObjectInfo, expected: ObjectAttributes) -> None:
    assert info.content_type == expected.content_type
    assert info.attributes.content_type == expected.content_type
    assert dict(info.metadata) == dict(expected.metadata)
    assert dict(info.attributes.headers) == dict(expected.headers)
    assert dict(info.attributes.checksums) == dict(expected.checksums)


THREADS = 8


def run_threads(target: Callable[[int], None], count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrapper(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a store call hung"
    return errors


_bucket_counter = itertools.count()


def fresh_bucket_name(stem: str = "b") -> str:
    """A bucket name not used before in this process (valid as an S3 name)."""
    return f"{stem}-{next(_bucket_counter):06d}"


def put(
    store: ObjectStore,
    bucket: str,
    key: str,
    data: bytes = b"",
    *,
    attributes: ObjectAttributes | None = None,
    options: WriteOptions = OVERWRITE,
    with_size: bool = True,
) -> ObjectInfo:
    return store.put_object(
        bucket,
        key,
        io.BytesIO(data),
        size=len(data) if with_size else None,
        attributes=attributes,
        options=options,
    )


def get_bytes(
    store: ObjectStore, bucket: str, key: str, byte_range: ByteRange | None = None
) -> bytes:
    return store.get_object(bucket, key, byte_range=byte_range).read_all()


class RecordingReader:
    """A request body that records every ``read()`` size it is asked for.

    ``max_read`` caps how much one call returns (short reads, like a socket).
    ``fail_at``: once this many bytes have been served, the next read raises ``error``.
    ``data`` may be longer than what the store is told (``size=``); ``served`` tells
    how much it actually handed out.
    """

    def __init__(
        self,
        data: bytes,
        *,
        max_read: int | None = None,
        fail_at: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        self._data = data
        self._pos = 0
        self._max_read = max_read
        self._fail_at = fail_at
        self._error = error if error is not None else OSError("client went away")
        self.sizes: list[int | None] = []

    @property
    def served(self) -> int:
        return self._pos

    def read(self, size: int | None = -1, /) -> bytes:
        self.sizes.append(size)
        if self._fail_at is not None and self._pos >= self._fail_at:
            raise self._error
        end = len(self._data) if size is None or size < 0 else self._pos + size
        if self._max_read is not None:
            end = min(end, self._pos + self._max_read)
        if self._fail_at is not None:
            end = min(end, self._fail_at)
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


def page_entries(page: ObjectPage) -> list[str]:
    """Keys and common prefixes of a page, merged in UTF-8 byte order."""
    return sorted([o.key for o in page.objects] + page.common_prefixes, key=str.encode)


def walk_pages(
    store: ObjectStore,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
    max_keys: int,
    limit: int = 10_000,
) -> list[ObjectPage]:
    """Every page of a listing, following ``page.last`` as the next ``start_after``."""
    pages: list[ObjectPage] = []
    after = start_after
    for _ in range(limit):
        page = store.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, start_after=after, max_keys=max_keys
        )
        pages.append(page)
        if not page.is_truncated:
            return pages
        assert page.last is not None, "a truncated page must say where it ended"
        assert page.last.encode() > after.encode(), "pagination must make progress"
        after = page.last
    raise AssertionError(f"listing did not end after {limit} pages")


def model_split(
    keys: list[str],
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
) -> dict[str, bool]:
    """The reference model of a listing: entry -> is it a common prefix, in order.

    A key under ``prefix`` whose remainder after ``prefix`` contains ``delimiter`` is
    rolled up into the prefix ending at the first delimiter; an entry is listed iff
    it sorts after ``start_after`` (so keys covered by a common prefix that does not
    sort after ``start_after`` are skipped). Order is UTF-8 byte order.
    """
    entries: dict[str, bool] = {}
    for key in keys:
        if not key.startswith(prefix):
            continue
        entry, rolled = key, False
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                entry, rolled = key[: at + len(delimiter)], True
        if entry.encode() > start_after.encode():
            assert entries.get(entry, rolled) == rolled, "a key never equals a common prefix"
            entries[entry] = rolled
    return {e: entries[e] for e in sorted(entries, key=str.encode)}


def model_listing(
    keys: list[str],
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
) -> list[str]:
    """Every entry (key or common prefix) of a listing, in order; see ``model_split``."""
    return list(model_split(keys, prefix=prefix, delimiter=delimiter, start_after=start_after))
