"""An async store over the filesystem store, to measure AsyncStoreAdapter's memory.

Bodies cross the adapter as async iterators in both directions (spooled to a
temporary file on the way in, since FilesystemStore reads a file-like body), so
any buffering the adapter did would show up in the server's RSS.

    python bench/memory.py --store async_store:make_store --size-mib 200
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from boxdrive_wsgi.stores.aio import AsyncObjectBody, AsyncStoreAdapter
from boxdrive_wsgi.stores.base import ByteRange, ObjectInfo
from boxdrive_wsgi.stores.filesystem import FilesystemStore


class AsyncFilesystemStore:
    def __init__(self, root: str) -> None:
        self.inner = FilesystemStore(root)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call

    async def put_object(
        self, bucket: str, key: str, body: AsyncIterator[bytes], **options: Any
    ) -> ObjectInfo:
        with tempfile.TemporaryFile() as spool:
            async for chunk in body:
                spool.write(chunk)
                await asyncio.sleep(0)
            spool.seek(0)
            options["size"] = None
            return self.inner.put_object(bucket, key, spool, **options)

    async def get_object(
        self, bucket: str, key: str, *, byte_range: ByteRange | None = None
    ) -> AsyncObjectBody:
        body = self.inner.get_object(bucket, key, byte_range=byte_range)

        async def chunks() -> AsyncIterator[bytes]:
            for chunk in body:
                yield chunk
                await asyncio.sleep(0)

        async def release() -> None:
            body.close()

        return AsyncObjectBody(
            body.info, chunks(), content_range=body.content_range, on_close=release
        )


def make_store() -> AsyncStoreAdapter:
    return AsyncStoreAdapter(AsyncFilesystemStore(os.environ.get("BOXDRIVE_DATA_DIR", "./data")))
