"""An encrypted object as the store holds it: one stream (a single PUT) or one per
part (multipart, parts encrypted independently and concatenated), and the reads a
plaintext range needs: at most two store reads, the first stream's 12-byte header
and one contiguous run of whole segments."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol

from .segments import (
    HEADER,
    SEGMENT,
    YIELD_SIZE,
    ChunkSource,
    DecryptionError,
    decrypt_segments,
    parse_header,
    plaintext_size,
    segment_span,
)


@dataclass(frozen=True)
class Stream:
    part: int  # the part number in the associated data (0: a single PUT)
    cipher_offset: int
    cipher_size: int
    plain_offset: int
    plain_size: int


class Closable(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


#: Opens ciphertext bytes ``[start, stop)`` of the stored object.
OpenRange = Callable[[int, int], Closable]


def streams_of(cipher_sizes: Sequence[tuple[int, int]]) -> list[Stream]:
    """The streams of an object from its (part number, ciphertext size) list."""
    streams: list[Stream] = []
    cipher = plain = 0
    for part, size in cipher_sizes:
        try:
            plain_size = plaintext_size(size)
        except ValueError as error:
            raise DecryptionError(f"part {part}: {error}") from None
        streams.append(Stream(part, cipher, size, plain, plain_size))
        cipher += size
        plain += plain_size
    return streams


def plain_total(streams: Sequence[Stream]) -> int:
    return sum(s.plain_size for s in streams)


def read_plaintext(
    open_range: OpenRange, key: bytes, streams: Sequence[Stream], start: int, stop: int
) -> Iterator[bytes]:
    """Plaintext ``[start, stop)`` of the object, decrypting only the segments that
    hold it. Raises DecryptionError (possibly after some bytes: the caller's response
    is then cut short, never completed with garbage)."""
    if start >= stop:
        return
    touched = [
        s for s in streams if s.plain_offset < stop and start < s.plain_offset + s.plain_size
    ]
    if not touched:
        return
    first = touched[0]
    first_span = segment_span(
        first.plain_size,
        start - first.plain_offset,
        min(stop, first.plain_offset + first.plain_size) - first.plain_offset,
    )
    prefix: bytes | None = None
    read_from = first.cipher_offset + first_span.cipher_start
    if first_span.first > 0:
        with closing(open_range(first.cipher_offset, first.cipher_offset + HEADER)) as head:
            prefix = parse_header(b"".join(head))
    else:
        read_from = first.cipher_offset
    last = touched[-1]
    last_span = segment_span(
        last.plain_size,
        max(start, last.plain_offset) - last.plain_offset,
        min(stop, last.plain_offset + last.plain_size) - last.plain_offset,
    )
    read_to = last.cipher_offset + last_span.cipher_stop
    pending: list[bytes] = []
    pending_bytes = 0
    with closing(open_range(read_from, read_to)) as body:
        source = ChunkSource(body)
        for stream in touched:
            lo = max(start, stream.plain_offset) - stream.plain_offset
            hi = min(stop, stream.plain_offset + stream.plain_size) - stream.plain_offset
            span = segment_span(stream.plain_size, lo, hi)
            if stream is not first or prefix is None:
                prefix = parse_header(source.take(HEADER))
            at = span.first * SEGMENT  # the plaintext offset of the next segment
            for plain in decrypt_segments(
                source,
                key,
                prefix=prefix,
                plain_size=stream.plain_size,
                span=span,
                part=stream.part,
            ):
                if at < lo or at + len(plain) > hi:
                    plain = plain[max(0, lo - at) : max(0, hi - at)]
                    at += SEGMENT
                else:
                    at += len(plain)
                if plain:
                    pending.append(plain)
                    pending_bytes += len(plain)
                if pending_bytes >= YIELD_SIZE:  # fewer, larger writes to the client
                    yield b"".join(pending)
                    pending, pending_bytes = [], 0
    if pending:
        yield b"".join(pending)
