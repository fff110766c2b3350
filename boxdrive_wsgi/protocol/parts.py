"""Parts of stored objects: ``?partNumber=N`` on GET/HEAD and the part boundaries
GetObjectAttributes lists. Pure functions over ObjectInfo.

Part N is the N-th part the object was composed of (as the SDKs' transfer managers
read them: 1 .. x-amz-mp-parts-count); for the uploads SDKs make, that is also the
number it was uploaded as. A single-part object is its own part 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stores.base import ObjectInfo, PartInfo
from .errors import S3Error

MAX_PART_NUMBER = 10_000
PART_COUNT_HEADER = "x-amz-mp-parts-count"


def part_count(info: ObjectInfo) -> int | None:
    """N of a multipart ETag ``...-N``, None for a single-part object."""
    _, dash, count = info.etag.rpartition("-")
    if not dash or not count.isascii() or not count.isdigit():
        return None
    return int(count)


def known_parts(info: ObjectInfo) -> tuple[PartInfo, ...] | None:
    """The object's part boundaries if the store kept them and they describe this very
    object (as many parts as its ETag says, sizes adding up to its size); else None,
    so nobody is ever served the bytes of a wrong part."""
    parts = info.attributes.parts
    count = part_count(info)
    if parts is None or count is None or len(parts) != count:
        return None
    if sum(p.size for p in parts) != info.size:
        return None
    return parts


def parts_unknown_error() -> S3Error:
    return S3Error("NotImplemented", "This store did not keep the part boundaries of this object")


def parts_unknown(info: ObjectInfo) -> bool:
    """A multipart object whose part boundaries the store did not keep with it."""
    return part_count(info) is not None and known_parts(info) is None


@dataclass(frozen=True)
class PartSpan:
    """Where part ``number`` of an object lies: bytes ``start`` .. ``stop`` (exclusive)."""

    number: int
    start: int
    stop: int
    count: int
    part: PartInfo | None = None


def locate_part(info: ObjectInfo, number: int) -> PartSpan | None:
    """The span of part ``number``; None for part 1 of a single-part object (the whole
    object, answered as a plain GET). InvalidPart beyond the last part; NotImplemented
    when the store did not keep the boundaries of this multipart object."""
    count = part_count(info)
    if count is None:
        if number != 1:
            raise S3Error("InvalidPart", "The requested partnumber is not satisfiable")
        return None
    parts = known_parts(info)
    if parts is None:
        raise parts_unknown_error()
    if number > len(parts):
        raise S3Error("InvalidPart", "The requested partnumber is not satisfiable")
    start = sum(p.size for p in parts[: number - 1])
    part = parts[number - 1]
    return PartSpan(number, start, start + part.size, len(parts), part)
