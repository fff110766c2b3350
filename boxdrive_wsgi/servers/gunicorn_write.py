"""gunicorn: a small response's headers and body in one ``sendall``.

gunicorn sends a response's headers with one ``sendall`` and then each body chunk with
another: a 4 KiB GET is two system calls, each of which hands the GIL to another
thread of the worker and waits to get it back, and two TCP segments. When the first
write is the whole body (its Content-Length, not chunked, a response that carries a
body) and it is at most ``COALESCE_MAX`` bytes, the headers gunicorn renders go out
in the same ``sendall`` as the body. Anything else is written as gunicorn writes it.
"""

from __future__ import annotations

from typing import Any

from .gunicorn_patch import Method, patch_response

#: Bodies up to this size are sent with their headers (what one socket buffer takes).
COALESCE_MAX = 64 * 1024


class _Rendered:
    """Stands in for the socket while gunicorn renders the headers: keeps their bytes."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


def whole_small_body(response: Any, data: object) -> bool:
    """Is ``data``, the response's first write, its whole (small) body?"""
    return (
        not response.headers_sent
        and isinstance(data, bytes)
        and 0 < len(data) <= COALESCE_MAX
        and response.response_length == len(data)
        and response.sent == 0
        and not response.chunked
        and not getattr(response, "_omits_body", False)
    )


def _wrap(original: Method) -> Method:
    def patched_write(self: Any, data: bytes) -> None:
        if not whole_small_body(self, data):
            original(self, data)
            return
        sock, rendered = self.sock, _Rendered()
        self.sock = rendered  # gunicorn's own rendering of the headers, not a copy of it
        try:
            self.send_headers()
        finally:
            self.sock = sock
        self.sent += len(data)
        sock.sendall(rendered.data + data)

    return patched_write


def apply() -> None:
    """Patch gunicorn if this process runs under it (the app loads in the worker)."""
    patch_response("write", _wrap)
