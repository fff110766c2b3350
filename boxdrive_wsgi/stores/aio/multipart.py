"""The MultipartBackend of an AsyncStoreAdapter whose async store has multipart methods
of its own (``create_multipart_upload`` and the rest, as ``async def``): each call runs
on the adapter's loop; part bodies stream as async iterators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..model import (
    CompletedAttributes,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    PartPage,
    UploadPage,
    WriteOptions,
)
from ..streams import Readable

if TYPE_CHECKING:  # the adapter builds its backend; the backend never imports it
    from .adapter import AsyncStoreAdapter


class AsyncMultipart:
    """Forwards every multipart call to the async store behind ``adapter``."""

    def __init__(self, adapter: AsyncStoreAdapter) -> None:
        self._adapter = adapter

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._adapter.run(getattr(self._adapter.store, name)(*args, **kwargs))

    def create(self, bucket: str, key: str, *, attributes: ObjectAttributes | None) -> str:
        upload_id: str = self._call("create_multipart_upload", bucket, key, attributes=attributes)
        return upload_id

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Readable | BinaryIO,
        *,
        size: int | None,
        checksums: Mapping[str, str] | None,
    ) -> PartInfo:
        store = self._adapter.store

        def make(chunks: AsyncIterator[bytes]) -> Coroutine[Any, Any, PartInfo]:
            coro: Coroutine[Any, Any, PartInfo] = store.upload_part(
                bucket, key, upload_id, part_number, chunks, size=size, checksums=checksums
            )
            return coro

        return self._adapter._with_body(make, body, size)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        options: WriteOptions,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo:
        # Only when asked: a native async store written before the option need not know it.
        extra = {} if attributes is None else {"attributes": attributes}
        info: ObjectInfo = self._call(
            "complete_multipart_upload",
            bucket,
            key,
            upload_id,
            parts,
            options=options,
            **extra,
        )
        return info

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", bucket, key, upload_id)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartPage:
        page: PartPage = self._call(
            "list_parts",
            bucket,
            key,
            upload_id,
            part_number_marker=part_number_marker,
            max_parts=max_parts,
        )
        return page

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadPage:
        page: UploadPage = self._call(
            "list_multipart_uploads",
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )
        return page
