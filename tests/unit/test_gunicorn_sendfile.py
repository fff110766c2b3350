"""The sender thread behind gunicorn file bodies: whole transfers, a send timeout, a cap."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from boxdrive_wsgi.servers import gunicorn_sendfile
from boxdrive_wsgi.servers.gunicorn_sendfile import Sender, Transfer

SIZE = 8 * 1024 * 1024


def receive_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(1024 * 1024):
        chunks.append(chunk)
    return b"".join(chunks)


def start_transfer(sender: Sender, path: Path, offset: int, count: int) -> socket.socket:
    ours, theirs = socket.socketpair()
    assert sender.reserve()
    sender.add(Transfer(ours, os.open(path, os.O_RDONLY), offset, count))
    return theirs


def test_a_transfer_sends_its_span_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "content"
    data = os.urandom(SIZE)
    path.write_bytes(data)
    client = start_transfer(Sender(), path, 1000, SIZE - 2000)
    assert receive_all(client) == data[1000:-1000]


def test_a_stalled_transfer_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_sendfile, "STALL_TIMEOUT", 0.2)
    path = tmp_path / "content"
    path.write_bytes(b"\0" * SIZE)
    client = start_transfer(Sender(), path, 0, SIZE)
    time.sleep(1.5)  # reads nothing: the sender gives up and closes the connection
    assert len(receive_all(client)) < SIZE


def test_transfers_beyond_the_cap_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_sendfile, "MAX_TRANSFERS", 2)
    sender = Sender()
    assert sender.reserve() and sender.reserve()
    assert not sender.reserve()
    sender.release()
    assert sender.reserve()
