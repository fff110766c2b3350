"""Multipart checksums (composite and full-object), GetObject/HeadObject by part number
and GetObjectAttributes, with boto3 over a real waitress server on a filesystem store."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable

import pytest
from awscrt import checksums as crt  # type: ignore[import-untyped]
from botocore.exceptions import ClientError

from .test_multipart import PART, blob, error_code, start

TAIL = 1000
#: algorithm -> (boto3 member suffix, function of bytes -> raw digest)
DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "CRC32C": lambda d: crt.crc32c(d).to_bytes(4, "big"),
    "CRC64NVME": lambda d: crt.crc64nvme(d).to_bytes(8, "big"),
    "SHA1": lambda d: hashlib.sha1(d).digest(),
    "SHA256": lambda d: hashlib.sha256(d).digest(),
}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def member(algorithm: str) -> str:
    return "Checksum" + algorithm


def composite(algorithm: str, *chunks: bytes) -> str:
    """What S3 documents: the algorithm over the concatenated part digests, then -N."""
    joined = b"".join(DIGESTS[algorithm](c) for c in chunks)
    return f"{b64(DIGESTS[algorithm](joined))}-{len(chunks)}"


def upload_two_parts(s3, bucket: str, key: str, algorithm: str, **create: object):
    upload_id = start(s3, bucket, key, ChecksumAlgorithm=algorithm, **create)
    chunks = [blob(PART, 11), blob(TAIL, 12)]
    listed = []
    for number, chunk in enumerate(chunks, 1):
        resp = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm=algorithm,
        )
        assert resp[member(algorithm)] == b64(DIGESTS[algorithm](chunk))
        listed.append(
            {"PartNumber": number, "ETag": resp["ETag"], member(algorithm): resp[member(algorithm)]}
        )
    return upload_id, chunks, listed


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA1", "CRC32", "CRC32C"])
def test_composite_checksum(s3, bucket: str, algorithm: str) -> None:
    upload_id, chunks, listed = upload_two_parts(s3, bucket, "k", algorithm)
    expected = composite(algorithm, *chunks)
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": listed},
        **{member(algorithm): expected},  # the client's own composite value, "-2" included
    )
    assert done[member(algorithm)] == expected
    assert done["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head[member(algorithm)], head["ChecksumType"]) == (expected, "COMPOSITE")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(chunks)


def test_composite_checksum_mismatch_and_missing_part_checksum(s3, bucket: str) -> None:
    upload_id, chunks, listed = upload_two_parts(s3, bucket, "k", "SHA256")
    wrong = composite("SHA256", chunks[1], chunks[0])
    with pytest.raises(ClientError) as mismatch:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
            ChecksumSHA256=wrong,
        )
    assert error_code(mismatch) == "BadDigest"
    bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed]
    with pytest.raises(ClientError) as missing:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": bare}
        )
    assert error_code(missing) == "InvalidRequest"
    tampered = [dict(listed[0], ChecksumSHA256=listed[1]["ChecksumSHA256"]), listed[1]]
    with pytest.raises(ClientError) as other:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": tampered}
        )
    assert error_code(other) == "InvalidPart"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")  # nothing was written
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    assert done["ChecksumSHA256"] == composite("SHA256", *chunks)


@pytest.mark.parametrize("algorithm", ["CRC64NVME", "CRC32", "CRC32C"])
def test_full_object_checksum(s3, bucket: str, algorithm: str) -> None:
    upload_id, chunks, listed = upload_two_parts(
        s3, bucket, "k", algorithm, ChecksumType="FULL_OBJECT"
    )
    whole = b"".join(chunks)
    expected = b64(DIGESTS[algorithm](whole))
    with pytest.raises(ClientError) as wrong:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
            ChecksumType="FULL_OBJECT",
            **{member(algorithm): b64(DIGESTS[algorithm](whole[:-1]))},
        )
    assert error_code(wrong) == "BadDigest"
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": listed},
        ChecksumType="FULL_OBJECT",
        MpuObjectSize=len(whole),
        **{member(algorithm): expected},
    )
    assert (done[member(algorithm)], done["ChecksumType"]) == (expected, "FULL_OBJECT")
    # botocore validates a full-object checksum against the bytes it downloads.
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got[member(algorithm)] == expected and got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == whole


def test_wrong_object_size_refused(s3, bucket: str) -> None:
    upload_id, _, listed = upload_two_parts(s3, bucket, "k", "CRC64NVME")
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
            MpuObjectSize=PART,
        )
    assert error_code(caught) == "InvalidRequest"


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("SHA256", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE")]
)
def test_checksum_type_the_algorithm_has_not(s3, bucket: str, algorithm: str, kind: str) -> None:
    with pytest.raises(ClientError) as caught:
        start(s3, bucket, "k", ChecksumAlgorithm=algorithm, ChecksumType=kind)
    assert error_code(caught) == "InvalidRequest"


def test_create_answers_algorithm_and_type(s3, bucket: str) -> None:
    resp = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")
    assert (resp["ChecksumAlgorithm"], resp["ChecksumType"]) == ("CRC32", "COMPOSITE")


def test_get_and_head_by_part_number(s3, bucket: str) -> None:
    upload_id, chunks, listed = upload_two_parts(s3, bucket, "k", "SHA256")
    etag = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )["ETag"]
    total = sum(map(len, chunks))
    offset = 0
    for number, chunk in enumerate(chunks, 1):
        got = s3.get_object(Bucket=bucket, Key="k", PartNumber=number, ChecksumMode="ENABLED")
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == chunk
        assert (got["PartsCount"], got["ETag"], got["ContentLength"]) == (2, etag, len(chunk))
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(chunk) - 1}/{total}"
        assert got["ChecksumSHA256"] == listed[number - 1]["ChecksumSHA256"]  # the part's own
        head = s3.head_object(Bucket=bucket, Key="k", PartNumber=number)
        assert (head["PartsCount"], head["ETag"], head["ContentLength"]) == (2, etag, len(chunk))
        offset += len(chunk)
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as beyond:
            call(Bucket=bucket, Key="k", PartNumber=3)
        assert beyond.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as both:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=1, Range="bytes=0-1")
    assert error_code(both) == "InvalidRequest"


def test_get_object_attributes(s3, bucket: str) -> None:
    upload_id, chunks, listed = upload_two_parts(s3, bucket, "k", "SHA256")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    everything = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=everything)
    assert attrs["ETag"] == done["ETag"].strip('"')
    assert attrs["Checksum"] == {
        "ChecksumSHA256": composite("SHA256", *chunks).split("-")[0],
        "ChecksumType": "COMPOSITE",
    }
    assert (attrs["StorageClass"], attrs["ObjectSize"]) == ("STANDARD", sum(map(len, chunks)))
    parts = attrs["ObjectParts"]
    assert parts["TotalPartsCount"] == 2 and parts["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == [
        (n, len(c), listed[n - 1]["ChecksumSHA256"]) for n, c in enumerate(chunks, 1)
    ]
    first = s3.get_object_attributes(
        Bucket=bucket, Key="k", ObjectAttributes=["ObjectParts"], MaxParts=1
    )["ObjectParts"]
    assert [p["PartNumber"] for p in first["Parts"]] == [1] and first["IsTruncated"] is True
    rest = s3.get_object_attributes(
        Bucket=bucket,
        Key="k",
        ObjectAttributes=["ObjectParts"],
        PartNumberMarker=int(first["NextPartNumberMarker"]),
    )["ObjectParts"]
    assert [p["PartNumber"] for p in rest["Parts"]] == [2] and rest["IsTruncated"] is False


def test_get_object_attributes_of_a_single_part_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="one", Body=b"hello", ChecksumAlgorithm="CRC32")
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="one", ObjectAttributes=["ObjectParts", "Checksum", "ObjectSize"]
    )
    assert "ObjectParts" not in attrs
    assert attrs["Checksum"] == {
        "ChecksumCRC32": b64(DIGESTS["CRC32"](b"hello")),
        "ChecksumType": "FULL_OBJECT",
    }
    assert attrs["ObjectSize"] == 5
    with pytest.raises(ClientError) as bad:
        s3.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=["Colour"])
    assert error_code(bad) == "InvalidArgument"
    with pytest.raises(ClientError) as missing:
        s3.get_object_attributes(Bucket=bucket, Key="nope", ObjectAttributes=["ETag"])
    assert error_code(missing) == "NoSuchKey"


def test_upload_part_copy_gets_the_upload_checksum(s3, bucket: str) -> None:
    source = blob(PART, 21)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = start(s3, bucket, "k", ChecksumAlgorithm="SHA256")
    copied = s3.upload_part_copy(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
    )["CopyPartResult"]
    assert copied["ChecksumSHA256"] == b64(DIGESTS["SHA256"](source))
    tail = blob(TAIL, 22)
    second = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=2,
        Body=tail,
        ChecksumAlgorithm="SHA256",
    )
    listing = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert (listing["ChecksumAlgorithm"], listing["ChecksumType"]) == ("SHA256", "COMPOSITE")
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {
                    "PartNumber": 1,
                    "ETag": copied["ETag"],
                    "ChecksumSHA256": copied["ChecksumSHA256"],
                },
                {
                    "PartNumber": 2,
                    "ETag": second["ETag"],
                    "ChecksumSHA256": second["ChecksumSHA256"],
                },
            ]
        },
    )
    assert done["ChecksumSHA256"] == composite("SHA256", source, tail)
