"""The filesystem store: content files plus a SQLite index under one root directory.
``store`` is its face (``FilesystemStore``); see its docstring for the layout."""

from .index import DB_NAME
from .store import FilesystemStore

__all__ = ["DB_NAME", "FilesystemStore"]
