"""The extension point for multipart uploads: what implements a store's multipart
methods (the staged default in ``multipart``, or a store's native one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import BinaryIO, Protocol

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


class MultipartBackend(Protocol):
    """What implements a store's multipart methods (see ObjectStore for the contract)."""

    def create(self, bucket: str, key: str, *, attributes: ObjectAttributes | None) -> str: ...

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
    ) -> PartInfo: ...

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        options: WriteOptions,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo: ...

    def abort(self, bucket: str, key: str, upload_id: str) -> None: ...

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartPage: ...

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadPage: ...
