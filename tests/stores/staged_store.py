"""A store with no native multipart, for servers started by tests
(``BOXDRIVE_STORE=tests.stores.staged_store:make_staged_store``): objects in a
filesystem store under ``BOXDRIVE_DATA_DIR``, multipart uploads through the staged
default, as the GitLab store and every out-of-tree store without its own have them."""

from __future__ import annotations

import os
from dataclasses import replace

from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.multipart import MultipartBackend, staged_backend


class StagedFilesystemStore(FilesystemStore):
    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.capabilities = replace(self.capabilities, native_multipart=False)

    def multipart_backend(self) -> MultipartBackend:
        return staged_backend(self)


def make_staged_store() -> FilesystemStore:
    return StagedFilesystemStore(os.environ["BOXDRIVE_DATA_DIR"])
