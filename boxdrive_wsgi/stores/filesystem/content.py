"""The filesystem store's content files: ``objects/ab/<id>``, one immutable file per
object version, written through ``tmp/`` and renamed into place.

A new file is streamed to ``tmp/<id>.part`` (a large one hashed and written back while
it arrives: ``stores.write_behind``), fsynced, renamed into ``objects/`` and its
directory fsynced, all before the index row naming it commits. A body the WSGI
server already spooled whole to a file on this filesystem (``Spool``) is read to its
end (hashed and verified), and then that file itself is fsynced and hard-linked into
``objects/``: its bytes are not written a second time. Nothing ever
writes into an existing content file, so a reader that has one open keeps reading
the version it opened, and a copy may hard-link one (see ``copy``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from ..file_modes import create_private_file, fsync_dir, make_private_dirs, unlink_quietly
from ..streams import CHUNK_SIZE, Readable, Spool, iter_chunks
from ..write_behind import WriteBehind

#: Errors after which copy_file_range / sendfile are not usable for these files.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


def copy_fd(src: int, dst: int, size: int) -> None:
    """Append ``size`` bytes from ``src`` to ``dst`` (both at their current offsets),
    in the kernel where it can (copy_file_range reflinks on btrfs/XFS; else sendfile)."""
    remaining = size
    for kernel_copy in ("copy_file_range", "sendfile"):
        function = getattr(os, kernel_copy, None)
        if function is None:
            continue
        try:
            while remaining > 0:
                if kernel_copy == "copy_file_range":
                    n = function(src, dst, min(remaining, 1 << 30))
                else:
                    n = function(dst, src, None, min(remaining, 1 << 30))
                if n == 0:
                    raise OSError(f"part file ended {remaining} bytes early")
                remaining -= n
            return
        except OSError as e:
            if e.errno not in _NO_KERNEL_COPY:
                raise
    while remaining > 0:
        chunk = os.read(src, min(CHUNK_SIZE, remaining))
        if not chunk:
            raise OSError(f"part file ended {remaining} bytes early")
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]
        remaining -= len(chunk)


def read_inline(body: Readable | BinaryIO, size: int) -> tuple[bytes, str]:
    """A small body of known ``size`` read whole, for an inline index row (``index``):
    (its bytes, hex MD5). IncompleteBody if it ends early, as for a content file."""
    data = b"".join(iter_chunks(body, size))
    return data, hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_span(f: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
    """Bytes ``start:stop`` of an open content file in chunks; closes it."""
    try:
        f.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                # Never let the server send fewer bytes than Content-Length promised.
                raise OSError(f"content file {f.name} is shorter than its index entry")
            remaining -= len(chunk)
            yield chunk
    finally:
        f.close()


class ContentFiles:
    """Content files under ``root``: ``objects/`` and the ``tmp/`` they are made in."""

    def __init__(self, root: str) -> None:
        self.objects_dir = os.path.join(root, "objects")
        self.tmp_dir = os.path.join(root, "tmp")
        make_private_dirs(self.tmp_dir)
        make_private_dirs(self.objects_dir)

    def path(self, file_id: str) -> str:
        return os.path.join(self.objects_dir, file_id[:2], file_id)

    def remove(self, file_id: str) -> None:
        """Unlink a content file if it can be (a file left behind is an fsck orphan)."""
        unlink_quietly(self.path(file_id))

    def open(self, file_id: str) -> BinaryIO:
        """The content file open for reading (FileNotFoundError if it is gone)."""
        # Unbuffered: every reader asks for whole spans (CHUNK_SIZE, or a small body at
        # once), so a buffer would only cost an isatty, an fstat and a seek per GET.
        return open(self.path(file_id), "rb", buffering=0)  # closed by the body it goes into

    def write(self, file_id: str, body: Readable | BinaryIO, size: int | None) -> tuple[int, str]:
        """Stream ``body`` into durable content file ``file_id``; return (size, hex MD5)."""
        spool: Spool | None = getattr(body, "spool", None)
        if isinstance(spool, Spool) and size == spool.size:
            return self._adopt(file_id, body, spool)
        written = 0
        md5 = ""

        def fill(f: BinaryIO) -> None:
            nonlocal written, md5
            # Hashed and written back behind the writes: see stores.write_behind.
            behind = WriteBehind(self._part_path(file_id))
            try:
                for chunk in iter_chunks(body, size):
                    f.write(chunk)
                    f.flush()  # in the file before WriteBehind may read it back
                    written += len(chunk)
                    behind.wrote(chunk)
                md5 = behind.finish()
            finally:
                behind.abandon()

        self._make(file_id, fill)
        return written, md5

    def _adopt(self, file_id: str, body: Readable | BinaryIO, spool: Spool) -> tuple[int, str]:
        """``write`` for a spooled body: read it through (the reader verifies it as it
        goes; the MD5 is the server's when it hashed the bytes as they arrived) unless
        the reader can verify it from the spool without the bytes, then fsync the spool
        file and hard-link it into place; where it cannot be linked (another filesystem,
        no hard links), copy it in the kernel."""
        verify_from_spool: Callable[[], bool] | None = getattr(body, "verify_from_spool", None)
        md5 = None if spool.md5 else hashlib.md5(usedforsecurity=False)
        if md5 is not None or verify_from_spool is None or not verify_from_spool():
            for chunk in iter_chunks(body, spool.size):
                if md5 is not None:
                    md5.update(chunk)
        etag = spool.md5 or md5.hexdigest()  # type: ignore[union-attr]
        if body.read(1):  # iter_chunks stopped at the size; a longer body is not this one
            raise OSError("request body is longer than its spool file")
        os.fsync(spool.fd)
        final = self.path(file_id)
        self._ensure_dir(final)
        try:
            os.link(spool.path, final)
        except OSError:

            def fill(out: BinaryIO) -> None:
                out.flush()
                os.lseek(spool.fd, 0, os.SEEK_SET)  # the body was read to its end
                copy_fd(spool.fd, out.fileno(), spool.size)

            self._make(file_id, fill)
            return spool.size, etag
        try:
            fsync_dir(os.path.dirname(final))
        except BaseException:
            unlink_quietly(final)
            raise
        return spool.size, etag

    def compose(self, file_id: str, parts: Sequence[BinaryIO]) -> int:
        """Durable content file ``file_id`` holding the open ``parts`` one after the
        other, copied in the kernel where it can; return its size."""
        total = 0

        def fill(out: BinaryIO) -> None:
            nonlocal total
            out.flush()
            for src in parts:
                size = os.fstat(src.fileno()).st_size
                copy_fd(src.fileno(), out.fileno(), size)
                total += size

        self._make(file_id, fill)
        return total

    def _part_path(self, file_id: str) -> str:
        return os.path.join(self.tmp_dir, file_id + ".part")

    def _make(self, file_id: str, fill: Callable[[BinaryIO], None]) -> None:
        tmp = self._part_path(file_id)
        final = self.path(file_id)
        try:
            with create_private_file(tmp) as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            self._ensure_dir(final)
            os.replace(tmp, final)
            # The index will point at this name: the rename must be on disk first.
            fsync_dir(os.path.dirname(final))
        except BaseException:
            unlink_quietly(tmp)
            unlink_quietly(final)
            raise

    def _ensure_dir(self, final: str) -> None:
        directory = os.path.dirname(final)
        if not os.path.isdir(directory):
            make_private_dirs(directory)
            fsync_dir(self.objects_dir)

    def link(self, source_id: str, file_id: str) -> None:
        """Make durable content file ``file_id`` with the content of ``source_id``: a hard
        link (its mtime refreshed: fsck goes by mtime), or where hard links are
        unavailable a kernel copy into a temp file and a rename. FileNotFoundError if
        the source is gone."""
        source, final = self.path(source_id), self.path(file_id)
        self._ensure_dir(final)
        try:
            try:
                os.link(source, final)
                os.utime(final)
            except FileNotFoundError:
                raise
            except OSError:  # no hard links here: copy in the kernel, then rename
                tmp = os.path.join(self.tmp_dir, file_id + ".part")
                try:
                    create_private_file(tmp).close()  # copyfile keeps the mode
                    shutil.copyfile(source, tmp)
                    with open(tmp, "rb") as f:
                        os.fsync(f.fileno())
                    os.replace(tmp, final)
                finally:
                    unlink_quietly(tmp)
            fsync_dir(os.path.dirname(final))
        except BaseException:
            unlink_quietly(final)
            raise
