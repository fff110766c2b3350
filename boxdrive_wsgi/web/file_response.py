"""GetObject from a local file, sent by the WSGI server rather than by an app thread.

A streamed body holds the app thread that iterates it until the client has taken
the last byte, so a few clients that ask for a large object and never read hold
every thread, and with them the server. When the store hands over the open file
(``ObjectBody.file``) and the server's ``wsgi.file_wrapper`` is one known to send
Content-Length bytes from the file's current position, the app returns that
wrapper instead of an iterator:

- waitress sends it from its I/O loop with non-blocking writes: the app thread is
  free as soon as the headers are queued;
- gunicorn sends it with sendfile(2); ``servers.gunicorn_sendfile`` moves that
  send off the worker thread.

Other servers' wrappers (uWSGI's sends a file from its start) stream as before.

A small body (``INLINE_LIMIT``) is read whole on the app thread instead and goes out
in one buffer with the headers: for 4 KiB the hand-over costs more than the bytes
(waitress seeks to measure the file and queues a buffer of its own; gunicorn's
sender thread closes the connection after the body).

A wrapper sends what the file holds: waitress even rewrites Content-Length to the
file's size. So a content file shorter than its index entry (damaged behind the
store's back) is refused here, before the headers (500), rather than served as a
complete, truncated 200; the streamed path fails on its short read instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response

from ..stores.base import CHUNK_SIZE, ObjectBody

#: Modules of file wrappers that send from the current position and stop at the
#: response's Content-Length (waitress: ReadOnlyFileBasedBuffer.prepare; gunicorn:
#: Response.sendfile sends ``response_length`` bytes from the fd's offset).
KNOWN_WRAPPERS = ("waitress.", "gunicorn.")
#: Bodies up to this many bytes are read on the app thread and sent with the headers.
INLINE_LIMIT = 64 * 1024


def file_response(
    environ: Mapping[str, Any], body: ObjectBody, status: int, headers: Mapping[str, str]
) -> Response | None:
    """A response that lets the server send ``body``'s file, or None to stream it.

    ``headers`` must carry the Content-Length of the served span.
    """
    if body.file is None or body.length == 0:
        return None
    if body.length <= INLINE_LIMIT:
        return _inline(body, status, headers)
    wrapper: Callable[..., Any] | None = environ.get("wsgi.file_wrapper")
    if wrapper is None:
        return None
    # uWSGI's wrapper is a builtin whose __module__ is None
    if not (getattr(wrapper, "__module__", None) or "").startswith(KNOWN_WRAPPERS):
        return None
    try:
        file_size = os.fstat(body.file.fileno()).st_size
    except (OSError, ValueError):  # not an OS file: stream it
        return None
    if file_size < body.offset + body.length:
        raise OSError(f"content file {body.file.name} is shorter than its index entry")
    body.file.seek(body.offset)
    response = Response(status=status, headers=dict(headers), direct_passthrough=True)
    # The server calls the wrapper's close(), never Response.close: ServedFile runs it.
    response.response = wrapper(ServedFile(body, response), CHUNK_SIZE)
    return response


def _inline(body: ObjectBody, status: int, headers: Mapping[str, str]) -> Response:
    """``body``'s bytes read now, as the response body; closes ``body``."""
    assert body.file is not None
    try:
        data = _read_at(body.file, body.offset, body.length)
    finally:
        body.close()
    if len(data) != body.length:  # never fewer bytes than Content-Length promises
        raise OSError(f"content file {body.file.name} is shorter than its index entry")
    return Response(data, status=status, headers=dict(headers))


def _read_at(file: Any, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset`` (fewer at EOF): pread(2), one system call where
    seek and read take two (each lets the other threads take the GIL), for OS files."""
    try:
        fd = file.fileno()
    except (OSError, ValueError, AttributeError):  # not an OS file
        file.seek(offset)
        return bytes(file.read(length))
    data = os.pread(fd, length, offset)
    while 0 < len(data) < length:  # a short read before EOF: read on
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data


class ServedFile:
    """``body``'s open file as the server's wrapper sees it (read, seek, tell,
    fileno pass through). Closing it closes the body and runs the response's close
    hooks (access log, metrics), which werkzeug runs itself for other bodies."""

    def __init__(self, body: ObjectBody, response: Response) -> None:
        assert body.file is not None
        self._file = body.file
        self._body = body
        self._response = response
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._body.close()
        finally:
            self._response.close()  # closes the wrapper, which lands here again: a no-op
