"""Checksums of multipart objects, as S3 computes them. Pure functions, no IO.

An upload is created with an algorithm and a checksum type:

- ``COMPOSITE`` (CRC32, CRC32C, SHA1, SHA256; the default but for CRC64NVME): the
  object's checksum is the algorithm over the concatenated raw part checksums, written
  ``<base64>-<number of parts>``.
- ``FULL_OBJECT`` (CRC32, CRC32C, CRC64NVME; the default for CRC64NVME): the checksum of
  the whole content, combined from the part CRCs and sizes without reading a byte
  (awscrt's CRC combine, what the AWS SDKs use).

``completion_checksum`` checks a CompleteMultipartUpload against the parts the store
is composing and returns what the object records.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# awscrt ships no type information; its CRC combine is what the AWS SDKs use.
from awscrt import checksums as _crt  # type: ignore[import-untyped]

from ..stores.base import PartInfo
from .checksums import ALGORITHMS, checksum_header, new_hasher, parse_checksum_value
from .errors import S3Error

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
CHECKSUM_TYPES = (COMPOSITE, FULL_OBJECT)
TYPE_HEADER = "x-amz-checksum-type"
#: Algorithms that have each type (S3: SHA has no full-object form, CRC64NVME no composite).
TYPES_OF: Mapping[str, tuple[str, ...]] = {
    "CRC32": (COMPOSITE, FULL_OBJECT),
    "CRC32C": (COMPOSITE, FULL_OBJECT),
    "CRC64NVME": (FULL_OBJECT,),
    "SHA1": (COMPOSITE,),
    "SHA256": (COMPOSITE,),
}
_CRC_COMBINE: Mapping[str, tuple[Callable[[int, int, int], int], int]] = {
    "CRC32": (_crt.combine_crc32, 4),
    "CRC32C": (_crt.combine_crc32c, 4),
    "CRC64NVME": (_crt.combine_crc64nvme, 8),
}


def upload_checksum(
    algorithm: str | None, checksum_type: str | None
) -> tuple[str | None, str | None]:
    """Validate CreateMultipartUpload's algorithm (already normalized) and
    ``x-amz-checksum-type``; return (algorithm, type) with S3's default type."""
    if checksum_type is not None:
        checksum_type = checksum_type.strip().upper()
        if checksum_type not in CHECKSUM_TYPES:
            raise S3Error("InvalidRequest", f"Value for {TYPE_HEADER} header is invalid.")
        if algorithm is None:
            raise S3Error(
                "InvalidRequest",
                f"The {TYPE_HEADER} header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
    if algorithm is None:
        return None, None
    if checksum_type is None:
        return algorithm, TYPES_OF[algorithm][0]
    if checksum_type not in TYPES_OF[algorithm]:
        raise S3Error(
            "InvalidRequest",
            f"The {checksum_type} checksum type cannot be used with the "
            f"{algorithm.lower()} checksum algorithm.",
        )
    return algorithm, checksum_type


def composite(algorithm: str, part_values: Sequence[str]) -> str:
    """``<base64 of H(raw part checksums concatenated)>-<N>``."""
    hasher = new_hasher(algorithm)
    for value in part_values:
        hasher.update(base64.b64decode(value))
    return f"{hasher.b64digest()}-{len(part_values)}"


def full_object(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """The CRC of the whole content from ``(base64 part CRC, part size)`` in order."""
    combine, size = _CRC_COMBINE[algorithm]
    crc = 0
    for index, (value, length) in enumerate(parts):
        part_crc = int.from_bytes(base64.b64decode(value), "big")
        crc = part_crc if index == 0 else combine(crc, part_crc, length)
    return base64.b64encode(crc.to_bytes(size, "big")).decode("ascii")


@dataclass(frozen=True)
class ClaimedChecksum:
    """An object checksum a CompleteMultipartUpload request states (a header)."""

    algorithm: str
    value: str
    #: the ``-N`` part count of a composite value, if written.
    parts: int | None = None


def parse_claimed(headers: Mapping[str, str]) -> ClaimedChecksum | None:
    """The ``x-amz-checksum-<algorithm>`` of a completion (``headers`` with lower-case
    or case-insensitive keys); composite values carry ``-N``."""
    found: list[ClaimedChecksum] = []
    for algorithm in ALGORITHMS:
        raw = headers.get(checksum_header(algorithm))
        if raw is None:
            continue
        value, dash, count = raw.strip().partition("-")
        if dash and not (count.isascii() and count.isdigit() and len(count) <= 5):
            raise _invalid_value(algorithm)
        parse_checksum_value(algorithm, value)
        found.append(ClaimedChecksum(algorithm, value, int(count) if dash else None))
    if len(found) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    return found[0] if found else None


def _invalid_value(algorithm: str) -> S3Error:
    return S3Error("InvalidRequest", f"Value for {checksum_header(algorithm)} header is invalid.")


@dataclass(frozen=True)
class Completion:
    """What a CompleteMultipartUpload request says about checksums."""

    #: part number -> {algorithm: base64} from the request's <Part> elements.
    part_checksums: Mapping[int, Mapping[str, str]]
    claimed: ClaimedChecksum | None = None
    #: x-amz-checksum-type of the request, upper case.
    checksum_type: str | None = None


def completion_checksum(
    algorithm: str | None,
    checksum_type: str | None,
    parts: Sequence[PartInfo],
    request: Completion,
) -> tuple[dict[str, str], str | None]:
    """Check a completion against the chosen ``parts`` of an upload created with
    ``algorithm``/``checksum_type``; return the object's (checksums, checksum type).

    An upload created without an algorithm takes the one the request states, if any
    (its type from the value's form): a checksum the client sends is verified, never
    dropped."""
    claimed = request.claimed
    if algorithm is None and claimed is not None:
        algorithm = claimed.algorithm
        checksum_type = COMPOSITE if claimed.parts is not None else FULL_OBJECT
        if checksum_type not in TYPES_OF[algorithm]:
            raise _invalid_value(algorithm)
    if request.checksum_type is not None and request.checksum_type != checksum_type:
        raise S3Error(
            "BadDigest",
            f"The {TYPE_HEADER} you specified does not match the upload's checksum type.",
        )
    _check_listed(algorithm, checksum_type, parts, request.part_checksums)
    if algorithm is None or checksum_type is None:
        return {}, None
    values = []
    for part in parts:
        value = part.checksums.get(algorithm)
        if value is None:
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using a {algorithm.lower()} checksum. "
                f"Part {part.part_number} was uploaded without one.",
            )
        values.append(value)
    if checksum_type == COMPOSITE:
        result = composite(algorithm, values)
    else:
        result = full_object(algorithm, [(v, p.size) for v, p in zip(values, parts, strict=True)])
    if claimed is not None:
        _check_claimed(algorithm, checksum_type, claimed, result)
    return {algorithm: result}, checksum_type


def _check_listed(
    algorithm: str | None,
    checksum_type: str | None,
    parts: Sequence[PartInfo],
    listed: Mapping[int, Mapping[str, str]],
) -> None:
    """Each <Part>'s checksums must be the upload's algorithm and match what was
    uploaded; a composite upload must list them all (S3 needs them to compose).

    Without an algorithm (the SDKs add a CRC to every part by default), a listed
    checksum is compared where the store kept one; the part's bytes were verified
    against it when the part was uploaded."""
    for part in parts:
        given = listed.get(part.part_number, {})
        for name, value in given.items():
            if algorithm is None:
                if part.checksums.get(name, value) != value:
                    raise S3Error("InvalidPart", extra={"PartNumber": str(part.part_number)})
                continue
            if name != algorithm:
                raise S3Error(
                    "InvalidRequest",
                    f"Checksum Type mismatch occurred, expected checksum Type: "
                    f"{(algorithm or 'null').lower()}, actual checksum Type: {name.lower()}",
                )
            if part.checksums.get(name) != value:
                raise S3Error("InvalidPart", extra={"PartNumber": str(part.part_number)})
        if checksum_type == COMPOSITE and algorithm not in given:
            assert algorithm is not None
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using a {algorithm.lower()} checksum. The complete "
                "request must include the checksum for each part. It was missing for part "
                f"{part.part_number} in the request.",
            )


def _check_claimed(
    algorithm: str, checksum_type: str, claimed: ClaimedChecksum, result: str
) -> None:
    if claimed.algorithm != algorithm:
        raise S3Error(
            "InvalidRequest",
            f"The upload was created using the {algorithm.lower()} checksum algorithm, "
            f"not {claimed.algorithm.lower()}.",
        )
    value, _, count = result.partition("-")
    if checksum_type == FULL_OBJECT and claimed.parts is not None:
        raise _invalid_value(algorithm)
    if claimed.value != value or (claimed.parts is not None and str(claimed.parts) != count):
        raise S3Error(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
        )


def without_part_count(value: str) -> str:
    """A composite value as GetObjectAttributes shows it (S3 drops the ``-N``)."""
    return value.partition("-")[0]


def decode_part_checksum(algorithm: str, value: str) -> str:
    """Validate a <Part>'s Checksum<algorithm> value (base64 of the digest size)."""
    try:
        return parse_checksum_value(algorithm, value)
    except S3Error:
        raise S3Error("InvalidPart", f"Invalid {algorithm} checksum of a part.") from None
