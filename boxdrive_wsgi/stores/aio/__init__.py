"""Async stores served through the synchronous contract: the adapter (``adapter``),
the sync <-> async plumbing (``bridge``) and the BoxDrive shim (``shim``)."""

from .adapter import AsyncStoreAdapter, BoxDriveStoreAdapter, is_boxdrive_style
from .bridge import AsyncObjectBody
from .shim import BoxDriveShim

__all__ = [
    "AsyncObjectBody",
    "AsyncStoreAdapter",
    "BoxDriveShim",
    "BoxDriveStoreAdapter",
    "is_boxdrive_style",
]
