"""A streaming decoder for ``Content-Encoding: aws-chunked`` request bodies.

Wire format (x-amz-content-sha256 names the variant)::

    STREAMING-AWS4-HMAC-SHA256-PAYLOAD
        <hex-size>;chunk-signature=<sig>\\r\\n <data> \\r\\n ...
        0;chunk-signature=<sig>\\r\\n \\r\\n
    STREAMING-UNSIGNED-PAYLOAD-TRAILER
        <hex-size>\\r\\n <data> \\r\\n  ...  0\\r\\n <name>:<value>\\r\\n ... \\r\\n
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
        signed chunks, then trailers and x-amz-trailer-signature:<sig>\\r\\n \\r\\n

Memory stays bounded: chunk data streams through, only header lines are buffered.
The reader verifies a chunk's signature, and looks ahead to the next chunk header,
before it hands out the chunk's last byte; when that next chunk is the final one it
also verifies the final signature, trailers and decoded length. So the last data byte
of the body is only ever returned after the whole body verified, and the empty read
that means EOF never follows a failure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ..protocol.errors import S3Error
from ..stores.streams import Readable

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TRAILER_SIGNATURE = "x-amz-trailer-signature"
MIN_CHUNK_SIZE = 8192  # S3: only the last chunk may be smaller

_READ_SIZE = 64 * 1024
_MAX_LINE = 4096  # a chunk header or trailer line; real ones are < 200 bytes
_MAX_TRAILERS = 32
_HEX = "0123456789abcdefABCDEF"
_MAX_SLACK = 64  # stray CR/LF some clients send after the terminating empty line


def _sig_mismatch(message: str | None = None) -> S3Error:
    return S3Error("SignatureDoesNotMatch", message)


def _incomplete() -> S3Error:
    return S3Error("IncompleteBody", "The request body terminated unexpectedly")


class ChunkSigner:
    """Computes the chained signatures of aws-chunked chunks and trailers.

    Built from the seed request's results (``sigv4.chunk_signer`` does that): the
    signing key, the seed signature from the Authorization header, the request's
    x-amz-date and credential scope. Each verified signature becomes the previous
    signature of the next one, so chunks cannot be reordered, dropped or added.
    """

    def __init__(self, signing_key: bytes, seed_signature: str, amz_date: str, scope: str) -> None:
        self._key = signing_key
        self.previous = seed_signature.lower()
        self._amz_date = amz_date
        self._scope = scope

    def _sign(self, algorithm: str, payload_hash: str) -> str:
        string_to_sign = "\n".join(
            (algorithm, self._amz_date, self._scope, self.previous, payload_hash)
        )
        return hmac.new(self._key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def chunk_signature(self, chunk_sha256_hex: str) -> str:
        """The expected signature of a chunk whose data has this SHA-256 (no chaining)."""
        return self._sign("AWS4-HMAC-SHA256-PAYLOAD", EMPTY_SHA256 + "\n" + chunk_sha256_hex)

    def trailer_signature(self, canonical_trailers: bytes) -> str:
        """The expected x-amz-trailer-signature for ``name:value\\n`` lines."""
        return self._sign(
            "AWS4-HMAC-SHA256-TRAILER", hashlib.sha256(canonical_trailers).hexdigest()
        )

    def verify_chunk(self, chunk_sha256_hex: str, provided: str) -> None:
        expected = self.chunk_signature(chunk_sha256_hex)
        if not hmac.compare_digest(expected, provided.lower()):
            raise _sig_mismatch()
        self.previous = expected

    def verify_trailer(self, canonical_trailers: bytes, provided: str) -> None:
        expected = self.trailer_signature(canonical_trailers)
        if not hmac.compare_digest(expected, provided.lower()):
            raise _sig_mismatch()
        self.previous = expected


class AwsChunkedReader:
    """Decode an aws-chunked body from ``raw`` (anything with ``read(n)``).

    - ``signer``: verify ``chunk-signature`` extensions (signed variants); None for
      ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``.
    - ``expect_trailer``: the variant carries trailers (``...-TRAILER``); with a signer,
      ``x-amz-trailer-signature`` is then required and verified.
    - ``decoded_length``: x-amz-decoded-content-length; a different total -> IncompleteBody.
    - ``min_chunk_size``: S3 rejects non-final chunks below 8 KiB; 0 turns that off.

    After EOF, ``trailers`` maps lower-case trailer names to values (without the
    trailer signature).
    """

    def __init__(
        self,
        raw: Readable,
        *,
        signer: ChunkSigner | None = None,
        expect_trailer: bool = False,
        decoded_length: int | None = None,
        min_chunk_size: int = MIN_CHUNK_SIZE,
    ) -> None:
        self._raw = raw
        self._signer = signer
        self._expect_trailer = expect_trailer
        self._decoded_length = decoded_length
        self._min_chunk_size = min_chunk_size
        self._buf = bytearray()
        self._raw_eof = False
        self._started = False
        self._done = False
        self._failed: S3Error | None = None
        self._chunk_left = 0
        self._chunk_size = 0
        self._chunk_index = 0
        self._chunk_sig = ""
        self._chunk_hash = hashlib.sha256()
        self._decoded = 0
        self._trailers: dict[str, str] = {}

    @property
    def trailers(self) -> Mapping[str, str]:
        return self._trailers

    @property
    def decoded_bytes(self) -> int:
        return self._decoded

    def read(self, n: int = -1, /) -> bytes:
        if self._failed is not None:
            raise self._failed  # never let a caller that swallowed an error see EOF
        if self._done or n == 0:
            return b""
        try:
            if n > 0:
                return self._read(n)
            # read() / read(-1) means everything, as for files; callers that want
            # bounded memory pass a size (and then get at most one chunk's rest).
            out = bytearray()
            while not self._done:
                out += self._read(_READ_SIZE)
            return bytes(out)
        except S3Error as exc:
            self._failed = exc
            raise

    def _read(self, n: int) -> bytes:
        if not self._started:
            self._started = True
            self._next_chunk()
            if self._done:
                return b""
        data = self._take(min(n, self._chunk_left))
        self._chunk_left -= len(data)
        self._decoded += len(data)
        if self._decoded_length is not None and self._decoded > self._decoded_length:
            raise _incomplete()
        if self._signer is not None:
            self._chunk_hash.update(data)
        if self._chunk_left == 0:
            self._end_chunk()
            self._next_chunk()
        return data

    # -- raw input ------------------------------------------------------------------

    def _fill(self) -> bool:
        if self._raw_eof:
            return False
        data = self._raw.read(_READ_SIZE)
        if not data:
            self._raw_eof = True
            return False
        self._buf += data
        return True

    def _take(self, n: int) -> bytes:
        """Up to ``n`` (>= 1) bytes of chunk data; EOF here means a truncated body."""
        if not self._buf:
            # Nothing buffered: read straight from the source, no copy.
            data = b"" if self._raw_eof else self._raw.read(n)
            if not data:
                raise _incomplete()
            return data
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _readline(self, *, eof_ok: bool = False) -> str | None:
        """One line without its ending; both ``\\r\\n`` and a bare ``\\n`` end a line."""
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            if len(self._buf) > _MAX_LINE:
                raise S3Error("InvalidRequest", "Malformed aws-chunked encoding: line too long")
            start = len(self._buf)
            if not self._fill():
                if eof_ok and not self._buf:
                    return None
                raise _incomplete()
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        try:
            return line.rstrip(b"\r").decode("ascii")
        except UnicodeDecodeError:
            raise S3Error("InvalidRequest", "Malformed aws-chunked encoding") from None

    # -- framing ----------------------------------------------------------------------

    def _next_chunk(self) -> None:
        line = self._readline()
        assert line is not None
        size_text, _, extensions = line.partition(";")
        try:
            # int(..., 16) alone would also take "-1", " 1", "0x1" and "1_0".
            if not 0 < len(size_text) <= 16 or size_text.strip(_HEX):
                raise ValueError(size_text)
            size = int(size_text, 16)
        except ValueError:
            raise S3Error(
                "InvalidRequest", "Malformed aws-chunked encoding: invalid chunk size"
            ) from None
        self._chunk_index += 1
        if size > 0 and 0 < self._chunk_size < self._min_chunk_size:
            # The previous chunk was small although it was not the last one.
            raise S3Error(
                "InvalidChunkSizeError",
                extra={"Chunk": str(self._chunk_index), "BadChunkSize": str(self._chunk_size)},
            )
        self._chunk_size = size
        self._chunk_left = size
        self._chunk_sig = ""
        if self._signer is not None:
            self._chunk_sig = self._chunk_signature(extensions)
            self._chunk_hash = hashlib.sha256()
        if size == 0:
            self._finish()

    @staticmethod
    def _chunk_signature(extensions: str) -> str:
        for extension in extensions.split(";"):
            name, _, value = extension.partition("=")
            if name.strip().lower() == "chunk-signature":
                return value.strip()
        raise _sig_mismatch("The chunk is missing its chunk-signature.")

    def _end_chunk(self) -> None:
        line = self._readline()
        if line:
            raise S3Error("InvalidRequest", "Malformed aws-chunked encoding: missing CRLF")
        if self._signer is not None:
            self._signer.verify_chunk(self._chunk_hash.hexdigest(), self._chunk_sig)

    def _finish(self) -> None:
        """After the 0-length chunk header: final signature, trailers, length check."""
        if self._signer is not None:
            self._signer.verify_chunk(EMPTY_SHA256, self._chunk_sig)
        trailer_signature: str | None = None
        canonical = bytearray()
        while (line := self._readline(eof_ok=True)) is not None and line:
            name, sep, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if not sep or not name or len(self._trailers) >= _MAX_TRAILERS:
                raise S3Error("MalformedTrailerError")
            if self._signer is not None and not self._expect_trailer:
                raise S3Error("MalformedTrailerError")  # nothing signs these: injected
            if name == TRAILER_SIGNATURE:
                trailer_signature = value
                continue
            if trailer_signature is not None:
                raise S3Error("MalformedTrailerError")  # the signature comes last
            self._trailers[name] = value
            canonical += f"{name}:{value}\n".encode()
        if self._signer is not None and self._expect_trailer:
            if trailer_signature is None:
                raise _sig_mismatch("The trailer is missing its x-amz-trailer-signature.")
            self._signer.verify_trailer(bytes(canonical), trailer_signature)
        self._drain()
        if self._decoded_length is not None and self._decoded != self._decoded_length:
            raise _incomplete()
        self._done = True

    def _drain(self) -> None:
        # Tolerate the stray CR/LF some SDKs add; anything else after the end is garbage.
        slack = len(self._buf)
        while slack <= _MAX_SLACK and self._fill():
            slack = len(self._buf)
        if slack > _MAX_SLACK or self._buf.strip(b"\r\n"):
            raise S3Error("InvalidRequest", "Malformed aws-chunked encoding: data after the end")
        self._buf.clear()
