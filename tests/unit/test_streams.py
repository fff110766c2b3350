"""IterReader: the one reader over an iterator of chunks."""

from __future__ import annotations

import random
import time

import pytest

from boxdrive_wsgi.stores.streams import IterReader


@pytest.mark.parametrize("seed", range(20))
def test_reads_of_any_size_give_the_bytes_in_order(seed: int) -> None:
    rng = random.Random(seed)
    chunks = [rng.randbytes(rng.choice([0, 1, 7, 100, 4096])) for _ in range(30)]
    data = b"".join(chunks)
    reader = IterReader(iter(chunks))
    out = bytearray()
    while True:
        size = rng.choice([1, 3, 64, 5000, -1]) if rng.random() < 0.9 else 0
        piece = reader.read(size)
        if size > 0:
            remaining = len(data) - len(out)
            assert len(piece) == min(size, remaining)  # full reads until the end
        out += piece
        if size != 0 and not piece:
            break
    assert bytes(out) == data
    assert reader.read(10) == b"" and reader.read() == b""


def test_empty_chunks_are_not_the_end() -> None:
    reader = IterReader([b"", b"ab", b"", b"", b"c"])
    assert reader.read(3) == b"abc"
    assert reader.read(1) == b""


def test_small_reads_over_a_large_chunk_are_linear() -> None:
    size = 400_000
    reader = IterReader([bytes(size)])
    started = time.monotonic()
    total = sum(len(reader.read(1)) for _ in range(size))
    # A reader re-buffering the rest of the chunk on every read copies ~size**2/2 bytes
    # (80 GB here, minutes); a linear one takes well under a second.
    assert total == size and time.monotonic() - started < 10
