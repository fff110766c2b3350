"""Checksums against published check values and botocore's own implementations."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from botocore.httpchecksum import (
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)

from boxdrive_wsgi.protocol.checksums import (
    ALGORITHMS,
    VerifyingReader,
    checksum_header,
    is_sha256_hex,
    new_hasher,
    parse_checksum_algorithm,
    parse_checksum_headers,
    parse_checksum_value,
    parse_content_md5,
    parse_trailer_declaration,
)
from boxdrive_wsgi.protocol.errors import S3Error

BOTO = {
    "CRC32": Crc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
}

# The standard "123456789" check values of each CRC (Rocksoft catalogue / NVMe spec).
CHECK = {"CRC32": 0xCBF43926, "CRC32C": 0xE3069283, "CRC64NVME": 0xAE8B14860A799888}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digest_of(algorithm: str, data: bytes) -> str:
    h = new_hasher(algorithm)
    h.update(data)
    return h.b64digest()


class Trickle(io.RawIOBase):
    """Returns at most ``step`` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int = 3) -> None:
        self._buf = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1, /) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        return self._buf.read(n)


@pytest.mark.parametrize("algorithm", sorted(CHECK))
def test_crc_check_values(algorithm):
    size = 8 if algorithm == "CRC64NVME" else 4
    assert digest_of(algorithm, b"123456789") == b64(CHECK[algorithm].to_bytes(size, "big"))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("data", [b"", b"a", b"hello world" * 1000, bytes(range(256)) * 77])
def test_matches_botocore_incrementally(algorithm, data):
    ours = new_hasher(algorithm)
    for i in range(0, len(data), 1000):
        ours.update(data[i : i + 1000])
    theirs = BOTO[algorithm]()
    theirs.update(data)
    assert ours.b64digest() == theirs.b64digest()


def test_md5_and_names():
    assert digest_of("md5", b"abc") == b64(hashlib.md5(b"abc").digest())
    assert checksum_header("crc64nvme") == "x-amz-checksum-crc64nvme"
    with pytest.raises(ValueError):
        new_hasher("CRC16")


def test_parse_content_md5():
    good = b64(hashlib.md5(b"x").digest())
    assert parse_content_md5(good) == hashlib.md5(b"x").digest()
    for bad in ["", "not base64!", b64(b"short"), hashlib.md5(b"x").hexdigest()]:
        with pytest.raises(S3Error) as e:
            parse_content_md5(bad)
        assert e.value.code == "InvalidDigest"


def test_parse_checksum_value():
    assert parse_checksum_value("crc32", "AAAAAA==") == "AAAAAA=="
    with pytest.raises(S3Error) as e:
        parse_checksum_value("CRC32", "AAAAAAAAAAA=")  # 8 bytes: a CRC64's length
    assert e.value.code == "InvalidRequest"
    assert e.value.message == "Value for x-amz-checksum-crc32 header is invalid."
    with pytest.raises(S3Error):
        parse_checksum_value("SHA256", "%%%")


def test_parse_checksum_headers():
    assert parse_checksum_headers({"content-type": "x"}) == {}
    value = digest_of("SHA1", b"x")
    assert parse_checksum_headers({"x-amz-checksum-sha1": value}) == {"SHA1": value}
    with pytest.raises(S3Error) as e:
        parse_checksum_headers(
            {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-crc32c": "AAAAAA=="}
        )
    assert "Multiple checksum Types" in e.value.message


def test_parse_algorithm_and_trailer():
    assert parse_checksum_algorithm("crc64nvme") == "CRC64NVME"
    for bad in ["MD5", "crc16", ""]:
        with pytest.raises(S3Error) as e:
            parse_checksum_algorithm(bad)
        assert e.value.code == "InvalidRequest"
    assert parse_trailer_declaration("x-amz-checksum-crc32c") == "CRC32C"
    assert parse_trailer_declaration("") is None
    with pytest.raises(S3Error):
        parse_trailer_declaration("x-amz-checksum-md5")
    with pytest.raises(S3Error):
        parse_trailer_declaration("x-amz-meta-foo")
    assert is_sha256_hex(hashlib.sha256(b"").hexdigest())
    assert not is_sha256_hex("UNSIGNED-PAYLOAD")


def drain(reader: VerifyingReader, n: int = 5) -> bytes:
    out = bytearray()
    while chunk := reader.read(n):
        out += chunk
    return bytes(out)


DATA = b"The quick brown fox jumps over the lazy dog" * 50


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_reader_passes_and_exposes_checksums(algorithm):
    reader = VerifyingReader(
        Trickle(DATA),
        content_md5=hashlib.md5(DATA).digest(),
        checksums={algorithm: digest_of(algorithm, DATA)},
        sha256_hex=hashlib.sha256(DATA).hexdigest(),
        algorithms=["CRC64NVME"],
    )
    assert drain(reader) == DATA
    assert reader.checksums[algorithm] == digest_of(algorithm, DATA)
    assert reader.checksums["CRC64NVME"] == digest_of("CRC64NVME", DATA)
    assert reader.md5_hex == hashlib.md5(DATA).hexdigest()
    assert reader.bytes_read == len(DATA)
    assert reader.read(10) == b""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_reader_checksum_mismatch_is_bad_digest(algorithm):
    reader = VerifyingReader(
        io.BytesIO(DATA), checksums={algorithm: digest_of(algorithm, b"other")}
    )
    with pytest.raises(S3Error) as e:
        drain(reader)
    assert e.value.code == "BadDigest"
    assert (
        e.value.message == f"The {algorithm} you specified did not match the calculated checksum."
    )
    assert reader.checksums == {}
    with pytest.raises(S3Error):  # a swallowed error never turns into a clean EOF
        reader.read(1)


def test_reader_content_md5_mismatch():
    reader = VerifyingReader(io.BytesIO(DATA), content_md5=hashlib.md5(b"x").digest())
    with pytest.raises(S3Error) as e:
        drain(reader)
    assert e.value.code == "BadDigest"
    assert "Content-MD5" in e.value.message


def test_reader_sha256_mismatch():
    wrong = hashlib.sha256(b"x").hexdigest()
    reader = VerifyingReader(io.BytesIO(DATA), sha256_hex=wrong.upper())
    with pytest.raises(S3Error) as e:
        drain(reader)
    assert e.value.code == "XAmzContentSHA256Mismatch"
    assert e.value.extra["ClientComputedContentSHA256"] == wrong
    assert e.value.extra["S3ComputedContentSHA256"] == hashlib.sha256(DATA).hexdigest()


def test_reader_raises_before_final_empty_read():
    reader = VerifyingReader(io.BytesIO(b"abc"), checksums={"CRC32": digest_of("CRC32", b"x")})
    assert reader.read(3) == b"abc"  # size unknown: the data itself is handed out ...
    with pytest.raises(S3Error):  # ... but EOF is never
        reader.read(3)


def test_reader_with_size_verifies_before_last_bytes():
    # A store that stops once it has ``size`` bytes never sees the last ones unverified.
    reader = VerifyingReader(
        io.BytesIO(b"abcdef"), checksums={"CRC32": digest_of("CRC32", b"x")}, size=6
    )
    assert reader.read(4) == b"abcd"
    with pytest.raises(S3Error) as e:
        reader.read(100)
    assert e.value.code == "BadDigest"


def test_reader_with_size_short_and_long_body():
    with pytest.raises(S3Error) as e:
        drain(VerifyingReader(io.BytesIO(b"abc"), size=4))
    assert e.value.code == "IncompleteBody"
    with pytest.raises(S3Error) as e:
        drain(VerifyingReader(io.BytesIO(b"abcde"), size=4))
    assert e.value.code == "IncompleteBody"
    reader = VerifyingReader(io.BytesIO(b""), size=0, algorithms=["CRC32"])
    assert reader.read(0) == b""
    assert reader.read() == b""
    assert reader.checksums == {"CRC32": "AAAAAA=="}


class FakeTrailers:
    def __init__(self, raw: bytes, trailers: dict[str, str]) -> None:
        self._raw = io.BytesIO(raw)
        self._pending = trailers
        self.trailers: dict[str, str] = {}

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        if not data:
            self.trailers = self._pending  # only known once EOF was reached
        return data


def test_reader_trailer_checksum():
    src = FakeTrailers(DATA, {"x-amz-checksum-crc32c": digest_of("CRC32C", DATA)})
    reader = VerifyingReader(src, trailer_algorithm="CRC32C", trailers=src)
    assert drain(reader) == DATA
    assert reader.checksums == {"CRC32C": digest_of("CRC32C", DATA)}

    src = FakeTrailers(DATA, {"x-amz-checksum-crc32c": digest_of("CRC32C", b"no")})
    with pytest.raises(S3Error) as e:
        drain(VerifyingReader(src, trailer_algorithm="CRC32C", trailers=src))
    assert e.value.code == "BadDigest"

    src = FakeTrailers(DATA, {"x-amz-checksum-crc32": digest_of("CRC32", DATA)})
    with pytest.raises(S3Error) as e:
        drain(VerifyingReader(src, trailer_algorithm="CRC32C", trailers=src))
    assert e.value.code == "MalformedTrailerError"

    src = FakeTrailers(DATA, {"x-amz-checksum-crc32c": "garbage"})
    with pytest.raises(S3Error) as e:
        drain(VerifyingReader(src, trailer_algorithm="CRC32C", trailers=src))
    assert e.value.code == "InvalidRequest"
