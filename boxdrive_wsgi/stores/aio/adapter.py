"""AsyncStoreAdapter: an async store served through the synchronous ObjectStore contract.

The adapter runs the async store on one event loop, on a daemon thread shared by every
request thread of the process. The loop starts on first use and again in a child after
``fork`` (gunicorn and uwsgi fork workers after loading the app): the adapter notices the
pid change. Each call is ``run_coroutine_threadsafe(...)`` waited on by the request
thread; exceptions keep their type and identity (store errors from ``stores.base`` pass
through unchanged). Bodies stream: request bodies reach the store as an async iterator
whose chunks the request thread reads on demand; response bodies come back through a
bounded buffer (``buffer_chunks``) that applies back-pressure, and closing the body
early (client gone) cancels the coroutine producing it. ``close()`` (also run at exit)
closes the async store (``aclose()`` if it has one), cancels what is left, stops the
loop and joins the thread.

Two kinds of async store are accepted:

* **our interface, async** — the methods of ``ObjectStore`` as ``async def``, request
  bodies as async iterators of bytes, ``get_object`` returning an ``AsyncObjectBody``
  (or anything with ``info``, an async iterable ``chunks``, optional ``content_range``
  and an optional async ``aclose``). Multipart, ``copy_object``, ``update_object_attributes`` and
  the bucket-config methods are used when the store has them; otherwise the defaults
  of ``ObjectStore`` run over the adapter.
* **BoxDrive-style** — ``put_object(bucket_name, key, data: bytes, content_type)``.
  The rule: a store whose ``put_object`` takes a parameter named ``data`` is wrapped in
  ``BoxDriveShim`` (see ``stores.aio.shim``); ``BoxDriveStoreAdapter`` says so
  explicitly. Such stores hold whole objects as bytes: memory is then O(object).

``timeout`` is the longest a call may go without progress (a read of the request body,
a chunk of the response, or the result), not a limit on a whole transfer; ``None``
waits forever. On timeout the coroutine is cancelled and ``TimeoutError`` raised.
"""

from __future__ import annotations

import atexit
import inspect
import os
import threading
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
)
from dataclasses import replace
from typing import Any, BinaryIO, TypeVar

from ..base import (
    OVERWRITE,
    AttributeUpdate,
    BucketInfo,
    ByteRange,
    Capabilities,
    DeleteCondition,
    DeleteGuard,
    DeleteResult,
    MultipartBackend,
    NotSupported,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    Readable,
    SourceAttributes,
    VersionPage,
    WriteOptions,
)
from ..versions import guard_before, require_null
from .bridge import ChunkBridge, LoopThread, call_with_body, wait
from .multipart import AsyncMultipart
from .shim import BoxDriveShim

T = TypeVar("T")

#: Default seconds a store call may go without progress.
DEFAULT_TIMEOUT = 300.0


def is_boxdrive_style(store: object) -> bool:
    """True if ``store.put_object`` takes ``data`` (bytes), as BoxDrive's ObjectStore does."""
    put = getattr(store, "put_object", None)
    if put is None:
        return False
    try:
        return "data" in inspect.signature(put).parameters
    except (TypeError, ValueError):
        return False


_ADAPTERS: weakref.WeakSet[AsyncStoreAdapter] = weakref.WeakSet()


def _close_all() -> None:
    for adapter in list(_ADAPTERS):
        adapter.close()


def _after_fork_in_child() -> None:
    for adapter in list(_ADAPTERS):
        adapter._forget_loop()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_after_fork_in_child)


class AsyncStoreAdapter(ObjectStore):
    """A synchronous ObjectStore over an async store (ours, or BoxDrive-style)."""

    def __init__(
        self, async_store: Any, *, timeout: float | None = DEFAULT_TIMEOUT, buffer_chunks: int = 2
    ) -> None:
        if is_boxdrive_style(async_store):
            async_store = BoxDriveShim(async_store)
        self.store: Any = async_store
        # Declared by the async store, or read once off the methods it has.
        self.capabilities = getattr(async_store, "capabilities", None) or Capabilities(
            conditional_delete=self._has("delete_object_if"),
            native_multipart=self._has("create_multipart_upload"),
            bucket_config=self._has("get_bucket_config"),
        )
        if self.capabilities.version_reads and not self.capabilities.versioning:
            # only a versioning async store gets version ids forwarded (read-only: not)
            self.capabilities = replace(self.capabilities, version_reads=False)
        self.timeout = timeout
        self.buffer_chunks = buffer_chunks
        self._lock = threading.Lock()
        self._runner: LoopThread | None = None
        self._native_multipart = AsyncMultipart(self)
        _ADAPTERS.add(self)

    # ---- the loop

    def _loop_thread(self) -> LoopThread:
        runner = self._runner
        if runner is not None and runner.alive:
            return runner
        with self._lock:
            if self._runner is None or not self._runner.alive:
                self._runner = LoopThread()
            return self._runner

    def _forget_loop(self) -> None:
        """In a forked child: the loop thread did not survive the fork; start afresh."""
        self._lock = threading.Lock()
        self._runner = None

    @property
    def loop_thread(self) -> threading.Thread | None:
        """The thread running the loop (None before first use and after close)."""
        runner = self._runner
        return runner.thread if runner is not None else None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine on the adapter's loop and return its result."""
        runner = self._loop_thread()
        return wait(runner.submit(coro), self.timeout)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(getattr(self.store, name)(*args, **kwargs))

    def _has(self, name: str) -> bool:
        return callable(getattr(self.store, name, None))

    def close(self) -> None:
        """Close the async store, cancel what is still running, stop and join the loop."""
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is None or not runner.alive:
            return
        closer = getattr(self.store, "aclose", None) or getattr(self.store, "close", None)
        if closer is not None:
            try:
                result = closer()
                if inspect.isawaitable(result):
                    wait(runner.submit(_awaited(result)), self.timeout)
            finally:
                runner.stop()
        else:
            runner.stop()

    # ---- buckets

    def list_buckets(self) -> list[BucketInfo]:
        return list(self._call("list_buckets"))

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        info: BucketInfo = self._call("create_bucket", bucket, owner=owner)
        return info

    def head_bucket(self, bucket: str) -> BucketInfo:
        info: BucketInfo = self._call("head_bucket", bucket)
        return info

    def delete_bucket(self, bucket: str) -> None:
        self._call("delete_bucket", bucket)

    def set_bucket_versioning(self, bucket: str, status: str) -> None:
        if not self.capabilities.versioning:
            return super().set_bucket_versioning(bucket, status)
        self._call("set_bucket_versioning", bucket, status)

    def is_version_id(self, value: str) -> bool:
        if not self.capabilities.versioning:
            return super().is_version_id(value)
        check = getattr(self.store, "is_version_id", None)
        if check is None:  # the async store's ids are opaque to us: S3's limits
            return 0 < len(value) <= 64 and value.isascii()
        result = check(value)
        if inspect.isawaitable(result):
            result = self.run(_awaited(result))
        return bool(result)

    def _version(
        self, bucket: str, key: str, version_id: str | None, name: str = "version_id"
    ) -> dict[str, Any]:
        """The keyword naming a version for the async store: only if it versions (and a
        version is named); a store without versions knows only the null version."""
        if not self.capabilities.versioning:
            require_null(bucket, key, version_id)
            return {}
        return {} if version_id is None else {name: version_id}

    # ---- objects

    def _with_body(
        self,
        make: Callable[[AsyncIterator[bytes]], Coroutine[Any, Any, T]],
        body: Readable | BinaryIO,
        size: int | None,
    ) -> T:
        return call_with_body(self._loop_thread(), make, body, size, self.timeout)

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
        def make(chunks: AsyncIterator[bytes]) -> Coroutine[Any, Any, ObjectInfo]:
            coro: Coroutine[Any, Any, ObjectInfo] = self.store.put_object(
                bucket,
                key,
                chunks,
                size=size,
                attributes=attributes,
                options=options,
                etag=etag,
            )
            return coro

        return self._with_body(make, body, size)

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectBody:
        version = self._version(bucket, key, version_id)
        runner = self._loop_thread()
        opened = wait(
            runner.submit(self.store.get_object(bucket, key, byte_range=byte_range, **version)),
            self.timeout,
        )
        release = getattr(opened, "aclose", None)
        bridge = ChunkBridge(
            runner, opened.chunks, bound=self.buffer_chunks, timeout=self.timeout, release=release
        )
        return ObjectBody(opened.info, bridge, content_range=getattr(opened, "content_range", None))

    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        version = self._version(bucket, key, version_id)
        info: ObjectInfo = self._call("head_object", bucket, key, **version)
        return info

    def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        if self.capabilities.versioning:
            result: DeleteResult = self._call(
                "delete_object", bucket, key, version_id=version_id, guard=guard, owner=owner
            )
            return result
        require_null(bucket, key, version_id)
        guard_before(guard, lambda: self.head_object(bucket, key))  # not atomic: right before
        self._call("delete_object", bucket, key)
        return DeleteResult()

    def delete_object_if(
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        if not self.capabilities.conditional_delete:  # it alone can make it atomic
            raise NotSupported("conditional delete")
        if self.capabilities.versioning:
            result: DeleteResult = self._call(
                "delete_object_if", bucket, key, condition, owner=owner
            )
            return result
        self._call("delete_object_if", bucket, key, condition)
        return DeleteResult()

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        page: ObjectPage = self._call(
            "list_objects",
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )
        return page

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
        page: VersionPage = self._call(
            "list_object_versions",
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )
        return page

    # ---- multipart: the async store's own if it has them, else the staged default

    def multipart_backend(self) -> MultipartBackend:
        if self.capabilities.native_multipart:
            return self._native_multipart
        return super().multipart_backend()

    # ---- copies, tags, bucket configuration: native if present, else the defaults

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
        if not self._has("copy_object"):
            return super().copy_object(
                src_bucket,
                src_key,
                dst_bucket,
                dst_key,
                attributes=attributes,
                options=options,
                source_version_id=source_version_id,
            )
        version = self._version(src_bucket, src_key, source_version_id, "source_version_id")
        info: ObjectInfo = self._call(
            "copy_object",
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            attributes=attributes,
            options=options,
            **version,
        )
        return info

    def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        if not self._has("update_object_attributes"):
            return super().update_object_attributes(bucket, key, update, version_id=version_id)
        version = self._version(bucket, key, version_id)
        info: ObjectInfo = self._call("update_object_attributes", bucket, key, update, **version)
        return info

    def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        if not self.capabilities.bucket_config:
            return super().get_bucket_config(bucket, name)
        value: bytes | None = self._call("get_bucket_config", bucket, name)
        return value

    def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        if not self.capabilities.bucket_config:
            return super().put_bucket_config(bucket, name, value)
        self._call("put_bucket_config", bucket, name, value)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


class BoxDriveStoreAdapter(AsyncStoreAdapter):
    """An ObjectStore over a BoxDrive store, unchanged (``boxdrive.ObjectStore``).

    BoxDrive stores take and return whole objects as bytes: a request holds the whole
    object in memory (O(object)). What BoxDrive does not keep (owners, metadata, content
    headers, checksums, tags, multipart ETags, bucket configuration) is kept by the shim
    in a hidden bucket of the same store; see ``stores.aio.shim``.
    """

    def __init__(
        self,
        boxdrive_store: Any,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        buffer_chunks: int = 2,
    ) -> None:
        shim = (
            boxdrive_store
            if isinstance(boxdrive_store, BoxDriveShim)
            else BoxDriveShim(boxdrive_store)
        )
        super().__init__(shim, timeout=timeout, buffer_chunks=buffer_chunks)
