"""The segment format: round trips, ranges touching only their segments, and every
kind of tampering failing with DecryptionError (never garbage)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from boxdrive_wsgi.encryption.layout import read_plaintext, streams_of
from boxdrive_wsgi.encryption.segments import (
    HEADER,
    SEALED,
    SEGMENT,
    DecryptionError,
    EncryptingReader,
    ciphertext_size,
    decrypt_stream,
    encrypt_bytes,
    new_data_key,
    plaintext_size,
)

KEY = new_data_key()
SIZES = [0, 1, 13, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 77]


class Ranged:
    """A store body over bytes that records what was read."""

    def __init__(self, data: bytes, reads: list[tuple[int, int]], start: int, stop: int) -> None:
        reads.append((start, stop))
        self._data = data[start:stop]
        self.closed = False

    def __iter__(self):
        for at in range(0, len(self._data), 1000):  # odd chunking on purpose
            yield self._data[at : at + 1000]

    def close(self) -> None:
        self.closed = True


def opener(data: bytes, reads: list[tuple[int, int]]):
    return lambda start, stop: Ranged(data, reads, start, stop)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_and_sizes(size: int) -> None:
    plain = os.urandom(size)
    sealed = encrypt_bytes(plain, KEY)
    assert len(sealed) == ciphertext_size(size)
    assert plaintext_size(len(sealed)) == size
    assert b"".join(decrypt_stream([sealed], KEY)) == plain
    assert b"".join(decrypt_stream([sealed], KEY, plain_size=size)) == plain


def test_streaming_reads_any_size() -> None:
    plain = os.urandom(5 * SEGMENT + 3)
    reader = EncryptingReader(io.BytesIO(plain), KEY)
    pieces = []
    while chunk := reader.read(4099):
        pieces.append(chunk)
    assert reader.plaintext_bytes == len(plain)
    assert b"".join(decrypt_stream(pieces, KEY)) == plain


class OddReads:
    """A source handing out pieces of sizes that never line up with segments."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes, self._at, self._turn = data, sizes, 0, 0
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        n = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        piece = self._data[self._at : self._at + min(n, size if size >= 0 else n)]
        self._at += len(piece)
        return piece


@pytest.mark.parametrize("size", [0, SEGMENT, 2 * SEGMENT + 5, 7 * SEGMENT + 1234])
@pytest.mark.parametrize("reads", [[1], [SEGMENT - 1, 3], [SEGMENT + 7], [5 * SEGMENT + 3, 17]])
def test_segments_across_source_pieces_and_read_sizes(size: int, reads: list[int]) -> None:
    plain = os.urandom(size)
    small = [1, 100] if size <= SEGMENT else [4099]  # tiny reads of a big stream: slow
    for read_size in (*small, SEALED - 1, SEALED, SEALED + HEADER, 4 * SEALED):
        ended: list[str] = []
        reader = EncryptingReader(OddReads(plain, reads), KEY, on_end=ended.append)
        pieces = []
        while chunk := reader.read(read_size):
            assert 0 < len(chunk) <= read_size
            pieces.append(chunk)
        assert reader.read(read_size) == b"" and reader.read(0) == b""
        sealed = b"".join(pieces)
        assert len(sealed) == ciphertext_size(size)
        assert b"".join(decrypt_stream([sealed], KEY)) == plain
        assert ended == [hashlib.md5(plain).hexdigest()]


def test_known_md5_is_given_not_recomputed() -> None:
    plain = os.urandom(SEGMENT + 9)
    ended: list[str] = []
    reader = EncryptingReader(
        io.BytesIO(plain), KEY, on_end=ended.append, known_md5="f" * 32, known_size=len(plain)
    )
    reader.read()
    assert ended == ["f" * 32]  # what the caller knew (the server hashed the body already)
    short: list[str] = []
    reader = EncryptingReader(
        io.BytesIO(plain), KEY, on_end=short.append, known_md5="f" * 32, known_size=len(plain) + 1
    )
    reader.read()
    assert short == []  # not the body the MD5 was of: no ETag from it


def test_nonce_prefix_differs_per_stream() -> None:
    assert encrypt_bytes(b"same", KEY) != encrypt_bytes(b"same", KEY)


def test_impossible_sizes_refused() -> None:
    for size in (0, HEADER, HEADER + 15, HEADER + SEALED + 16):
        with pytest.raises(ValueError):
            plaintext_size(size)


@pytest.mark.parametrize("at", [0, 5, HEADER, HEADER + 100, -1])
def test_flipped_byte_detected(at: int) -> None:
    sealed = bytearray(encrypt_bytes(os.urandom(2 * SEGMENT + 5), KEY))
    sealed[at] ^= 0x01
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([bytes(sealed)], KEY))


def test_truncation_detected() -> None:
    plain = os.urandom(3 * SEGMENT)
    sealed = encrypt_bytes(plain, KEY)
    # cut after whole segments: every remaining segment authenticates, the end does not
    for cut in (HEADER + SEALED, HEADER + 2 * SEALED, len(sealed) - 1):
        with pytest.raises(DecryptionError):
            b"".join(decrypt_stream([sealed[:cut]], KEY))
        with pytest.raises(DecryptionError):
            b"".join(decrypt_stream([sealed[:cut]], KEY, plain_size=len(plain)))


def test_extra_bytes_detected() -> None:
    sealed = encrypt_bytes(b"abc", KEY)
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([sealed + b"x"], KEY, plain_size=3))


def _segments(sealed: bytes) -> tuple[bytes, list[bytes]]:
    body = sealed[HEADER:]
    return sealed[:HEADER], [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


def test_dropped_repeated_reordered_segments_detected() -> None:
    sealed = encrypt_bytes(os.urandom(3 * SEGMENT + 9), KEY)
    header, segs = _segments(sealed)
    for tampered in (
        [segs[0], segs[2], segs[3]],  # dropped
        [segs[0], segs[0], segs[2], segs[3]],  # repeated
        [segs[1], segs[0], segs[2], segs[3]],  # reordered
    ):
        with pytest.raises(DecryptionError):
            b"".join(decrypt_stream([header + b"".join(tampered)], KEY))


def test_other_objects_ciphertext_and_wrong_key_detected() -> None:
    a = encrypt_bytes(os.urandom(1000), KEY)
    b = encrypt_bytes(os.urandom(1000), new_data_key())
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([b], KEY))
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([a], new_data_key()))
    # the same key, another stream's header: the nonce prefix differs
    c = encrypt_bytes(os.urandom(1000), KEY)
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([a[:HEADER] + c[HEADER:]], KEY))


def test_part_moved_detected() -> None:
    sealed = encrypt_bytes(b"part two", KEY, part=2)
    assert b"".join(decrypt_stream([sealed], KEY, part=2)) == b"part two"
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([sealed], KEY, part=1))


def test_bad_header_detected() -> None:
    with pytest.raises(DecryptionError):
        b"".join(decrypt_stream([b"XXXX" + os.urandom(8 + 16)], KEY))


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 1), (0, 10 * SEGMENT), (SEGMENT - 1, SEGMENT + 1), (5 * SEGMENT + 3, 5 * SEGMENT + 1027),
     (10 * SEGMENT - 1, 10 * SEGMENT), (SEGMENT, 2 * SEGMENT)],
)  # fmt: skip
def test_range_of_single_stream_reads_only_its_segments(start: int, stop: int) -> None:
    plain = os.urandom(10 * SEGMENT)
    sealed = encrypt_bytes(plain, KEY)
    reads: list[tuple[int, int]] = []
    streams = streams_of([(0, len(sealed))])
    got = b"".join(read_plaintext(opener(sealed, reads), KEY, streams, start, stop))
    assert got == plain[start:stop]
    assert len(reads) <= 2
    touched = sum(b - a for a, b in reads)
    segments = (stop - 1) // SEGMENT - start // SEGMENT + 1
    assert touched <= HEADER + segments * SEALED


def test_range_across_parts() -> None:
    parts = [os.urandom(n) for n in (SEGMENT * 2 + 5, 7, 0, SEGMENT * 3)]
    sealed_parts = [encrypt_bytes(p, KEY, part=i + 1) for i, p in enumerate(parts)]
    sealed = b"".join(sealed_parts)
    plain = b"".join(parts)
    streams = streams_of([(i + 1, len(s)) for i, s in enumerate(sealed_parts)])
    for start, stop in [
        (0, len(plain)),
        (SEGMENT + 3, len(plain) - 5),
        (2 * SEGMENT + 4, 2 * SEGMENT + 9),
    ]:
        reads: list[tuple[int, int]] = []
        got = b"".join(read_plaintext(opener(sealed, reads), KEY, streams, start, stop))
        assert got == plain[start:stop]
        assert len(reads) <= 2


def test_parts_swapped_detected() -> None:
    one, two = encrypt_bytes(b"a" * 100, KEY, part=1), encrypt_bytes(b"b" * 100, KEY, part=2)
    streams = streams_of([(1, len(two)), (2, len(one))])
    swapped = two + one
    with pytest.raises(DecryptionError):
        b"".join(read_plaintext(opener(swapped, []), KEY, streams, 0, 200))
