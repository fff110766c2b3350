"""waitress: a connection whose descriptor was closed behind the I/O loop costs that
connection, not the server.

waitress's loop builds its ``select`` lists from the channel map and calls
``select``; one descriptor in them that is no longer open makes ``select`` raise
EBADF, the exception leaves ``loop``, and the server is gone -- every client, with
one traceback on stderr. Only a bug closes a channel's descriptor behind the loop
(``waitress_sendfile`` had one: an app thread closed the channel), so each such
event is logged as an error. We wrap ``wasyncore.poll`` (the one waitress uses; its
``poll2`` already turns a bad descriptor into a closed channel) and, on EBADF only:

- a channel whose descriptor is no longer open is dropped: its socket object is
  detached first, so the number, which the kernel may already have handed to a new
  connection or file, is never closed a second time;
- a channel that left the map while ``select`` ran (closed by another thread) needs
  nothing: the next ``poll`` builds its lists without it;
- anything else (the listening socket or the loop's wake-up pipe broken, or no
  culprit found) is logged as critical and raised: the server dies as before, but
  says why. Nothing is retried blindly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, MutableMapping
from typing import Any

logger = logging.getLogger("boxdrive_wsgi.waitress")


def _closed_fds(socket_map: MutableMapping[int, Any]) -> list[int]:
    """The descriptors in ``socket_map`` that are not open."""
    closed = []
    for fd in list(socket_map):
        try:
            os.fstat(fd)
        except OSError as error:
            if error.errno == errno.EBADF:
                closed.append(fd)
    return closed


def _drop(socket_map: MutableMapping[int, Any], fd: int) -> None:
    """Close the channel on ``fd`` (already closed in the kernel) without closing ``fd``."""
    channel: Any = socket_map[fd]
    sock = getattr(channel, "socket", None)
    if sock is not None:
        sock.detach()  # the socket object forgets the number: close() is a no-op now
    try:
        channel.handle_close()  # outbufs closed, the app thread woken, out of the map
    except Exception:
        logger.exception("closing the channel on descriptor %d failed", fd)
    socket_map.pop(fd, None)


def guard(poll: Callable[..., None], channel_class: type) -> Callable[..., None]:
    """``poll`` (``wasyncore.poll``), surviving a channel descriptor closed behind it."""

    def guarded_poll(timeout: float = 0.0, map: MutableMapping[int, Any] | None = None) -> None:
        if map is None:  # waitress always passes its map; wasyncore's default otherwise
            poll(timeout, map)
            return
        before = set(map)
        try:
            poll(timeout, map)
        except OSError as error:
            if error.errno != errno.EBADF:
                raise
            closed = _closed_fds(map)
            left = sorted(before - set(map))
            if any(not isinstance(map.get(fd), channel_class) for fd in closed) or not (
                closed or left
            ):
                logger.critical(
                    "waitress's I/O loop failed: select() on a bad descriptor (closed: %s)",
                    closed,
                )
                raise
            logger.error(
                "a connection's descriptor was closed behind waitress's loop (a bug): "
                "dropping the connections on %s; closed by another thread: %s",
                closed,
                left,
            )
            for fd in closed:
                with contextlib.suppress(OSError):
                    _drop(map, fd)

    return guarded_poll


def patch(wasyncore: Any, channel_class: type) -> None:
    """Replace ``wasyncore.poll`` (looked up by ``wasyncore.loop`` on every call)."""
    wasyncore.poll = guard(wasyncore.poll, channel_class)
