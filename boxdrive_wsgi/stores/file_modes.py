"""Files and directories of the on-disk stores: their owner's alone, and durable.

Object data, the SQLite indexes and multipart staging must not be readable by other
local users whatever the process umask: directories are created 0700 and files 0600.
SQLite gives a database's -wal and -shm files the database file's mode, so creating
the database file first is enough for those.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import BinaryIO

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)``, every directory it creates 0700
    (``os.makedirs`` applies its mode to the last one only)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        make_private_dirs(parent)
    try:
        os.mkdir(path, PRIVATE_DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def create_private_file(path: str) -> BinaryIO:
    """``open(path, "xb")`` with mode 0600."""
    fd = os.open(
        path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE
    )
    return os.fdopen(fd, "wb")


def touch_private_file(path: str) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (a database, before
    SQLite creates it with its own default mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def fsync_dir(path: str) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    if sys.platform == "win32":  # directories cannot be opened, NTFS journals metadata
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path: str) -> None:
    """Remove ``path`` if it can be. Cleanup never hides the error being handled; a
    file left behind is an orphan that fsck reports (e.g. Windows refuses to unlink a
    file being read)."""
    with contextlib.suppress(OSError):
        os.unlink(path)
