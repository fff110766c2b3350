"""Byte streams as stores read and serve them: a Readable, chunked reading, and a
reader over an iterator of chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

from .errors import IncompleteBody

#: Chunk size used when streaming bodies in and out.
CHUNK_SIZE = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def iter_chunks(body: Readable | BinaryIO, size: int | None = None) -> Iterator[bytes]:
    """Read ``body`` in CHUNK_SIZE pieces; stop after ``size`` bytes if given.

    Raises ``IncompleteBody`` when ``size`` is given and the body ends early, so
    a store never commits a truncated object.
    """
    remaining = size
    while remaining is None or remaining > 0:
        want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
        chunk = body.read(want)
        if not chunk:
            if remaining:
                raise IncompleteBody(remaining)
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class _ChunkReader:
    """A ``Readable`` over an iterator of byte chunks (an ObjectBody)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return data
