"""A faulty "S3 upstream" for S3Store tests: a raw socket server in a thread that answers
every request the way a test tells it (an S3 error document with any code and status, an
HTML page from a broken proxy, or a connection dropped without a word)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass


@dataclass
class Fault:
    status: int = 503
    code: str | None = "ServiceUnavailable"
    #: a body to send instead of an S3 error document (e.g. a proxy's HTML page)
    body: bytes | None = None
    retry_after: str | None = None
    #: close the connection after reading the request, without answering
    drop: bool = False


class FaultyS3:
    """Serves ``self.fault`` to every request; ``requests`` counts them."""

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault or Fault()
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                method = self._read_request(conn)
            except OSError:
                return
            self.requests += 1
            fault = self.fault
            if fault.drop:
                return
            body = fault.body
            if body is None:
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{fault.code}</Code><Message>injected</Message>"
                    "<RequestId>FAULTY-1</RequestId></Error>"
                ).encode()
            headers = [
                f"HTTP/1.1 {fault.status} Injected",
                "Content-Type: " + ("application/xml" if fault.body is None else "text/html"),
                f"Content-Length: {len(body)}",
                "x-amz-request-id: FAULTY-1",
                "Connection: close",
            ]
            if fault.retry_after is not None:
                headers.append(f"Retry-After: {fault.retry_after}")
            with_body = b"" if method == "HEAD" else body
            conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + with_body)

    @staticmethod
    def _read_request(conn: socket.socket) -> str:
        """Read one request (headers and a Content-Length body); return its method."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise OSError("client went away")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        method = head.split(b" ", 1)[0].decode()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return method
