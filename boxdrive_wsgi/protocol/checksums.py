"""S3 integrity checks: Content-MD5, flexible checksums (x-amz-checksum-*) and the
x-amz-content-sha256 payload hash, as pure hashers and one verifying reader.

No IO here: ``VerifyingReader`` wraps any object with ``read(n)`` (``wsgi.input``,
an aws-chunked decoder, ...). It raises *before* handing out the final empty
read, so a store that reads until EOF never commits a body that failed a check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

# awscrt ships no type information; its crc functions are what botocore uses.
from awscrt import checksums as _crt  # type: ignore[import-untyped]

from ..stores.streams import Readable
from .errors import S3Error

#: The flexible-checksum algorithms S3 accepts, in S3's order.
ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CHECKSUM_HEADER_PREFIX = "x-amz-checksum-"

_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "MD5": 16}


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...
    def b64digest(self) -> str: ...


class _CrcHasher:
    """A running CRC; ``fn(data, previous)`` is zlib's or awscrt's signature."""

    def __init__(self, fn: Callable[[bytes, int], int], size: int) -> None:
        self._fn = fn
        self._size = size
        self._crc = 0

    def update(self, data: bytes, /) -> None:
        self._crc = self._fn(data, self._crc)

    def digest(self) -> bytes:
        # S3 transmits CRCs as big-endian bytes, base64-encoded.
        return self._crc.to_bytes(self._size, "big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _HashlibHasher:
    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes, /) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def b64digest(self) -> str:
        return base64.b64encode(self._h.digest()).decode("ascii")


def normalize_algorithm(algorithm: str) -> str:
    """``"crc32"``, ``"x-amz-checksum-crc32"`` -> ``"CRC32"``; unknown -> ValueError."""
    name = algorithm.strip().upper()
    if name.startswith(CHECKSUM_HEADER_PREFIX.upper()):
        name = name[len(CHECKSUM_HEADER_PREFIX) :]
    if name not in _DIGEST_SIZES:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return name


def new_hasher(algorithm: str) -> Hasher:
    """A fresh hasher for one of ``ALGORITHMS`` or ``"MD5"`` (any case)."""
    name = normalize_algorithm(algorithm)
    if name == "CRC32":
        return _CrcHasher(zlib.crc32, 4)
    if name == "CRC32C":
        return _CrcHasher(_crt.crc32c, 4)
    if name == "CRC64NVME":
        return _CrcHasher(_crt.crc64nvme, 8)
    return _HashlibHasher(name.lower())


def checksum_header(algorithm: str) -> str:
    """``"CRC32"`` -> ``"x-amz-checksum-crc32"``."""
    return CHECKSUM_HEADER_PREFIX + normalize_algorithm(algorithm).lower()


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_content_md5(value: str) -> bytes:
    """The 16 raw bytes of a Content-MD5 header; anything else -> InvalidDigest."""
    raw = _b64decode(value)
    if raw is None or len(raw) != 16:
        raise S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.")
    return raw


def parse_checksum_value(algorithm: str, value: str) -> str:
    """Validate an x-amz-checksum-* value (base64 of the right digest size)."""
    name = normalize_algorithm(algorithm)
    raw = _b64decode(value)
    if raw is None or len(raw) != _DIGEST_SIZES[name]:
        raise S3Error("InvalidRequest", f"Value for {checksum_header(name)} header is invalid.")
    return value.strip()


def parse_checksum_algorithm(value: str) -> str:
    """Validate x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm."""
    try:
        name = normalize_algorithm(value)
    except ValueError:
        name = ""
    if name not in ALGORITHMS:
        raise S3Error(
            "InvalidRequest",
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
        )
    return name


def parse_checksum_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``{algorithm: b64 value}`` from x-amz-checksum-<alg> headers (at most one).

    ``headers`` must have lower-case keys (or be case-insensitive, like Werkzeug's).
    """
    found: dict[str, str] = {}
    for algorithm in ALGORITHMS:
        value = headers.get(checksum_header(algorithm))
        if value is not None:
            found[algorithm] = parse_checksum_value(algorithm, value)
    if len(found) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    return found


def parse_trailer_declaration(value: str) -> str | None:
    """The algorithm an ``x-amz-trailer`` header announces, or None for no checksum."""
    name = value.strip().lower()
    if not name:
        return None
    if not name.startswith(CHECKSUM_HEADER_PREFIX):
        raise S3Error("InvalidRequest", f"Unsupported trailer header: {value.strip()}")
    try:
        algorithm = normalize_algorithm(name)
    except ValueError:
        algorithm = ""
    if algorithm not in ALGORITHMS:
        raise S3Error(
            "InvalidRequest", "The value specified in the x-amz-trailer header is not supported"
        )
    return algorithm


def is_sha256_hex(value: str) -> bool:
    """x-amz-content-sha256 is either a token (UNSIGNED-PAYLOAD, STREAMING-...) or hex."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


class TrailerSource(Protocol):
    """Something that knows the trailing headers once it reached EOF (AwsChunkedReader)."""

    @property
    def trailers(self) -> Mapping[str, str]: ...


class VerifyingReader:
    """Wrap ``raw`` and verify what flows through it.

    - ``content_md5``: the 16 raw bytes of Content-MD5 (``parse_content_md5``).
    - ``checksums``: expected ``{algorithm: b64}`` (``parse_checksum_headers``).
    - ``sha256_hex``: the x-amz-content-sha256 value when it is a real hash.
    - ``trailer_algorithm`` + ``trailers``: the algorithm ``x-amz-trailer`` announced, whose
      value ``trailers.trailers`` holds once ``raw`` reached EOF (aws-chunked bodies).
    - ``algorithms``: extra algorithms to compute (e.g. to store a default CRC64NVME).
    - ``size``: the expected length; when reached, EOF is probed and everything verified
      before the last bytes are returned, so a store that stops at ``size`` is safe too.

    After EOF, ``checksums`` maps each computed algorithm to its b64 value.
    """

    def __init__(
        self,
        raw: Readable,
        *,
        content_md5: bytes | None = None,
        checksums: Mapping[str, str] | None = None,
        sha256_hex: str | None = None,
        trailer_algorithm: str | None = None,
        trailers: TrailerSource | None = None,
        algorithms: Iterable[str] = (),
        size: int | None = None,
    ) -> None:
        self._raw = raw
        self._content_md5 = content_md5
        self._expected = {normalize_algorithm(a): v for a, v in (checksums or {}).items()}
        self._sha256_hex = sha256_hex.lower() if sha256_hex else None
        self._trailer_algorithm = (
            normalize_algorithm(trailer_algorithm) if trailer_algorithm else None
        )
        self._trailers = trailers
        self._size = size
        names = set(self._expected) | {normalize_algorithm(a) for a in algorithms}
        if self._trailer_algorithm:
            names.add(self._trailer_algorithm)
        if content_md5 is not None:
            names.add("MD5")
        if self._sha256_hex is not None:
            names.add("SHA256")
        self._hashers: dict[str, Hasher] = {n: new_hasher(n) for n in sorted(names)}
        self._count = 0
        self._done = False
        self._failed: S3Error | None = None
        self.checksums: dict[str, str] = {}

    @property
    def bytes_read(self) -> int:
        return self._count

    def read(self, n: int = -1, /) -> bytes:
        if self._failed is not None:
            # A caller that swallowed the error must never see a clean EOF afterwards.
            raise self._failed
        if self._done or n == 0:
            return b""
        if self._size is not None:
            # Never ask beyond the announced size: the excess is detected by the EOF probe.
            left = self._size - self._count
            n = left if n < 0 else min(n, left)
        data = self._raw.read(n) if n != 0 else b""  # n == 0 only for an empty body
        if data:
            self._count += len(data)
            for hasher in self._hashers.values():
                hasher.update(data)
            if self._size is None or self._count < self._size:
                return data
        elif self._size is not None and self._count < self._size:
            raise S3Error("IncompleteBody")
        if self._size is not None and self._raw.read(1):
            # At the announced size the source must end; probing here also drives an
            # aws-chunked source through its final chunk and trailers before we verify.
            raise S3Error("IncompleteBody", "The request body is longer than announced.")
        try:
            self._finish()
        except S3Error as exc:
            self._failed = exc
            raise
        return data

    def _finish(self) -> None:
        self._done = True
        if self._trailer_algorithm and self._trailer_algorithm not in self._expected:
            value = (self._trailers.trailers if self._trailers else {}).get(
                checksum_header(self._trailer_algorithm)
            )
            if value is None:
                raise S3Error(
                    "MalformedTrailerError",
                    extra={"TrailerHeader": checksum_header(self._trailer_algorithm)},
                )
            self._expected[self._trailer_algorithm] = parse_checksum_value(
                self._trailer_algorithm, value
            )
        if self._content_md5 is not None and self._hashers["MD5"].digest() != self._content_md5:
            raise S3Error(
                "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
        for algorithm, expected in self._expected.items():
            if self._hashers[algorithm].b64digest() != expected:
                raise S3Error(
                    "BadDigest",
                    f"The {algorithm} you specified did not match the calculated checksum.",
                )
        if self._sha256_hex is not None:
            computed = self._hashers["SHA256"].digest().hex()
            if computed != self._sha256_hex:
                raise S3Error(
                    "XAmzContentSHA256Mismatch",
                    extra={
                        "ClientComputedContentSHA256": self._sha256_hex,
                        "S3ComputedContentSHA256": computed,
                    },
                )
        self.checksums = {
            name: h.b64digest() for name, h in self._hashers.items() if name in ALGORITHMS
        }

    @property
    def md5_hex(self) -> str | None:
        """The MD5 computed, when Content-MD5 was checked (the store computes the ETag)."""
        hasher = self._hashers.get("MD5")
        return hasher.digest().hex() if hasher and self._done else None
