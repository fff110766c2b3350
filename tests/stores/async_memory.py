"""AsyncMemoryStore: an async store with our interface, for the AsyncStoreAdapter tests.

Every method is ``async def``; request bodies arrive as async iterators of bytes and
``get_object`` returns an ``AsyncObjectBody`` whose chunks are an async generator. The
bookkeeping is a ``MemoryStore`` used only from the event loop's thread; what makes this
store async is that it consumes and produces bodies chunk by chunk, yielding to the
loop in between, as a store talking to a network service would.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Mapping, Sequence

from boxdrive_wsgi.stores.aio import AsyncObjectBody
from boxdrive_wsgi.stores.base import (
    BucketInfo,
    ByteRange,
    Capabilities,
    CompletedAttributes,
    DeleteCondition,
    DeleteGuard,
    DeleteResult,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    PartInfo,
    PartPage,
    SourceAttributes,
    UploadPage,
    VersionPage,
)
from boxdrive_wsgi.stores.memory import MemoryStore
from boxdrive_wsgi.stores.model import OVERWRITE, AttributeUpdate, WriteOptions


def _async_body(body: ObjectBody) -> AsyncObjectBody:
    """A memory store's body as an async one, yielding to the loop between chunks."""

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in body:
            await asyncio.sleep(0)
            yield chunk

    async def release() -> None:
        body.close()

    return AsyncObjectBody(body.info, chunks(), content_range=body.content_range, on_close=release)


class AsyncMemoryStore:
    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True

    async def list_buckets(self) -> list[BucketInfo]:
        await asyncio.sleep(0)
        return self.inner.list_buckets()

    async def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        await asyncio.sleep(0)
        return self.inner.create_bucket(bucket, owner=owner)

    async def head_bucket(self, bucket: str) -> BucketInfo:
        return self.inner.head_bucket(bucket)

    async def delete_bucket(self, bucket: str) -> None:
        self.inner.delete_bucket(bucket)

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
        self.inner.head_bucket(bucket)
        buffer = io.BytesIO()
        async for chunk in body:
            buffer.write(chunk)
            await asyncio.sleep(0)
        buffer.seek(0)
        return self.inner.put_object(
            bucket,
            key,
            buffer,
            size=None,
            attributes=attributes,
            options=options,
            etag=etag,
        )

    async def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> AsyncObjectBody:
        body = self.inner.get_object(bucket, key, byte_range=byte_range)
        return _async_body(body)

    async def head_object(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head_object(bucket, key)

    async def delete_object(self, bucket: str, key: str) -> None:
        self.inner.delete_object(bucket, key)

    async def delete_object_if(self, bucket: str, key: str, condition: DeleteCondition) -> None:
        await asyncio.sleep(0)
        self.inner.delete_object_if(bucket, key, condition)

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        return self.inner.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys
        )

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | SourceAttributes | None = None,
        options: WriteOptions = OVERWRITE,
    ) -> ObjectInfo:
        return self.inner.copy_object(
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            attributes=attributes,
            options=options,
        )

    async def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate
    ) -> ObjectInfo:
        return self.inner.update_object_attributes(bucket, key, update)

    async def get_bucket_config(self, bucket: str, name: str) -> bytes | None:
        return self.inner.get_bucket_config(bucket, name)

    async def put_bucket_config(self, bucket: str, name: str, value: bytes | None) -> None:
        self.inner.put_bucket_config(bucket, name, value)


class AsyncNativeMultipartStore(AsyncMemoryStore):
    """AsyncMemoryStore with multipart methods of its own (async, part bodies as async
    iterators), so the adapter hands multipart to them instead of the staged default.
    Its minimum part size is its own (the adapter's does not reach it), as upstream's is."""

    def __init__(self, min_part_size: int = 5 * 1024 * 1024) -> None:
        super().__init__()
        self.inner.multipart_min_part_size = min_part_size
        self.multipart_calls = 0

    async def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes | None = None
    ) -> str:
        self.multipart_calls += 1
        await asyncio.sleep(0)
        return self.inner.create_multipart_upload(bucket, key, attributes=attributes)

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: AsyncIterator[bytes],
        *,
        size: int | None = None,
        checksums: Mapping[str, str] | None = None,
    ) -> PartInfo:
        self.multipart_calls += 1
        buffer = io.BytesIO()
        async for chunk in body:
            buffer.write(chunk)
            await asyncio.sleep(0)
        buffer.seek(0)
        return self.inner.upload_part(
            bucket, key, upload_id, part_number, buffer, size=size, checksums=checksums
        )

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        options: WriteOptions = OVERWRITE,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo:
        self.multipart_calls += 1
        await asyncio.sleep(0)
        return self.inner.complete_multipart_upload(
            bucket,
            key,
            upload_id,
            parts,
            options=options,
            attributes=attributes,
        )

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.multipart_calls += 1
        self.inner.abort_multipart_upload(bucket, key, upload_id)

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartPage:
        self.multipart_calls += 1
        return self.inner.list_parts(
            bucket, key, upload_id, part_number_marker=part_number_marker, max_parts=max_parts
        )

    async def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        self.multipart_calls += 1
        return self.inner.list_multipart_uploads(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )


class AsyncVersionedStore(AsyncNativeMultipartStore):
    """AsyncNativeMultipartStore with versions (the memory store's, behind async methods
    taking the version keywords): it declares them, so the adapter forwards them."""

    capabilities = Capabilities(
        conditional_delete=True,
        native_multipart=True,
        bucket_config=True,
        shared=False,
        versioning=True,
    )

    def is_version_id(self, value: str) -> bool:
        return self.inner.is_version_id(value)

    async def set_bucket_versioning(self, bucket: str, status: str) -> None:
        await asyncio.sleep(0)
        self.inner.set_bucket_versioning(bucket, status)

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> AsyncObjectBody:
        body = self.inner.get_object(bucket, key, byte_range=byte_range, version_id=version_id)
        return _async_body(body)

    async def head_object(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectInfo:
        return self.inner.head_object(bucket, key, version_id=version_id)

    async def delete_object(  # type: ignore[override]
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        guard: DeleteGuard | None = None,
        owner: str | None = None,
    ) -> DeleteResult:
        await asyncio.sleep(0)
        return self.inner.delete_object(
            bucket, key, version_id=version_id, guard=guard, owner=owner
        )

    async def delete_object_if(  # type: ignore[override]
        self, bucket: str, key: str, condition: DeleteCondition, *, owner: str | None = None
    ) -> DeleteResult:
        return self.inner.delete_object_if(bucket, key, condition, owner=owner)

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        await asyncio.sleep(0)
        return self.inner.list_object_versions(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    async def copy_object(
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
        return self.inner.copy_object(
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            attributes=attributes,
            options=options,
            source_version_id=source_version_id,
        )

    async def update_object_attributes(
        self, bucket: str, key: str, update: AttributeUpdate, *, version_id: str | None = None
    ) -> ObjectInfo:
        return self.inner.update_object_attributes(bucket, key, update, version_id=version_id)
