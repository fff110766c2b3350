"""A store with no native multipart: objects in a filesystem store, multipart uploads
through the staged default, as the GitLab store and every out-of-tree store without its
own have them."""

from __future__ import annotations

from dataclasses import replace

from boxdrive_wsgi.stores.base import ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.multipart import MultipartBackend


class StagedFilesystemStore(FilesystemStore):
    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.capabilities = replace(self.capabilities, native_multipart=False)

    def multipart_backend(self) -> MultipartBackend:
        return ObjectStore.multipart_backend(self)  # the staged default, not the native one
