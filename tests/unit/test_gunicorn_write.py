"""gunicorn's Response patched to send a small whole body with its headers at once."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi

from boxdrive_wsgi.servers import gunicorn_patch, gunicorn_write


class Socket:
    """Records every sendall."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))


@pytest.fixture
def plain() -> type[Any]:
    """gunicorn's Response as gunicorn ships it (importing boxdrive_wsgi patched it)."""
    write = gunicorn_patch.original_of(wsgi.Response, "write") or wsgi.Response.write
    return type("Response", (wsgi.Response,), {"write": write})


@pytest.fixture
def patched(plain: type[Any], monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """That Response patched as in a worker (a class of its own: the real one untouched)."""
    response_class: type[Any] = type("Response", (plain,), {})
    monkeypatch.setattr(wsgi, "Response", response_class)
    gunicorn_write.apply()
    first = response_class.write
    gunicorn_write.apply()  # once only: the second finds it patched
    assert response_class.write is first is not plain.write
    return response_class


def respond(
    response_class: type[Any], method: str, headers: list[tuple[str, str]], *chunks: bytes
) -> list[bytes]:
    sock = Socket()
    request = SimpleNamespace(
        version=(1, 1), method=method, should_close=lambda: False, headers=[], scheme="http"
    )
    response = response_class(request, sock, Config())
    response.start_response("200 OK", headers)
    for chunk in chunks:
        response.write(chunk)
    response.close()
    return sock.sent


def test_a_small_whole_body_goes_with_its_headers(patched: type[Any]) -> None:
    body = b"x" * 4096
    sent = respond(patched, "GET", [("Content-Length", "4096"), ("ETag", '"e"')], body)
    assert len(sent) == 1
    head, _, rest = sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b'ETag: "e"' in head
    assert rest == body


def test_as_gunicorn_sends_it_the_same_bytes(patched: type[Any], plain: type[Any]) -> None:
    headers = [("Content-Length", "5"), ("X-A", "b")]
    ours = b"".join(respond(patched, "GET", headers, b"hello"))
    theirs = b"".join(respond(plain, "GET", headers, b"hello"))
    assert len(respond(plain, "GET", headers, b"hello")) == 2  # headers, then the body
    strip = [line for line in ours.split(b"\r\n") if not line.startswith(b"Date: ")]
    assert strip == [line for line in theirs.split(b"\r\n") if not line.startswith(b"Date: ")]


@pytest.mark.parametrize(
    ("method", "headers", "chunks"),
    [
        ("GET", [("Content-Length", "10")], (b"hello", b"world")),  # not the whole body
        ("GET", [], (b"chunked",)),  # no length: chunked
        ("HEAD", [("Content-Length", "5")], (b"",)),  # no body
        ("GET", [("Content-Length", str(70_000))], (b"y" * 70_000,)),  # too big to join
    ],
    ids=["partial", "chunked", "head", "large"],
)
def test_anything_else_goes_as_gunicorn_sends_it(
    patched: type[Any],
    plain: type[Any],
    method: str,
    headers: list[tuple[str, str]],
    chunks: tuple[bytes, ...],
) -> None:
    ours = respond(patched, method, headers, *chunks)
    theirs = respond(plain, method, headers, *chunks)
    assert len(ours) == len(theirs)
    assert [b.split(b"\r\nDate: ")[0] for b in ours] == [b.split(b"\r\nDate: ")[0] for b in theirs]


def test_the_patch_is_a_no_op_without_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "gunicorn.http.wsgi")
    gunicorn_write.apply()  # nothing to patch, nothing raised
