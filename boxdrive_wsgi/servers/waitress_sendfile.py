"""waitress: send object files with sendfile(2) from its I/O loop.

``web.file_response`` hands waitress an object's open content file as its
``wsgi.file_wrapper`` (a ``ReadOnlyFileBasedBuffer``), and waitress sends it from its
I/O thread with non-blocking writes: the app thread is free at once. But waitress
reads every chunk into Python (``read`` of the socket buffer's size, a seek back,
``send``, a seek forward): two copies of each byte and the GIL held for them, which
kept a 1 GiB GET at about half of nginx's rate. We patch ``HTTPChannel._flush_some``
narrowly: for a file wrapper over a ``ServedFile`` (our object files, and only
those) the bytes go from the file to the socket with a non-blocking
``os.sendfile`` at the file's position, as many as the socket takes; waitress's
bookkeeping (``skip``, the outbuf totals, closing the finished buffer) is unchanged,
and every other buffer is sent exactly as stock waitress sends it. A file that ends
early (``file_response`` refuses one that is short when it is opened) closes the
connection.

Only waitress's I/O thread may close a channel. ``write_soon`` flushes from the app
thread with ``do_close=False``; a channel closed there leaves the loop's map between
its building of the ``select`` lists and the call, and ``select`` fails with EBADF,
which ends waitress's loop and with it the server (a client that went away before a
GET's file was queued was enough). So, as stock ``send`` does, a send off the loop
thread that finds the client gone or the file short only stops, leaving the close to
the loop (``will_close``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from ..web.file_response import ServedFile

#: The most one sendfile call is asked for (the kernel sends what the socket takes).
MAX_SEND = 1 << 30


def _file_fd(outbuf: Any, file_buffer_class: type) -> int | None:
    """The fd to sendfile ``outbuf`` from, or None to send it the stock way."""
    if type(outbuf) is not file_buffer_class or not hasattr(os, "sendfile"):
        return None
    served = getattr(outbuf, "file", None)
    if not isinstance(served, ServedFile):
        return None
    try:
        return int(served.fileno())
    except (OSError, ValueError):  # not an OS file
        return None


def _sendfile(
    channel: Any, outbuf: Any, fd: int, length: int, disconnected: Any, do_close: bool
) -> int:
    """Send up to ``length`` bytes of ``outbuf``'s file; return how many went out.
    ``do_close``: on the loop thread, which alone may close the channel."""
    offset = outbuf.file.tell()
    try:
        sent = os.sendfile(channel.socket.fileno(), fd, offset, min(length, MAX_SEND))
    except BlockingIOError:
        return 0
    except OSError as why:
        if why.errno in disconnected:
            _close(channel, do_close)
            return 0
        raise
    if sent == 0:  # the file ended early: never send less than Content-Length promised
        channel.logger.error("object file ended %d bytes early; closing", length)
        _close(channel, do_close)
        return 0
    outbuf.skip(sent, True)
    return sent


def _close(channel: Any, do_close: bool) -> None:
    """Close ``channel`` now on the loop thread, else have the loop close it."""
    if do_close:
        channel.handle_close()
    else:
        channel.will_close = True  # the loop sees it (writable) and closes the channel


def patch(channel_class: Any, file_buffer_class: type, disconnected: Any) -> None:
    """Replace ``channel_class._flush_some`` (waitress 3.0's loop, with a sendfile
    branch for object files)."""

    def _flush_some(self: Any, do_close: bool = True) -> bool:
        sent = 0
        dobreak = False
        while True:
            outbuf = self.outbufs[0]
            outbuflen = outbuf.__len__()
            fd = _file_fd(outbuf, file_buffer_class) if outbuflen > 0 else None
            while outbuflen > 0:
                if fd is not None:
                    num_sent = _sendfile(self, outbuf, fd, outbuflen, disconnected, do_close)
                else:
                    chunk = outbuf.get(self.sendbuf_len)
                    num_sent = self.send(chunk, do_close=do_close)
                    if num_sent:
                        outbuf.skip(num_sent, True)
                if num_sent:
                    outbuflen -= num_sent
                    sent += num_sent
                    self.total_outbufs_len -= num_sent
                else:
                    dobreak = True  # failed to write anything, break out entirely
                    break
            else:
                if len(self.outbufs) > 1:  # self.outbufs[-1] must stay a writable outbuf
                    toclose = self.outbufs.pop(0)
                    try:
                        toclose.close()
                    except Exception:
                        self.logger.exception("Unexpected error when closing an outbuf")
                else:
                    dobreak = True  # caught up, done flushing for now
            if dobreak:
                break
        if sent:
            self.last_activity = time.time()
            return True
        return False

    channel_class._flush_some = _flush_some
