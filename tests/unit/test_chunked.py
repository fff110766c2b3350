"""aws-chunked decoding: AWS's published signed examples and botocore's own framing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, CrtCrc32cChecksum

from boxdrive_wsgi.auth.chunked import AwsChunkedReader, ChunkSigner
from boxdrive_wsgi.protocol.checksums import VerifyingReader
from boxdrive_wsgi.protocol.errors import S3Error

# -- AWS's examples (S3 API reference, "Transferring payload in multiple chunks" and
# "Signature calculations for trailing headers"): 64 KiB + 1 KiB of 'a', example keys.
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
CHUNK1 = b"a" * 65536
CHUNK2 = b"a" * 1024


@dataclass(frozen=True)
class Example:
    seed: str
    chunks: tuple[str, str, str]
    trailer: str = ""
    trailer_signature: str = ""


PAYLOAD_EXAMPLE = Example(
    seed="4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    chunks=(
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ),
)
TRAILER_EXAMPLE = Example(
    seed="106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
    chunks=(
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ),
    trailer="x-amz-checksum-crc32c:sOO8/Q==",
    trailer_signature="d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
)


def signing_key(secret: str = SECRET) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in ("20130524", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signer(seed: str, secret: str = SECRET) -> ChunkSigner:
    return ChunkSigner(signing_key(secret), seed, AMZ_DATE, SCOPE)


def signed_body(example: Example, *, eol: bytes = b"\r\n") -> bytes:
    sigs = example.chunks
    body = (
        b"10000;chunk-signature=" + sigs[0].encode() + eol + CHUNK1 + eol
        + b"400;chunk-signature=" + sigs[1].encode() + eol + CHUNK2 + eol
        + b"0;chunk-signature=" + sigs[2].encode() + eol
    )  # fmt: skip
    if example.trailer:
        body += example.trailer.encode() + eol
        body += b"x-amz-trailer-signature:" + example.trailer_signature.encode() + eol
    return body + eol


class Trickle(io.RawIOBase):
    def __init__(self, data: bytes, step: int) -> None:
        self._buf = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1, /) -> bytes:
        return self._buf.read(self._step if n < 0 else min(n, self._step))


def drain(reader: AwsChunkedReader | VerifyingReader, n: int = 10_000) -> bytes:
    out = bytearray()
    while chunk := reader.read(n):
        out += chunk
    return bytes(out)


def error_code(reader: AwsChunkedReader | VerifyingReader) -> str:
    with pytest.raises(S3Error) as e:
        drain(reader)
    with pytest.raises(S3Error):  # and it sticks: no clean EOF after a failure
        reader.read(1)
    return e.value.code


@pytest.mark.parametrize("step", [1 << 20, 70_000, 4096, 7, 1])
def test_aws_signed_example(step):
    body = signed_body(PAYLOAD_EXAMPLE)
    assert len(body) == 66824  # the example's Content-Length
    reader = AwsChunkedReader(
        Trickle(body, step), signer=signer(PAYLOAD_EXAMPLE.seed), decoded_length=66560
    )
    assert drain(reader, 5000 if step > 1 else 70_000) == CHUNK1 + CHUNK2
    assert reader.trailers == {}
    assert reader.decoded_bytes == 66560


def test_aws_signed_example_signatures_are_computed():
    s = signer(PAYLOAD_EXAMPLE.seed)
    for data, expected in zip([CHUNK1, CHUNK2, b""], PAYLOAD_EXAMPLE.chunks, strict=True):
        assert s.chunk_signature(hashlib.sha256(data).hexdigest()) == expected
        s.verify_chunk(hashlib.sha256(data).hexdigest(), expected)


def test_aws_signed_trailer_example():
    reader = AwsChunkedReader(
        io.BytesIO(signed_body(TRAILER_EXAMPLE)),
        signer=signer(TRAILER_EXAMPLE.seed),
        expect_trailer=True,
        decoded_length=66560,
    )
    verified = VerifyingReader(reader, trailer_algorithm="CRC32C", trailers=reader)
    assert drain(verified) == CHUNK1 + CHUNK2
    assert reader.trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    assert verified.checksums == {"CRC32C": "sOO8/Q=="}


def test_read_all_at_once_and_bare_lf():
    body = signed_body(PAYLOAD_EXAMPLE, eol=b"\n")
    reader = AwsChunkedReader(io.BytesIO(body), signer=signer(PAYLOAD_EXAMPLE.seed))
    assert reader.read() == CHUNK1 + CHUNK2
    assert reader.read() == b""


def _tamper(body: bytes, old: bytes, new: bytes) -> bytes:
    assert old in body
    return body.replace(old, new, 1)


SIGS = [s.encode() for s in PAYLOAD_EXAMPLE.chunks]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: _tamper(b, b"a\r\n400;", b"b\r\n400;"), id="data byte"),
        pytest.param(lambda b: _tamper(b, SIGS[1], b"0" * 64), id="chunk signature"),
        pytest.param(lambda b: _tamper(b, SIGS[2], SIGS[1]), id="final signature"),
        pytest.param(lambda b: _tamper(b, b";chunk-signature=" + SIGS[1], b""), id="sig missing"),
        pytest.param(
            lambda b: (
                b"10000;chunk-signature=" + SIGS[0] + b"\r\n" + CHUNK1 + b"\r\n"
                b"0;chunk-signature=" + SIGS[2] + b"\r\n\r\n"
            ),
            id="chunk dropped",
        ),
    ],
)
def test_signed_tampering_is_signature_does_not_match(mutate):
    body = mutate(signed_body(PAYLOAD_EXAMPLE))
    reader = AwsChunkedReader(io.BytesIO(body), signer=signer(PAYLOAD_EXAMPLE.seed))
    assert error_code(reader) == "SignatureDoesNotMatch"


def test_wrong_secret_or_seed():
    body = signed_body(PAYLOAD_EXAMPLE)
    bad = AwsChunkedReader(io.BytesIO(body), signer=signer(PAYLOAD_EXAMPLE.seed, "other"))
    assert error_code(bad) == "SignatureDoesNotMatch"
    bad = AwsChunkedReader(io.BytesIO(body), signer=signer(TRAILER_EXAMPLE.seed))
    assert error_code(bad) == "SignatureDoesNotMatch"


def test_last_data_bytes_only_after_final_signature():
    # A store that stops after x-amz-decoded-content-length bytes must still be safe.
    body = _tamper(signed_body(PAYLOAD_EXAMPLE), SIGS[2], b"f" * 64)
    reader = AwsChunkedReader(io.BytesIO(body), signer=signer(PAYLOAD_EXAMPLE.seed))
    got = 0
    with pytest.raises(S3Error) as e:
        while True:
            got += len(reader.read(min(1000, 66560 - got) or 1))
    assert e.value.code == "SignatureDoesNotMatch"
    assert got < 66560


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: _tamper(b, b"sOO8/Q==", b"AAAAAA=="), id="checksum changed"),
        pytest.param(
            lambda b: _tamper(b, b"sOO8/Q==\r\n", b"sOO8/Q==\r\nx-amz-meta-a:1\r\n"), id="added"
        ),
        pytest.param(lambda b: _tamper(b, b"x-amz-checksum-crc32c:sOO8/Q==\r\n", b""), id="gone"),
        pytest.param(
            lambda b: _tamper(b, TRAILER_EXAMPLE.trailer_signature.encode(), b"0" * 64),
            id="signature changed",
        ),
        pytest.param(
            lambda b: b[: b.index(b"x-amz-trailer-signature")] + b"\r\n", id="signature missing"
        ),
    ],
)
def test_signed_trailer_tampering(mutate):
    body = mutate(signed_body(TRAILER_EXAMPLE))
    reader = AwsChunkedReader(
        io.BytesIO(body), signer=signer(TRAILER_EXAMPLE.seed), expect_trailer=True
    )
    assert error_code(reader) == "SignatureDoesNotMatch"


def test_trailer_on_signed_body_without_trailer_is_rejected():
    body = signed_body(PAYLOAD_EXAMPLE)[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    reader = AwsChunkedReader(io.BytesIO(body), signer=signer(PAYLOAD_EXAMPLE.seed))
    assert error_code(reader) == "MalformedTrailerError"


# -- STREAMING-UNSIGNED-PAYLOAD-TRAILER, framed by botocore itself --------------------

DATA = bytes(range(256)) * 9000  # ~2.2 MiB: several of botocore's 1 MiB chunks


def botocore_body(data: bytes, checksum_cls=Crc32Checksum, name="x-amz-checksum-crc32") -> bytes:
    framed: bytes = AwsChunkedWrapper(io.BytesIO(data), checksum_cls, name).read()
    return framed


@pytest.mark.parametrize("step", [1 << 20, 65536, 1000, 13])
def test_botocore_unsigned_trailer(step):
    body = botocore_body(DATA)
    reader = AwsChunkedReader(Trickle(body, step), expect_trailer=True, decoded_length=len(DATA))
    verified = VerifyingReader(reader, trailer_algorithm="CRC32", trailers=reader, size=len(DATA))
    assert drain(verified, 100_000) == DATA
    c = Crc32Checksum()
    c.update(DATA)
    assert reader.trailers == {"x-amz-checksum-crc32": c.b64digest()}
    assert verified.checksums == {"CRC32": c.b64digest()}


@pytest.mark.parametrize("data", [b"", b"x"])
def test_botocore_unsigned_trailer_tiny(data):
    body = botocore_body(data, CrtCrc32cChecksum, "x-amz-checksum-crc32c")
    reader = AwsChunkedReader(io.BytesIO(body), expect_trailer=True, decoded_length=len(data))
    verified = VerifyingReader(reader, trailer_algorithm="CRC32C", trailers=reader)
    assert drain(verified) == data


def test_botocore_unsigned_trailer_corrupted_data():
    body = bytearray(botocore_body(DATA))
    body[500_000] ^= 1  # flip a bit inside the first chunk's data
    reader = AwsChunkedReader(io.BytesIO(bytes(body)), expect_trailer=True)
    assert error_code(VerifyingReader(reader, trailer_algorithm="CRC32", trailers=reader)) == (
        "BadDigest"
    )


def test_trailer_variants_tolerated():
    crc = base64.b64encode(b"\x00\x00\x00\x00").decode()
    for ending in [b"\r\n\r\n", b"\n\r\n", b"\r\n", b"\n\r\n\r\n", b"\n\n"]:
        body = b"0\r\nx-amz-checksum-crc32:" + crc.encode() + ending
        reader = AwsChunkedReader(io.BytesIO(body), expect_trailer=True, decoded_length=0)
        assert reader.read(10) == b""
        assert reader.trailers == {"x-amz-checksum-crc32": crc}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"5\r\nabc", "IncompleteBody"),  # cut inside data
        (b"5\r\nabcde\r\n", "IncompleteBody"),  # no final chunk
        (b"5\r\nabcde", "IncompleteBody"),
        (b"", "IncompleteBody"),
        (b"zz\r\nabc\r\n0\r\n\r\n", "InvalidRequest"),
        (b"-1\r\n0\r\n\r\n", "InvalidRequest"),
        (b"0x3\r\nabc\r\n0\r\n\r\n", "InvalidRequest"),
        (b"3\r\nabcdef\r\n0\r\n\r\n", "InvalidRequest"),  # data longer than declared
        (b"3" + b" " * 5000 + b"\r\n", "InvalidRequest"),  # header line too long
        (b"0\r\n\r\ngarbage", "InvalidRequest"),
        (b"0\r\nno-colon\r\n\r\n", "MalformedTrailerError"),
        (b"3\r\nabc\r\n3\r\nabc\r\n0\r\n\r\n", "InvalidChunkSizeError"),
    ],
)
def test_malformed_framing(body, code):
    assert error_code(AwsChunkedReader(io.BytesIO(body), expect_trailer=True)) == code


def test_small_chunks_allowed_when_disabled_and_last_chunk_small():
    body = b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
    assert drain(AwsChunkedReader(io.BytesIO(body), min_chunk_size=0)) == b"abcdef"
    body = b"2000\r\n" + b"x" * 0x2000 + b"\r\n3\r\ndef\r\n0\r\n\r\n"
    assert drain(AwsChunkedReader(io.BytesIO(body))) == b"x" * 0x2000 + b"def"


def test_invalid_chunk_size_details():
    body = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    with pytest.raises(S3Error) as e:
        drain(AwsChunkedReader(io.BytesIO(body)))
    assert e.value.extra == {"Chunk": "2", "BadChunkSize": "3"}


def test_decoded_length_mismatch():
    body = botocore_body(b"hello")
    for wrong in (4, 6):
        reader = AwsChunkedReader(io.BytesIO(body), expect_trailer=True, decoded_length=wrong)
        assert error_code(reader) == "IncompleteBody"


def test_bounded_memory_on_large_chunk():
    # One 8 MiB chunk, read in 64 KiB pieces: the reader never buffers much of it.
    size = 8 << 20
    header = b"%x\r\n" % size

    class Source(io.RawIOBase):
        def __init__(self) -> None:
            self.pos = 0
            self.max_request = 0
            self.total = len(header) + size + len(b"\r\n0\r\n\r\n")

        def read(self, n: int = -1, /) -> bytes:
            self.max_request = max(self.max_request, n)
            end = min(self.total, self.pos + n)
            out = bytearray()
            for i in range(self.pos, end):  # synthesize lazily, no 8 MiB literal
                if i < len(header):
                    out.append(header[i])
                elif i < len(header) + size:
                    out.append(0x61)
                else:
                    out.append(b"\r\n0\r\n\r\n"[i - len(header) - size])
            self.pos = end
            return bytes(out)

    src = Source()
    reader = AwsChunkedReader(src, decoded_length=size)
    total = 0
    while piece := reader.read(65536):
        assert len(piece) <= 65536
        total += len(piece)
        assert len(reader._buf) <= 65536
    assert total == size
    assert src.max_request <= 65536
