"""Large request bodies under waitress, written to disk once.

waitress reads a whole request body before the app sees it, spooling a large one
(past ``inbuf_overflow``) to an anonymous temp file in ``TMPDIR``; the filesystem store
then wrote every byte a second time, and hashed them only after the last one arrived.
With ``spool_into(directory)`` (``create_app`` sets it to the filesystem store's
``tmp/``) the body of a request the store could adopt (a PUT with Content-Length, not
a part upload, not aws-chunked) goes to ``directory/spool-*`` instead: mode
0600, on the store's filesystem, unlinked when waitress closes it (fsck removes the ones
a killed process left), and MD5-hashed and written back to the disk as it arrives, on
two threads behind waitress's I/O thread (``stores.write_behind``: the I/O thread only
receives and writes, and the store's final fsync finds little left to write). While such
a body arrives waitress receives it in reads of up to ``BODY_RECV``, not 8 KiB.
``spool_of(wsgi_input, size)`` hands it to the app as a ``Spool``; the filesystem store
then hard-links that file into place after the verifying reader has verified it (without
reading it again when the MD5 answers every check), instead of copying it
(``stores.filesystem.content``). Other bodies, response buffers, and bodies where the
file cannot be made spool as in stock waitress (no MD5 spent on them).
"""

from __future__ import annotations

import io
import os
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..stores.file_modes import unlink_quietly
from ..stores.streams import Spool
from ..stores.write_behind import WriteBehind

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: Largest recv() while a large request body arrives (waitress's recv_bytes: 8 KiB).
BODY_RECV = 1024 * 1024
#: Set by the parser patch on the buffer of a request body: may be spooled here.
_BODY_BUFFER = "_boxdrive_request_body"
_spool_dir: str | None = None


class SpoolFile(io.FileIO):
    """A request body's spool file: named ``path`` until closed, hashed and written back
    to the disk as it grows (``WriteBehind``). Unbuffered: what ``write`` returns from is
    in the file, where the hash thread reads it back."""

    def __init__(self, path: str, fd: int) -> None:
        super().__init__(fd, "r+")
        self.path = path
        self._behind: WriteBehind | None = WriteBehind(path)

    def write(self, data: ReadableBuffer, /) -> int:
        behind = self._behind
        if behind is not None and self.tell() != behind.written:
            behind.abandon()  # not an append (waitress only appends): no MD5 to offer
            self._behind = behind = None
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):  # a raw write may be short; waitress expects all of it
            n = super().write(view[done:])
            if not n:
                raise OSError(f"cannot write to {self.path}")
            done += n
        if behind is not None:
            behind.wrote(data)
        return done

    def md5_hex(self) -> str | None:
        """MD5 of the whole file, if every byte went through ``write`` in order."""
        behind = self._behind
        if behind is None or behind.written != os.fstat(self.fileno()).st_size:
            return None
        try:
            return behind.finish()
        except OSError:  # the store reads the body through and hashes it itself
            return None

    def close(self) -> None:
        if not self.closed:
            if self._behind is not None:
                self._behind.abandon()
            unlink_quietly(self.path)
        super().close()


def spool_into(directory: str | None) -> None:
    """Spool large request bodies into ``directory`` (None: waitress's default)."""
    global _spool_dir
    _spool_dir = directory


def spool_of(wsgi_input: object, size: int | None) -> Spool | None:
    """The spool file holding exactly ``size`` body bytes, if ``wsgi_input`` (unread)
    is one."""
    if size is None or not isinstance(wsgi_input, SpoolFile) or wsgi_input.closed:
        return None
    fd = wsgi_input.fileno()
    if wsgi_input.tell() != 0 or os.fstat(fd).st_size != size:
        return None
    return Spool(wsgi_input.path, fd, size, wsgi_input.md5_hex())


def _adoptable(parser: Any) -> bool:
    """Could the store link this request's body into place as it is on the wire?"""
    if parser.command != "PUT" or parser.chunked:
        return False
    if parser.headers.get("X_AMZ_CONTENT_SHA256", "").startswith("STREAMING-"):
        return False  # aws-chunked: the wire bytes carry the framing
    return "uploadId" not in parse_qs(parser.query or "")  # parts: the multipart store's


def _spool_file() -> SpoolFile | None:
    directory = _spool_dir
    if directory is None:
        return None
    path = os.path.join(directory, f"spool-{secrets.token_hex(8)}")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:  # the directory is gone or not writable
        return None
    return SpoolFile(path, fd)


def _recv_size(request: Any, default: int) -> int:
    """How much one recv() may take: up to ``BODY_RECV`` while a request body of known
    length that went to a file is arriving (waitress's 8 KiB made a large body cost a
    turn of the I/O loop, a buffer append and a file write per 8 KiB), else ``default``."""
    receiver: Any = getattr(request, "body_rcv", None)
    remain = getattr(receiver, "remain", 0)  # a Content-Length body (not chunked)
    if remain <= default or not getattr(receiver.getbuf(), "overflowed", False):
        return default
    return int(min(remain, BODY_RECV))


def patch(parser_class: Any, buffer_class: Any, file_buffer_class: Any, channel_class: Any) -> None:
    """Mark request body buffers as they are made (``parser_class.parse_header``), let a
    marked ``buffer_class`` (OverflowableBuffer) overflow into a ``SpoolFile``, and let
    ``channel_class`` (HTTPChannel) receive a large body in large reads."""
    parse_header = parser_class.parse_header
    set_large_buffer = buffer_class._set_large_buffer
    recv = channel_class.recv

    def patched_recv(self: Any, buffer_size: int) -> bytes:
        data: bytes = recv(self, _recv_size(self.request, buffer_size))
        return data

    def patched_parse_header(self: Any, header_plus: bytes) -> None:
        parse_header(self, header_plus)
        if self.body_rcv is not None and _adoptable(self):
            setattr(self.body_rcv.getbuf(), _BODY_BUFFER, True)

    def patched_set_large_buffer(self: Any) -> None:
        spool = _spool_file() if getattr(self, _BODY_BUFFER, False) else None
        if spool is None:
            set_large_buffer(self)
            return
        oldbuf = self.buf  # as waitress's own, with our file in place of a TemporaryFile
        self.buf = file_buffer_class(spool, oldbuf)
        if hasattr(oldbuf, "close"):
            oldbuf.close()
        self.overflowed = True

    parser_class.parse_header = patched_parse_header
    buffer_class._set_large_buffer = patched_set_large_buffer
    channel_class.recv = patched_recv
