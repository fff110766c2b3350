"""Parts of a multipart upload as files: streaming one in, and S3's rules for choosing
the parts a completion composes."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from ..errors import EntityTooSmall, InvalidPart, InvalidPartOrder
from ..file_modes import create_private_file, fsync_dir, unlink_quietly
from ..model import CompletedAttributes, ObjectAttributes, PartInfo, multipart_etag
from ..streams import Readable, iter_chunks

MAX_PART_NUMBER = 10_000


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part number {part_number} is outside 1..{MAX_PART_NUMBER}")


def now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), UTC)


def completed_attributes(
    upload: ObjectAttributes,
    chosen: Sequence[tuple[PartInfo, str]],
    derive: CompletedAttributes | None,
) -> ObjectAttributes:
    """The attributes a completed object gets: ``derive``'s (or the upload's), with
    the chosen parts recorded as its part boundaries."""
    parts = tuple(p for p, _ in chosen)
    final = derive(upload, parts) if derive is not None else upload
    return dataclasses.replace(final, parts=parts)


def part_file_name(upload_id: str, part_number: int) -> str:
    return f"{upload_id}.{part_number:05d}.{secrets.token_hex(6)}"


def upload_id_of(file_name: str) -> str:
    return file_name.split(".", 1)[0]


def write_part_file(path: str, body: Readable | BinaryIO, size: int | None) -> tuple[int, str]:
    """Stream ``body`` into a new, fsynced file; return (size, hex MD5).
    On any error the file is removed and the error propagates."""
    md5 = hashlib.md5(usedforsecurity=False)
    written = 0
    try:
        with create_private_file(path) as f:
            for chunk in iter_chunks(body, size):
                md5.update(chunk)
                f.write(chunk)
                written += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(os.path.dirname(path))
    except BaseException:
        unlink_quietly(path)
        raise
    return written, md5.hexdigest()


def remove_orphan_parts(
    parts_dir: str, older_than: float, recorded: Callable[[str], bool]
) -> list[str]:
    """Remove part files older than ``older_than`` seconds that are not ``recorded``
    (a crash between writing a part and recording it); return their paths. Young
    files are left alone: their upload may be recording them right now."""
    cutoff = time.time() - older_than
    with os.scandir(parts_dir) as entries:
        candidates = [e for e in entries if e.is_file(follow_symlinks=False)]
    removed: list[str] = []
    for entry in candidates:
        try:
            if entry.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if not recorded(entry.name):
            unlink_quietly(entry.path)
            removed.append(entry.path)
    return removed


def stage_part(
    path: Callable[[str], str],
    upload_id: str,
    part_number: int,
    body: Readable | BinaryIO,
    size: int | None,
    checksums: Mapping[str, str] | None,
    record: Callable[[PartInfo, str], str | None],
) -> PartInfo:
    """Stream a part into a file of its own, then ``record(part, file)`` it (in a
    transaction that re-checks the upload). If recording fails the new file goes;
    the file of a part it replaced goes after it is recorded."""
    file = part_file_name(upload_id, part_number)
    written, etag = write_part_file(path(file), body, size)
    part = PartInfo(part_number, etag, written, now(), dict(checksums or {}))
    try:
        replaced = record(part, file)
    except BaseException:
        unlink_quietly(path(file))
        raise
    if replaced is not None:
        unlink_quietly(path(replaced))
    return part


def select_parts(
    requested: Sequence[tuple[int, str]],
    stored: Mapping[int, tuple[PartInfo, str]],
    min_size: int,
) -> list[tuple[PartInfo, str]]:
    """Apply S3's completion rules; return the chosen (part, file) in order."""
    previous = 0
    for number, _ in requested:
        if number <= previous:
            raise InvalidPartOrder(f"part {number} after part {previous}")
        previous = number
    chosen: list[tuple[PartInfo, str]] = []
    for number, etag in requested:
        found = stored.get(number)
        if found is None or found[0].etag != etag.strip().strip('"'):
            raise InvalidPart(number)
        chosen.append(found)
    if not chosen:
        raise InvalidPart(0)
    for part, _ in chosen[:-1]:
        if part.size < min_size:
            raise EntityTooSmall(part.part_number, part.size, min_size)
    return chosen


def composed_etag(parts: Sequence[tuple[PartInfo, str]]) -> str:
    return multipart_etag(bytes.fromhex(p.etag) for p, _ in parts)
