"""gunicorn: send object files from one sender thread per worker, not from request threads.

gunicorn sends a ``wsgi.file_wrapper`` response with a blocking ``sendfile(2)`` in
the thread that ran the request, so a client that stops reading holds that thread
until it goes away; a worker's threads are few (8 by default), and one stalled
client per thread locks the worker out. We patch ``Response.sendfile`` narrowly:
for an object file from boxdrive_wsgi.web.file_response (and only then), the request
thread sends the headers and hands a duplicate of the socket and of the file to
this process's sender thread, which sends the rest with non-blocking sendfile as
the client takes it. The response says ``Connection: close``; gunicorn's socket
object is pointed at an unconnected placeholder, so its close (a half-close first)
leaves the connection to the sender, which closes it when the body is out.

A transfer that makes no progress for ``STALL_TIMEOUT`` seconds is dropped (the
send timeout). Beyond ``MAX_TRANSFERS`` at once, and for TLS, chunked responses or
a ``sendfile`` setting, gunicorn sends as it always does. A worker that stops
waits for its transfers up to ``graceful_timeout``, as for requests. The access
log and metrics see the request when the headers went out (gunicorn's own access
log does the same).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import selectors
import socket
import threading
import time
from typing import Any

from ..web.file_response import ServedFile
from .gunicorn_patch import Method, patch_response

#: Seconds a transfer may go without the client taking a byte (waitress's
#: channel_timeout is 120 s too).
STALL_TIMEOUT = 120.0
#: Transfers one worker process sends at once (two file descriptors each).
MAX_TRANSFERS = 256
#: Bytes one sendfile call may move: bounds how long one client keeps the loop.
SEND_CHUNK = 1024 * 1024
#: Bodies smaller than this go out as gunicorn sends them (keep-alive kept): they fit
#: in the kernel's socket buffers, so even a client that reads nothing cannot hold
#: the request thread, and small GETs keep their connection.
HAND_OVER_MIN_BYTES = 64 * 1024


class Transfer:
    def __init__(self, sock: socket.socket, file_fd: int, offset: int, count: int) -> None:
        self.sock = sock
        self.file_fd = file_fd
        self.offset = offset
        self.remaining = count
        self.progressed = time.monotonic()

    def send_some(self) -> bool:
        """Send what the socket takes now; False once done or broken."""
        try:
            sent = os.sendfile(
                self.sock.fileno(), self.file_fd, self.offset, min(self.remaining, SEND_CHUNK)
            )
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False  # the client went away
        if sent == 0:
            return False  # the file is shorter than promised: end the connection
        self.offset += sent
        self.remaining -= sent
        self.progressed = time.monotonic()
        return self.remaining > 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            os.close(self.file_fd)


class Sender:
    """One thread that sends every handed-over file of this process."""

    def __init__(self) -> None:
        self._incoming: queue.SimpleQueue[Transfer] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._count = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        threading.Thread(target=self._run, name="boxdrive-sendfile", daemon=True).start()

    def reserve(self) -> bool:
        with self._lock:
            if self._count >= MAX_TRANSFERS:
                return False
            self._count += 1
            return True

    def release(self) -> None:
        """Give back a ``reserve`` that did not become a transfer."""
        with self._lock:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the transfers in progress to end."""
        with self._lock:
            return self._idle.wait_for(lambda: self._count == 0, timeout)

    def add(self, transfer: Transfer) -> None:
        """Send ``transfer`` (after a successful ``reserve``)."""
        self._incoming.put(transfer)
        with contextlib.suppress(BlockingIOError):
            self._wake_write.send(b"\0")

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_read, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select(timeout=1.0):
                if key.fileobj is self._wake_read:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_read.recv(4096)
                    continue
                transfer: Transfer = key.data
                if not transfer.send_some():
                    self._finish(selector, transfer)
            while not self._incoming.empty():
                transfer = self._incoming.get()
                transfer.sock.setblocking(False)
                selector.register(transfer.sock, selectors.EVENT_WRITE, transfer)
            stalled_since = time.monotonic() - STALL_TIMEOUT
            for key in list(selector.get_map().values()):
                if isinstance(key.data, Transfer) and key.data.progressed < stalled_since:
                    self._finish(selector, key.data)

    def _finish(self, selector: selectors.BaseSelector, transfer: Transfer) -> None:
        selector.unregister(transfer.sock)
        transfer.close()
        self.release()


_sender: tuple[int, Sender] | None = None
_sender_lock = threading.Lock()


def sender(drain_timeout: float = 0.0) -> Sender:
    """This process's sender (a forked worker starts its own). At exit, the process
    waits up to ``drain_timeout`` seconds for its transfers to end, as gunicorn
    waits ``graceful_timeout`` for requests in progress."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            _sender = (os.getpid(), Sender())
            atexit.register(_sender[1].drain, drain_timeout)
        return _sender[1]


def hand_over(response: Any, respiter: Any) -> bool:
    """Send ``respiter`` (a gunicorn FileWrapper) from the sender thread, if it is
    an object file and gunicorn would use sendfile; False to let gunicorn send."""
    filelike = getattr(respiter, "filelike", None)
    if not isinstance(filelike, ServedFile) or response.cfg.is_ssl:
        return False
    if not response.can_sendfile() or response.response_length is None:
        return False
    if response.response_length < HAND_OVER_MIN_BYTES:
        return False
    if getattr(response, "_omits_body", False) or response.is_chunked():
        return False
    the_sender = sender(response.cfg.graceful_timeout)
    if not the_sender.reserve():
        return False
    response.force_close()  # before the headers: they must say Connection: close
    try:
        offset = os.lseek(filelike.fileno(), 0, os.SEEK_CUR)
        response.send_headers()
        connection = response.sock.dup()
        _detach(response.sock)
        transfer = Transfer(connection, os.dup(filelike.fileno()), offset, response.response_length)
    except BaseException:
        the_sender.release()
        raise
    the_sender.add(transfer)
    return True


def _detach(sock: socket.socket) -> None:
    """Point gunicorn's socket at a fresh unconnected one: gunicorn half-closes its
    socket after a ``Connection: close`` response (shutdown sends FIN for every
    descriptor of the connection), and the sender still has the body to send."""
    placeholder = socket.socket(sock.family, sock.type)
    try:
        os.dup2(placeholder.fileno(), sock.fileno(), inheritable=False)
    finally:
        placeholder.close()


def _wrap(original: Method) -> Method:
    def patched_sendfile(self: Any, respiter: Any) -> bool:
        if hand_over(self, respiter):
            return True
        result: bool = original(self, respiter)
        return result

    return patched_sendfile


def apply() -> None:
    """Patch gunicorn if this process runs under it (the app loads in the worker)."""
    patch_response("sendfile", _wrap)
