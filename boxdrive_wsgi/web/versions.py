"""Which object version a request names, as the store should be asked for it.

``?versionId=null`` works on every bucket and store: it is the null version, which on a
bucket never versioned (or a store that cannot version) is the object itself. Any other
id needs a store with ``capabilities.versioning`` or ``version_reads`` (read-only
versions; 501 otherwise) and must look like one (400 InvalidArgument for what no store
makes, or what the store says is not its format).
"""

from __future__ import annotations

from ..protocol.copy_source import HEADER as COPY_SOURCE_HEADER
from ..protocol.copy_source import CopySource
from ..protocol.errors import S3Error
from ..protocol.versioning import (
    NULL,
    VERSION_ID_PARAMETER,
    check_version_id,
    invalid_version_id,
)
from ..stores.base import ObjectStore
from .context import S3Request

NOT_VERSIONING = "This store keeps no object versions"


def version_of_request(s3: S3Request) -> str | None:
    """The request's ``?versionId=`` for the store (None: the latest version)."""
    raw = s3.query.get(VERSION_ID_PARAMETER)
    return None if raw is None else store_version(s3.store, raw)


def store_version(store: ObjectStore, raw: str, name: str = VERSION_ID_PARAMETER) -> str | None:
    """A version id a client sent (``name`` is where: versionId, version-id-marker, the
    copy source), checked, as ``store``'s methods take it."""
    value = check_version_id(raw, name)
    capabilities = store.capabilities
    if not (capabilities.versioning or capabilities.version_reads):
        if value == NULL:
            return None  # the object itself: the store's only version
        raise S3Error("NotImplemented", NOT_VERSIONING)
    if not store.is_version_id(value):
        raise invalid_version_id(raw, name)
    return value


def copy_source_version(store: ObjectStore, source: CopySource) -> str | None:
    """The source version a copy names (x-amz-copy-source ``?versionId=``), as the
    store takes it (None: the latest)."""
    if source.version_id is None:
        return None
    return store_version(store, source.version_id, COPY_SOURCE_HEADER)
