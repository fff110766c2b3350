"""Three waitress (3.0.x) behaviours that break S3 clients or their proxies, patched narrowly.

1. ``Expect: 100-continue`` with an empty body hangs. boto3 sends the header on
   every PutObject/UploadPart. For a zero-byte body waitress marks the request
   complete while parsing headers, then ``HTTPChannel.send_continue`` resets
   ``completed`` and the request is never dispatched. A request with no body
   has nothing to continue: we skip the 100 and let it run.
2. Response header names are re-capitalised (``x-amz-meta-color`` goes out as
   ``X-Amz-Meta-Color``). S3 sends user metadata names in lower case and SDKs
   hand them to users as received, so metadata would not round-trip. We put
   the application's spelling of ``x-amz-meta-*`` names back.
3. A request with both ``Content-Length`` and ``Transfer-Encoding: chunked`` is
   framed by the chunked body and the connection kept open, so the bytes a proxy
   in front counted into the body by Content-Length are parsed as a second
   request (request smuggling). RFC 9112 6.1 lets a server refuse such a request
   and requires it to close the connection: we answer 400 and close, and nothing
   after the headers is parsed as a request.

And one cost: waitress reads a whole request body before the app sees it, spooling
a large one (past ``inbuf_overflow``) to an anonymous temp file in ``TMPDIR``; the
store then writes every byte a second time. ``spool_into(directory)`` (the app sets
it to the filesystem store's ``tmp/``) makes those files ``directory/spool-*``, mode
0600, on the store's filesystem, unlinked when waitress closes them (fsck removes the
ones a killed process left), and ``spool_of(wsgi_input)`` hands the request's one to
the app as a ``Spool``, so the store hard-links it into place after verifying it
instead of copying it (a body the app only reads is not affected). Where the file
cannot be made there, waitress spools as before.

Every other request and header behaves exactly as in stock waitress.
"""

from __future__ import annotations

import io
import os
import secrets
from typing import Any

from ..stores.file_modes import unlink_quietly
from ..stores.streams import Spool

_PATCHED = "_boxdrive_patched"
_META_PREFIX = "x-amz-meta-"
_spool_dir: str | None = None


class SpoolFile(io.BufferedRandom):
    """A waitress buffer file made by ``spool_into``'s patch: named ``path`` until closed."""

    def __init__(self, path: str, fd: int) -> None:
        super().__init__(io.FileIO(fd, "r+"))
        self.path = path

    def close(self) -> None:
        if not self.closed:
            unlink_quietly(self.path)
        super().close()


def spool_into(directory: str | None) -> None:
    """Spool large request bodies into ``directory`` (None: waitress's default)."""
    global _spool_dir
    _spool_dir = directory


def spool_of(wsgi_input: object, size: int | None) -> Spool | None:
    """The linkable spool file holding exactly ``size`` body bytes, if ``wsgi_input``
    (unread) is one."""
    if size is None or not isinstance(wsgi_input, SpoolFile) or wsgi_input.closed:
        return None
    fd = wsgi_input.fileno()
    if wsgi_input.tell() != 0 or os.fstat(fd).st_size != size:
        return None
    return Spool(wsgi_input.path, fd, size)


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


def apply() -> None:
    try:
        from waitress.buffers import TempfileBasedBuffer
        from waitress.channel import HTTPChannel
        from waitress.parser import HTTPRequestParser, ParsingError
        from waitress.task import WSGITask
    except ImportError:  # waitress is optional when another server runs the app
        return
    if getattr(HTTPChannel, _PATCHED, False):
        return
    send_continue = HTTPChannel.send_continue
    build_response_header = WSGITask.build_response_header
    parse_header = HTTPRequestParser.parse_header
    newfile = TempfileBasedBuffer.newfile

    def patched_send_continue(self: Any) -> None:
        request = self.request
        if request.completed and request.body_rcv is None and request.error is None:
            request.expect_continue = False
            return
        send_continue(self)

    def patched_build_response_header(self: Any) -> bytes:
        spelled = {
            "-".join(part.capitalize() for part in name.split("-")): name
            for name, _ in self.response_headers
            if name.lower().startswith(_META_PREFIX)
        }
        header: bytes = build_response_header(self)
        if not spelled:
            return header
        lines = header.split(b"\r\n")
        for index, line in enumerate(lines):
            name, colon, rest = line.partition(b":")
            original = spelled.get(name.decode("latin-1")) if colon else None
            if original is not None:
                lines[index] = original.encode("latin-1") + colon + rest
        return b"\r\n".join(lines)

    def patched_parse_header(self: Any, header_plus: bytes) -> None:
        parse_header(self, header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            # A ParsingError makes waitress answer 400 and close the connection.
            raise ParsingError("Content-Length and Transfer-Encoding in one request")

    def patched_newfile(self: Any) -> Any:
        return _spool_file() or newfile(self)

    HTTPChannel.send_continue = patched_send_continue
    TempfileBasedBuffer.newfile = patched_newfile
    HTTPRequestParser.parse_header = patched_parse_header
    WSGITask.build_response_header = patched_build_response_header
    setattr(HTTPChannel, _PATCHED, True)
