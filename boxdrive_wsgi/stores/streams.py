"""Byte streams as stores read and serve them: ``Readable``, chunked reading, and
``IterReader``, the one reader over an iterator of chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from .errors import IncompleteBody

#: Chunk size used when streaming bodies in and out.
CHUNK_SIZE = 1024 * 1024


class Readable(Protocol):
    """What a request body is to a store: ``read(size)`` returns at most ``size``
    bytes (all that is left with -1), and ``b""`` only at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Spool:
    """A request body the WSGI server already wrote, whole, to a file: ``path`` (open
    as ``fd``) holds exactly ``size`` bytes, nothing writes to it any more, and the
    server unlinks ``path`` when the request is over. A body that carries one as
    ``.spool`` still has to be read to its end (that is where it is verified); a store
    may then hard-link the file into place instead of writing the bytes a second time
    (``filesystem.content``). ``md5``: the file's hex MD5 if the server computed it as
    the bytes arrived."""

    path: str
    fd: int
    size: int
    md5: str | None = None


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


class IterReader:
    """A ``Readable`` over an iterable of byte chunks: ``read(n)`` returns ``n`` bytes
    (fewer only at the end), in time linear in what it returns however small the reads
    and however large the chunks (a chunk is sliced, never re-buffered)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._chunk = b""
        self._at = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            rest = [self._chunk[self._at :], *self._chunks]
            self._chunk, self._at = b"", 0
            return b"".join(rest)
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0:
            if self._at >= len(self._chunk):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._at = bytes(chunk), 0
                continue
            if self._at == 0 and len(self._chunk) <= wanted:
                piece = self._chunk  # the whole chunk: no copy
            else:
                piece = self._chunk[self._at : self._at + wanted]
            self._at += len(piece)
            wanted -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)
