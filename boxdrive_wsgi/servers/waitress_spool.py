"""Large request bodies under waitress, written to disk once.

waitress reads a whole request body before the app sees it, spooling a large one
(past ``inbuf_overflow``) to an anonymous temp file in ``TMPDIR``; the filesystem store
then wrote every byte a second time, and hashed them only after the last one arrived.
With ``spool_into(directory)`` (``create_app`` sets it to the filesystem store's
``tmp/``) the body of a request the store could adopt (a PUT with Content-Length, not
a part upload, not aws-chunked) goes to ``directory/spool-*`` instead: mode
0600, on the store's filesystem, unlinked when waitress closes it (fsck removes the ones
a killed process left), and MD5-hashed as it arrives. ``spool_of(wsgi_input, size)``
hands it to the app as a ``Spool``; the filesystem store then hard-links that file into
place after the verifying reader has read it through, instead of copying it
(``stores.filesystem.content``). Other bodies, response buffers, and bodies where the
file cannot be made spool as in stock waitress (no MD5 spent on them).
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..stores.file_modes import unlink_quietly
from ..stores.streams import Spool

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: Set by the parser patch on the buffer of a request body: may be spooled here.
_BODY_BUFFER = "_boxdrive_request_body"
_spool_dir: str | None = None


class SpoolFile(io.BufferedRandom):
    """A request body's spool file: named ``path`` until closed, hashed as written."""

    def __init__(self, path: str, fd: int) -> None:
        super().__init__(io.FileIO(fd, "r+"))
        self.path = path
        self._md5: Any = hashlib.md5(usedforsecurity=False)
        self._hashed = 0

    def write(self, data: ReadableBuffer, /) -> int:
        if self._md5 is not None and self.tell() != self._hashed:
            self._md5 = None  # not an append (waitress only appends): no MD5 to offer
        n = super().write(data)
        if self._md5 is not None:
            self._md5.update(data)
            self._hashed += n
        return n

    def md5_hex(self) -> str | None:
        """MD5 of the whole file, if every byte went through ``write`` in order."""
        if self._md5 is None or self._hashed != os.fstat(self.fileno()).st_size:
            return None
        return str(self._md5.hexdigest())

    def close(self) -> None:
        if not self.closed:
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


def patch(parser_class: Any, buffer_class: Any, file_buffer_class: Any) -> None:
    """Mark request body buffers as they are made (``parser_class.parse_header``) and
    let a marked ``buffer_class`` (OverflowableBuffer) overflow into a ``SpoolFile``."""
    parse_header = parser_class.parse_header
    set_large_buffer = buffer_class._set_large_buffer

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
