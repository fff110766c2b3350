"""waitress: send large chunks of an app-iterated body without buffering them again.

Stock waitress appends every chunk an application yields to an ``OverflowableBuffer``:
past ``outbuf_overflow`` (1 MiB) that is a temporary file, so a decrypted GET (the app
yields 1 MiB of plaintext at a time: encryption/) wrote each byte to a temp file, read
it back and sent it -- about a fifth of the server's work on a 1 GiB encrypted GET.

We patch ``HTTPChannel.write_soon`` narrowly: a ``bytes`` chunk of at least
``LARGE`` bytes is queued as it is, wrapped in a read-only buffer (the way waitress
queues a ``wsgi.file_wrapper``: the buffer, then a fresh writable one for what comes
next), and sent from a memoryview of it: no copy in Python. Waitress's bookkeeping
(outbuf totals, the high watermark that makes the app thread wait for a slow client,
closing a finished buffer) is unchanged, so memory stays bounded as before. Smaller
chunks, and everything else, go exactly the stock way.
"""

from __future__ import annotations

from typing import Any

#: Chunks at least this large are queued as they are (smaller ones are cheap to copy).
LARGE = 256 * 1024


def bytes_buffer_class(file_buffer_class: type) -> type:
    """A read-only outbuf over one ``bytes`` chunk (a subclass of waitress's file
    wrapper buffer, so ``write_soon`` queues it as it queues a file wrapper)."""

    class BytesBuffer(file_buffer_class):  # type: ignore[misc]
        def __init__(self, data: bytes) -> None:
            self.view = memoryview(data)
            self.at = 0
            self.remain = len(data)

        def prepare(self, size: int | None = None) -> int:
            return int(self.remain)

        def get(self, numbytes: int = -1, skip: bool = False) -> memoryview:
            if numbytes < 0 or numbytes > self.remain:
                numbytes = self.remain
            chunk = self.view[self.at : self.at + numbytes]
            if skip:
                self.skip(numbytes)
            return chunk

        def skip(self, numbytes: int, allow_prune: bool = False) -> None:
            numbytes = min(numbytes, self.remain)
            self.at += numbytes
            self.remain -= numbytes

        def close(self) -> None:
            self.view.release()
            self.remain = 0

    return BytesBuffer


def patch(channel_class: Any, file_buffer_class: type) -> None:
    """Wrap ``channel_class.write_soon`` (waitress 3.0) to queue large chunks as they are."""
    buffer_class = bytes_buffer_class(file_buffer_class)
    write_soon = channel_class.write_soon

    def patched_write_soon(self: Any, data: Any) -> int:
        if type(data) is bytes and len(data) >= LARGE:
            data = buffer_class(data)
        return int(write_soon(self, data))

    channel_class.write_soon = patched_write_soon
