"""waitress must answer an empty-bodied request that sent Expect: 100-continue."""

from __future__ import annotations

import socket
import threading

from waitress.server import create_server

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)


def app(environ: dict[str, object], start_response: object) -> list[bytes]:
    body = environ["wsgi.input"].read()  # type: ignore[attr-defined]
    start_response("200 OK", [("Content-Length", str(len(body) + 2))])  # type: ignore[operator]
    return [b"ok" + body]


def exchange(port: int, request: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        if body:
            received = sock.recv(100)  # the 100 Continue
            sock.sendall(body)
        while b"\r\n\r\nok" not in received:
            chunk = sock.recv(1000)
            if not chunk:
                break
            received += chunk
        return received


def test_empty_body_with_expect_continue_is_answered() -> None:
    server = create_server(app, host="127.0.0.1", port=0, threads=1)
    threading.Thread(target=server.run, daemon=True).start()
    port = server.effective_port
    try:
        head = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
        empty = exchange(port, head + b"0\r\n\r\n")
        assert b"HTTP/1.1 200 OK" in empty
        with_body = exchange(port, head + b"3\r\n\r\n", b"abc")
        assert b"100 Continue" in with_body
        assert with_body.endswith(b"okabc")
    finally:
        server.close()


def metadata_app(environ: dict[str, object], start_response: object) -> list[bytes]:
    start_response(  # type: ignore[operator]
        "200 OK",
        [("Content-Length", "0"), ("x-amz-meta-color", "blue"), ("content-type", "text/plain")],
    )
    return [b""]


def test_metadata_header_names_keep_their_case() -> None:
    server = create_server(metadata_app, host="127.0.0.1", port=0, threads=1)
    threading.Thread(target=server.run, daemon=True).start()
    port = server.effective_port
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(1000):
                received += chunk
        assert b"\r\nx-amz-meta-color: blue\r\n" in received
        assert b"\r\nContent-Type: text/plain\r\n" in received  # others as waitress spells them
    finally:
        server.close()
