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

And three costs: a large request body is spooled where the filesystem store can link
it into place, hashed as it arrives (``waitress_spool``), object files go out
with sendfile(2) (``waitress_sendfile``), and large chunks of an app-iterated body
(a decrypted GET) are sent as they are, not copied through a temp file
(``waitress_bytes``).

And one safeguard: a connection whose descriptor was closed behind the I/O loop (a bug)
is dropped and logged instead of ending the loop, and with it the server
(``waitress_loop``).

Every other request and header behaves exactly as in stock waitress.
"""

from __future__ import annotations

from typing import Any

from . import waitress_bytes, waitress_loop, waitress_sendfile, waitress_spool

_PATCHED = "_boxdrive_patched"
_META_PREFIX = "x-amz-meta-"


def apply() -> None:
    try:
        from waitress import wasyncore
        from waitress.buffers import FileBasedBuffer, OverflowableBuffer, ReadOnlyFileBasedBuffer
        from waitress.channel import HTTPChannel
        from waitress.parser import HTTPRequestParser, ParsingError
        from waitress.task import WSGITask
        from waitress.wasyncore import _DISCONNECTED
    except ImportError:  # waitress is optional when another server runs the app
        return
    if getattr(HTTPChannel, _PATCHED, False):
        return
    send_continue = HTTPChannel.send_continue
    build_response_header = WSGITask.build_response_header
    parse_header = HTTPRequestParser.parse_header

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

    HTTPChannel.send_continue = patched_send_continue
    HTTPRequestParser.parse_header = patched_parse_header
    WSGITask.build_response_header = patched_build_response_header
    waitress_spool.patch(HTTPRequestParser, OverflowableBuffer, FileBasedBuffer, HTTPChannel)
    waitress_sendfile.patch(HTTPChannel, ReadOnlyFileBasedBuffer, _DISCONNECTED)
    waitress_bytes.patch(HTTPChannel, ReadOnlyFileBasedBuffer)
    waitress_loop.patch(wasyncore, HTTPChannel)
    setattr(HTTPChannel, _PATCHED, True)
