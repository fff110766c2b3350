"""The one commit step of every write of the filesystem store (put, copy, multipart
completion): in one ``BEGIN IMMEDIATE`` transaction, check the conditional write
against the latest version and make the new content the latest version as the
bucket's versioning says (``versions.commit``); then unlink what it replaced.

The content file is already durable in ``objects/`` when this runs. If the
transaction fails before COMMIT, the new file goes; if COMMIT itself fails we cannot
be sure it did not land, so the file stays (at worst an orphan for fsck) rather than
risk a row without content. Replaced content is unlinked only after COMMIT: a crash
in between leaves an orphan, never a row without its file.
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
) -> ObjectInfo:
    """Commit ``info`` with content file ``file_id`` as the latest version of its key;
    return it as committed (with its version id)."""
    committing = False
    try:
        with index.transaction("IMMEDIATE") as conn:
            if inside is not None:
                inside(conn)
            bucket_id, status = index.bucket(conn, info.bucket)
            current = index.current(conn, bucket_id, info.bucket, info.key)
            options.check(info.bucket, info.key, current[0] if current else None)
            replacing = current[1] if current else None
            committed, replaced = versions.commit(conn, bucket_id, status, info, file_id, replacing)
            committing = True
    except BaseException:
        if not committing:
            content.remove(file_id)
        raise
    for file in replaced:
        content.remove(file)
    return committed


def precheck(index: Index, bucket: str, key: str, options: WriteOptions) -> None:
    """Fail before streaming a body when the answer is already known (NoSuchBucket, a
    conditional write that cannot hold); ``commit_write`` checks again, atomically."""
    with index.transaction() as conn:
        found = index.current(conn, index.bucket_id(conn, bucket), bucket, key)
    options.check(bucket, key, found[0] if found else None)
