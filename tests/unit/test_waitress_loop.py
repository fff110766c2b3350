"""A connection whose descriptor was closed behind waitress's I/O loop costs that
connection, logged as the bug it is, not the server; a broken descriptor that is
not a connection's still ends the loop, loudly."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import MutableMapping
from typing import Any

import pytest
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)
from boxdrive_wsgi.servers import waitress_loop


def app(environ: dict[str, object], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def ask(sock: socket.socket) -> bytes:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while not received.endswith(b"ok"):
        chunk = sock.recv(1000)
        if not chunk:
            break
        received += chunk
    return received


def test_a_channel_closed_behind_the_loop_is_dropped_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The test thread runs the loop's polls itself, so the descriptor is closed between
    two of them (closed during one, the socket would report ready and recv's EBADF
    closes the channel: stock waitress handles that)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=1)
    try:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=5) as kept:
            kept.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            kept.setblocking(False)
            answer = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                answer.endswith(b"ok")
                and all(c.readable() for c in server.active_channels.values())
            ):
                wasyncore.poll(0.01, server._map)
                with contextlib.suppress(BlockingIOError):
                    answer += kept.recv(1000)
            assert answer.endswith(b"ok")  # kept alive: its channel waits to read
            ((fd, channel),) = server.active_channels.items()
            os.close(fd)  # the bug: closed behind the loop's back
            with caplog.at_level(logging.ERROR, logger="boxdrive_wsgi.waitress"):
                wasyncore.poll(0.0, server._map)  # stock: OSError(EBADF) out of the loop
            assert "closed behind waitress's loop" in caplog.text
            assert fd not in server.active_channels and not channel.connected
            assert channel.socket is None  # detached, then let go: fd is never closed again
        loop = threading.Thread(target=server.run, daemon=True)
        loop.start()
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=5) as s:
            assert ask(s).endswith(b"ok")
    finally:
        server.close()


class Listener:
    """A map entry that is not a connection (as waitress's listening socket)."""

    accepting = False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False


def test_a_broken_descriptor_that_is_no_channel_still_ends_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    guarded = waitress_loop.guard(wasyncore.poll, HTTPChannel)
    try:
        with (
            caplog.at_level(logging.CRITICAL, logger="boxdrive_wsgi.waitress"),
            pytest.raises(OSError) as raised,
        ):
            guarded(0.0, {read_end: Listener()})
        assert raised.value.errno == errno.EBADF
        assert "I/O loop failed" in caplog.text
    finally:
        os.close(write_end)


def test_a_channel_another_thread_closed_during_select_needs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its descriptor left the map while select ran: the next poll goes without it."""

    def racing_poll(timeout: float, socket_map: MutableMapping[int, Any]) -> None:
        socket_map.pop(7)  # another thread closed the channel on fd 7
        raise OSError(errno.EBADF, "Bad file descriptor")

    guarded = waitress_loop.guard(racing_poll, HTTPChannel)
    socket_map: dict[int, Any] = {7: object()}
    with caplog.at_level(logging.ERROR, logger="boxdrive_wsgi.waitress"):
        guarded(0.0, socket_map)  # returns: nothing is left to drop
    assert "closed by another thread: [7]" in caplog.text

    def failing_poll(timeout: float, socket_map: MutableMapping[int, Any]) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")  # no culprit in the map

    with pytest.raises(OSError):
        waitress_loop.guard(failing_poll, HTTPChannel)(0.0, {})
