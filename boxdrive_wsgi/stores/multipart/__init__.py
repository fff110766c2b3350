"""Multipart uploads: the extension point (``backend``), the staged default every store
gets (``staged``), and what it shares with native implementations: the upload records
(``records``) and the part files and completion rules (``parts``)."""

from .backend import MultipartBackend
from .staged import StagedMultipart

__all__ = ["MultipartBackend", "StagedMultipart"]
