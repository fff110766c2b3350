"""The encrypted stream format: AES-256-GCM per 64 KiB plaintext segment.

A stream (one object, or one part of a multipart object) is::

    header = MAGIC (4 bytes) || nonce prefix (8 random bytes)
    segment i = AES-GCM(data key, nonce = prefix || i (4 bytes, big-endian),
                        plaintext_i, aad = MAGIC || part number (4) || final flag (1))

Every segment holds SEGMENT plaintext bytes except the last, which holds 0..SEGMENT
and is the only one with the final flag set (an empty plaintext is one empty final
segment). So a flipped byte, a dropped, repeated or reordered segment (the counter is
in the nonce), a truncated stream (no final segment), a part moved to another place
(the part number is in the associated data) or another object's ciphertext (another
data key) all fail authentication: ``DecryptionError``, never garbage.

A range of plaintext maps onto whole segments (``segment_span``), so a Range GET
reads and decrypts only those, plus the 12-byte header.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..stores.streams import IterReader, Readable

MAGIC = b"BDS1"
PREFIX_BYTES = 8
HEADER = len(MAGIC) + PREFIX_BYTES
SEGMENT = 64 * 1024
TAG = 16
SEALED = SEGMENT + TAG
#: A stream's segment counter is 4 bytes: 256 TiB of plaintext per stream.
MAX_SEGMENTS = 2**32
#: Segments encrypted per read() of the encrypting reader (1 MiB of plaintext).
BATCH = 16
KEY_BYTES = 32


class DecryptionError(Exception):
    """The ciphertext is not what was encrypted with this key (tampered, truncated,
    reordered, another object's, or the wrong key)."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def ciphertext_size(plaintext: int) -> int:
    """Bytes a stream of ``plaintext`` bytes takes encrypted."""
    segments = max(1, -(-plaintext // SEGMENT))
    return HEADER + plaintext + segments * TAG


def plaintext_size(ciphertext: int) -> int:
    """The inverse of ``ciphertext_size``; ValueError for a size no stream has."""
    body = ciphertext - HEADER
    if body < TAG:
        raise ValueError(f"{ciphertext} bytes is no encrypted stream")
    full, rest = divmod(body, SEALED)
    if rest == 0:
        return full * SEGMENT
    if rest < TAG or (full and rest == TAG):
        raise ValueError(f"{ciphertext} bytes is no encrypted stream")
    return full * SEGMENT + rest - TAG


def _aad(part: int, final: bool) -> bytes:
    return MAGIC + struct.pack(">IB", part, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= MAX_SEGMENTS:
        raise ValueError("stream too long for its segment counter")
    return prefix + struct.pack(">I", index)


class EncryptingReader:
    """A ``Readable`` of ciphertext over a ``Readable`` of plaintext, in constant
    memory (one batch of segments and one look-ahead segment).

    ``plaintext_bytes`` counts what was read so far (the plaintext size at the end).
    """

    def __init__(self, source: Readable, key: bytes, *, part: int = 0) -> None:
        self._source = source
        self._aead = AESGCM(key)
        self._part = part
        self._prefix = os.urandom(PREFIX_BYTES)
        self._index = 0
        self._pending: bytes | None = None  # the next plaintext segment, read ahead
        self._done = False
        self._out = bytearray(MAGIC + self._prefix)
        self.plaintext_bytes = 0

    def _read_segment(self) -> bytes:
        pieces: list[bytes] = []
        wanted = SEGMENT
        while wanted:
            piece = self._source.read(wanted)
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        data = b"".join(pieces)
        self.plaintext_bytes += len(data)
        return data

    def _seal_next(self) -> None:
        current = self._read_segment() if self._pending is None else self._pending
        following = self._read_segment() if len(current) == SEGMENT else b""
        final = not following
        self._pending = None if final else following
        nonce = _nonce(self._prefix, self._index)
        self._out += self._aead.encrypt(nonce, current, _aad(self._part, final))
        self._index += 1
        self._done = final

    def read(self, size: int = -1, /) -> bytes:
        while not self._done and (size < 0 or len(self._out) < size):
            for _ in range(BATCH):
                self._seal_next()
                if self._done:
                    break
        if size < 0 or size >= len(self._out):
            out = bytes(self._out)
            self._out.clear()
            return out
        out = bytes(self._out[:size])
        del self._out[:size]
        return out


def encrypt_bytes(data: bytes, key: bytes, *, part: int = 0) -> bytes:
    """A whole stream at once (tests, small documents)."""
    return EncryptingReader(IterReader([data]), key, part=part).read()


@dataclass(frozen=True)
class SegmentSpan:
    """The segments of one stream that hold plaintext ``[start, stop)``."""

    first: int
    last: int  # inclusive
    #: ciphertext offsets (within the stream) of the first segment and after the last.
    cipher_start: int
    cipher_stop: int
    #: where ``start`` falls within the first segment's plaintext.
    skip: int


def segment_span(plain_size: int, start: int, stop: int) -> SegmentSpan:
    """Which segments to read for plaintext ``[start, stop)`` of a ``plain_size`` stream."""
    if not 0 <= start <= stop <= plain_size:
        raise ValueError(f"range {start}..{stop} outside 0..{plain_size}")
    first = start // SEGMENT
    last = max(first, (stop - 1) // SEGMENT) if stop > start else first
    cipher_start = HEADER + first * SEALED
    cipher_stop = min(HEADER + (last + 1) * SEALED, ciphertext_size(plain_size))
    return SegmentSpan(first, last, cipher_start, cipher_stop, start - first * SEGMENT)


def parse_header(header: bytes) -> bytes:
    """The nonce prefix from a stream's header."""
    if len(header) != HEADER or header[: len(MAGIC)] != MAGIC:
        raise DecryptionError("not an encrypted stream (bad header)")
    return header[len(MAGIC) :]


class ChunkSource:
    """Exactly-sized reads from an iterator of chunks of any size."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def has_more(self) -> bool:
        if self._buffer:
            return True
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        self._buffer += chunk
        return bool(chunk)


def decrypt_segments(
    source: ChunkSource,
    key: bytes,
    *,
    prefix: bytes,
    plain_size: int,
    span: SegmentSpan,
    part: int = 0,
) -> Iterator[bytes]:
    """Decrypt segments ``span.first..span.last`` of a stream whose ciphertext (from
    ``span.cipher_start``) ``source`` gives; yields plaintext of those segments whole
    (the caller trims to the range). Raises DecryptionError on any mismatch."""
    aead = AESGCM(key)
    last_index = max(0, -(-plain_size // SEGMENT) - 1)
    for index in range(span.first, span.last + 1):
        final = index == last_index
        expected = (plain_size - index * SEGMENT if final else SEGMENT) + TAG
        sealed = source.take(expected)
        if len(sealed) != expected:
            raise DecryptionError("encrypted stream truncated")
        try:
            yield aead.decrypt(_nonce(prefix, index), sealed, _aad(part, final))
        except InvalidTag:
            raise DecryptionError(
                "encrypted data failed authentication (tampered, truncated, reordered, "
                "another object's, or the wrong key)"
            ) from None


def decrypt_stream(
    ciphertext: Iterable[bytes], key: bytes, *, part: int = 0, plain_size: int | None = None
) -> Iterator[bytes]:
    """Decrypt one whole stream, header included. Without ``plain_size`` the size
    follows from the ciphertext's (all of it is held: small streams and tests only)."""
    if plain_size is None:
        data = b"".join(ciphertext)
        try:
            plain_size = plaintext_size(len(data))
        except ValueError as error:
            raise DecryptionError(str(error)) from None
        ciphertext = [data]
    source = ChunkSource(ciphertext)
    prefix = parse_header(source.take(HEADER))
    span = segment_span(plain_size, 0, plain_size)
    yield from decrypt_segments(
        source, key, prefix=prefix, plain_size=plain_size, span=span, part=part
    )
    if source.has_more():
        raise DecryptionError("encrypted stream longer than its plaintext size")
