"""ObjectAttributes as a JSON-ready document, for the stores that keep attributes as
JSON (filesystem index, staged multipart state, GitLab, the BoxDrive shim): one
encoding, so a field added to ObjectAttributes is kept by all of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .model import ObjectAttributes, PartInfo


def to_document(a: ObjectAttributes) -> dict[str, Any]:
    """Every field by name (empty ones omitted); ``from_document`` reads it back."""
    doc: dict[str, Any] = {
        "content_type": a.content_type,
        "metadata": dict(a.metadata),
        "headers": dict(a.headers),
        "checksums": dict(a.checksums),
        "tags": dict(a.tags),
        "acl": a.acl,
        "owner": a.owner,
        "checksum_type": a.checksum_type,
        "checksum_algorithm": a.checksum_algorithm,
        "lock_mode": a.lock_mode,
        "lock_until": None if a.lock_until is None else a.lock_until.isoformat(),
        "legal_hold": a.legal_hold or None,
        "encryption": None if a.encryption is None else dict(a.encryption),
    }
    if a.parts is not None:
        doc["parts"] = [_part_document(p) for p in a.parts]
    return {k: v for k, v in doc.items() if v is not None and v != {}}


def from_document(doc: Mapping[str, Any]) -> ObjectAttributes:
    fields = dict(doc)
    parts = fields.pop("parts", None)
    until = fields.pop("lock_until", None)
    return ObjectAttributes(
        **fields,
        parts=None if parts is None else tuple(_part_from_document(p) for p in parts),
        lock_until=None if until is None else datetime.fromisoformat(until),
    )


def _part_document(part: PartInfo) -> list[Any]:
    # Compact (an object may have 10,000 parts): [number, size, etag, modified, checksums].
    return [
        part.part_number,
        part.size,
        part.etag,
        int(part.last_modified.timestamp()),
        dict(part.checksums),
    ]


def _part_from_document(doc: Sequence[Any]) -> PartInfo:
    number, size, etag, modified, checksums = doc
    return PartInfo(
        part_number=int(number),
        etag=str(etag),
        size=int(size),
        last_modified=datetime.fromtimestamp(int(modified), UTC),
        checksums=dict(checksums),
    )
