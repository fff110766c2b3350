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

import hashlib
import os
import struct
from collections.abc import Callable, Iterable, Iterator
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
#: Plaintext read from the source at a time by the encrypting reader.
READ_SIZE = 1024 * 1024
#: Plaintext handed out at a time by the decrypting side (whole segments).
YIELD_SIZE = 1024 * 1024
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
    memory: plaintext is read in READ_SIZE blocks and sealed a segment at a time (one
    segment of look-ahead tells the final one). A read hands out at most one sealed
    segment (the first with the header before it): a short read, as ``Readable``
    allows, so no sealed byte is copied again to fill a larger one; a segment within
    one source block is sealed from a view of it, so no plaintext byte is either.

    ``plaintext_bytes`` counts what was read so far (the plaintext size at the end).
    ``on_end``, if given, gets the hex MD5 of the whole plaintext when the source reaches
    EOF, before the last ciphertext is handed out (so before the reader's own EOF);
    ``known_md5`` is that MD5 when the caller has it already (a request body the server
    hashed as it arrived): given if ``plaintext_bytes`` is ``known_size`` at EOF, and
    the plaintext is not hashed a second time.
    """

    def __init__(
        self,
        source: Readable,
        key: bytes,
        *,
        part: int = 0,
        on_end: Callable[[str], None] | None = None,
        known_md5: str | None = None,
        known_size: int | None = None,
    ) -> None:
        self._source = source
        self._known = (known_md5, known_size) if known_md5 is not None else None
        self._md5 = None if on_end is None or self._known else hashlib.md5()
        self._on_end = on_end
        self._aead = AESGCM(key)
        self._part = part
        self._prefix = os.urandom(PREFIX_BYTES)
        self._index = 0
        self._plain: list[memoryview] = []  # plaintext read and not sealed yet
        self._plain_bytes = 0
        self._eof = False
        self._done = False
        self._out = b""  # sealed and not handed out yet, from self._out_at
        self._out_at = 0
        self.plaintext_bytes = 0

    def _fill(self) -> None:
        """Read until more than a segment is waiting (so the next is not final) or EOF."""
        while not self._eof and self._plain_bytes <= SEGMENT:
            chunk = self._source.read(READ_SIZE)
            if not chunk:
                self._eof = True
                self._ended()
                break
            self.plaintext_bytes += len(chunk)
            if self._md5 is not None:
                self._md5.update(chunk)
            self._plain.append(memoryview(chunk))
            self._plain_bytes += len(chunk)

    def _ended(self) -> None:
        if self._on_end is None:
            return
        if self._md5 is not None:
            self._on_end(self._md5.hexdigest())
        elif self._known is not None and self._known[1] == self.plaintext_bytes:
            self._on_end(str(self._known[0]))

    def _take(self, size: int) -> bytes | memoryview:
        """The next ``size`` bytes of waiting plaintext (a view if they are in one block)."""
        if size == 0:
            return b""
        self._plain_bytes -= size
        first = self._plain[0]
        if len(first) >= size:
            if len(first) == size:
                self._plain.pop(0)
            else:
                self._plain[0] = first[size:]
            return first[:size]
        pieces: list[memoryview] = []
        while size > 0:
            piece = self._plain[0]
            if len(piece) > size:
                self._plain[0] = piece[size:]
                piece = piece[:size]
            else:
                self._plain.pop(0)
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)

    def _seal(self) -> bytes:
        """The next sealed segment (the header before the first)."""
        self._fill()
        final = self._eof and self._plain_bytes <= SEGMENT
        plain = self._take(self._plain_bytes if final else SEGMENT)
        sealed = self._aead.encrypt(
            _nonce(self._prefix, self._index), plain, _aad(self._part, final)
        )
        if self._index == 0:
            sealed = MAGIC + self._prefix + sealed
        self._index += 1
        self._done = final
        return sealed

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            pieces = [self._out[self._out_at :]]
            while not self._done:
                pieces.append(self._seal())
            self._out, self._out_at = b"", 0
            return b"".join(pieces)
        if self._out_at >= len(self._out):
            if self._done or size == 0:
                return b""
            self._out, self._out_at = self._seal(), 0
        out, at = self._out, self._out_at
        if at == 0 and len(out) <= size:
            self._out_at = len(out)
            return out
        piece = out[at : at + size]
        self._out_at += len(piece)
        return piece


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


def parse_header(header: bytes | memoryview) -> bytes:
    """The nonce prefix from a stream's header."""
    header = bytes(header)
    if len(header) != HEADER or header[: len(MAGIC)] != MAGIC:
        raise DecryptionError("not an encrypted stream (bad header)")
    return header[len(MAGIC) :]


class ChunkSource:
    """Exactly-sized reads from an iterator of chunks of any size (a read within one
    chunk is a memoryview of it: no copy)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")
        self._at = 0

    def take(self, size: int) -> bytes | memoryview:
        if len(self._chunk) - self._at >= size:
            piece = self._chunk[self._at : self._at + size]
            self._at += size
            return piece
        pieces = [bytes(self._chunk[self._at :])]
        have = len(pieces[0])
        self._chunk, self._at = memoryview(b""), 0
        while have < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            wanted = size - have
            if len(chunk) > wanted:
                self._chunk, self._at = memoryview(chunk), wanted
                pieces.append(bytes(chunk[:wanted]))
                have = size
            else:
                pieces.append(bytes(chunk))
                have += len(chunk)
        return b"".join(pieces)

    def has_more(self) -> bool:
        while len(self._chunk) - self._at == 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._chunk, self._at = memoryview(chunk), 0
        return True


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
