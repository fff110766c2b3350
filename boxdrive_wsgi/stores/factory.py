"""Pick the store named by settings: filesystem, memory, or module:callable."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import ObjectStore

if TYPE_CHECKING:  # settings live above stores; stores never import the web layer
    from ..settings import Settings


def store_from_settings(settings: Settings) -> ObjectStore:
    kind = settings.store
    if kind == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if kind == "filesystem":
        from .filesystem import FilesystemStore

        return FilesystemStore(settings.data_dir)
    if ":" in kind:
        module_name, _, attribute = kind.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        store: object = factory()
        if not isinstance(store, ObjectStore):
            raise TypeError(f"{kind} returned {type(store).__name__}, not an ObjectStore")
        return store
    raise ValueError(f"unknown store {kind!r}: use filesystem, memory or module:callable")
