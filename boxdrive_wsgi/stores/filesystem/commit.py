"""The one commit step of every write of the filesystem store (put, copy, multipart
completion): in one ``BEGIN IMMEDIATE`` transaction (shared with the writes of this
process that arrived together: ``group``), check the conditional write
against the latest version and make the new content the latest version as the
bucket's versioning says (``versions.commit``); then unlink what it replaced.

The content file is already durable in ``objects/`` when this runs (its fsyncs, file
and directory, happen before and outside the index's write lock). If the write's
savepoint or the transaction fails before COMMIT, the new file goes; if COMMIT itself
fails we cannot be sure it did not land, so the file stays (at worst an orphan for
fsck) rather than risk a row without content. Replaced content is unlinked only after
COMMIT: a crash in between leaves an orphan, never a row without its file.

Inline content (``index``: small bodies in the row itself) has no file at all: it is
written by the same COMMIT as its row, and one WAL fsync makes both durable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..model import ObjectInfo, WriteOptions
from . import versions
from .content import ContentFiles
from .index import Index

#: Runs first inside the commit transaction (multipart: re-check the parts, drop the
#: upload); may raise to abort the commit.
Inside = Callable[[sqlite3.Connection], None]


def commit_write(
    index: Index,
    content: ContentFiles,
    info: ObjectInfo,
    file_id: str,
    options: WriteOptions,
    inside: Inside | None = None,
    inline: bytes | None = None,
) -> ObjectInfo:
    """Commit ``info`` with content file ``file_id`` (or, with ``file_id`` '', the
    content ``inline`` in its row) as the latest version of its key; return it as
    committed (with its version id). The commit is a group commit (``group``): this
    write's check and rows run in a savepoint of a transaction it may share with other
    writers, and this returns only after that COMMIT."""
    assert (inline is None) == bool(file_id), "a file or inline content, not both"

    def work(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
        if inside is not None:
            inside(conn)
        bucket_id, status = index.bucket(conn, info.bucket)
        if options.conditional:
            current = index.current(conn, bucket_id, info.bucket, info.key)
            options.check(info.bucket, info.key, current[0] if current else None)
            replacing = current[1] if current else None
        else:  # nothing to check: only the file a never-versioned bucket replaces
            replacing = index.current_file(conn, bucket_id, info.key) if status is None else None
        return versions.commit(conn, bucket_id, status, info, file_id, replacing, inline)

    undo = (lambda: content.remove(file_id)) if file_id else None
    committed, replaced = index.group.run(work, undo=undo)
    for file in replaced:
        content.remove(file)
    return committed


#: Bodies up to this size (known in advance) are written without a pre-check when the
#: write is unconditional: a missing bucket then costs one small file, removed again.
PRECHECK_FROM = 1 << 20


def precheck(
    index: Index, bucket: str, key: str, options: WriteOptions, size: int | None = None
) -> None:
    """Fail before streaming a body when the answer is already known (NoSuchBucket, a
    conditional write that cannot hold); ``commit_write`` checks again, atomically.
    Skipped (one read transaction less) for an unconditional write of a small body of
    known ``size``: the commit finds a missing bucket all the same."""
    if not options.conditional and size is not None and size < PRECHECK_FROM:
        return
    with index.transaction() as conn:
        found = index.current(conn, index.bucket_id(conn, bucket), bucket, key)
    options.check(bucket, key, found[0] if found else None)
