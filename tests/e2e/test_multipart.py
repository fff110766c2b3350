"""Multipart uploads end to end: boto3 over a real waitress server on a filesystem store."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from . import raw
from .servers import RunningServer

MIB = 1024 * 1024
PART = 5 * MIB  # S3's minimum size of every part but the last


def blob(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (64 * 1024 // 32)
    return (block * (size // len(block) + 1))[:size]


def multipart_etag(*parts: bytes) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def start(s3, bucket: str, key: str, **kwargs: object) -> str:
    return str(s3.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)["UploadId"])


def test_create_upload_list_complete(s3, bucket: str) -> None:
    key = "dir/multi part.bin"
    upload_id = start(
        s3,
        bucket,
        key,
        ContentType="text/plain",
        Metadata={"color": "blue"},
        CacheControl="no-cache",
    )
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(key, upload_id)]
    assert uploads[0]["Initiator"]["ID"] and uploads[0]["Owner"]["ID"]
    data = [blob(PART, 1), blob(PART, 2), blob(1000, 3)]
    etags = []
    for n, chunk in enumerate(data, 1):
        resp = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=chunk)
        assert resp["ETag"] == f'"{hashlib.md5(chunk).hexdigest()}"'
        etags.append(resp["ETag"])
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Parts"]] == [
        (n, e, len(d)) for n, (e, d) in enumerate(zip(etags, data, strict=True), 1)
    ]
    assert not parts["IsTruncated"]
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key=key)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    assert done["ETag"] == multipart_etag(*data)
    assert done["Bucket"] == bucket and done["Key"] == key
    assert done["Location"].endswith("/dir/multi%20part.bin")
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"".join(data)
    assert got["ETag"] == done["ETag"]
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "no-cache"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_code(caught) == "NoSuchUpload"


def test_abort(s3, bucket: str) -> None:
    upload_id = start(s3, bucket, "k")
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    resp = s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"y"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught) == "NoSuchUpload"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_completion_errors(s3, bucket: str) -> None:
    upload_id = start(s3, bucket, "k")
    small = [
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=n, Body=b"ab")["ETag"]
        for n in (1, 2)
    ]

    def complete(parts: list[dict[str, object]]) -> str:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        return error_code(caught)

    p1, p2 = {"PartNumber": 1, "ETag": small[0]}, {"PartNumber": 2, "ETag": small[1]}
    assert complete([p2, p1]) == "InvalidPartOrder"
    assert complete([p1, {"PartNumber": 3, "ETag": small[0]}]) == "InvalidPart"
    assert complete([p1, {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]) == "InvalidPart"
    assert complete([p1, p2]) == "EntityTooSmall"
    # Still there after every refusal: a single small part is a valid object.
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": [p2]}
    )
    assert done["ETag"] == multipart_etag(b"ab")


@pytest.mark.parametrize("number", ["0", "10001", "-1", "x"])
def test_part_number_out_of_range(server: RunningServer, s3, bucket: str, number: str) -> None:
    upload_id = start(s3, bucket, "k")
    resp = raw.request(
        server,
        "PUT",
        f"/{bucket}/k",
        params={"partNumber": number, "uploadId": upload_id},
        body=b"data",
    )
    assert resp.status_code == 400
    assert raw.error_fields(resp)["Code"] == "InvalidArgument"


@pytest.mark.parametrize(
    "document",
    [
        b"<CompleteMultipartUpload><Part><PartNumber>1",
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<Other/>",
    ],
)
def test_malformed_completion(server: RunningServer, s3, bucket: str, document: bytes) -> None:
    upload_id = start(s3, bucket, "k")
    resp = raw.request(
        server, "POST", f"/{bucket}/k", params={"uploadId": upload_id}, body=document
    )
    assert resp.status_code == 400
    assert raw.error_fields(resp)["Code"] == "MalformedXML"


def test_conditional_completion(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    upload_id = start(s3, bucket, "k")
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"new")[
        "ETag"
    ]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts, IfNoneMatch="*"
        )
    assert error_code(caught) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_part_checksums(s3, bucket: str) -> None:
    upload_id = start(s3, bucket, "k", ChecksumAlgorithm="SHA256")
    body = blob(1000)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    resp = s3.upload_part(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=body, ChecksumSHA256=digest
    )
    assert resp["ChecksumSHA256"] == digest
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert listed[0]["ChecksumSHA256"] == digest
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=2,
            Body=body,
            ChecksumSHA256=wrong,
        )
    assert error_code(caught) == "BadDigest"
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]


def test_bad_content_md5_stores_no_part(server: RunningServer, s3, bucket: str) -> None:
    upload_id = start(s3, bucket, "k")
    resp = raw.request(
        server,
        "PUT",
        f"/{bucket}/k",
        params={"partNumber": "1", "uploadId": upload_id},
        headers={"Content-MD5": raw.content_md5(b"something else")},
        body=b"data",
    )
    assert resp.status_code == 400 and raw.error_fields(resp)["Code"] == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", []) == []


def test_list_parts_paginated(s3, bucket: str) -> None:
    upload_id = start(s3, bucket, "k")
    for n in range(1, 8):
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=n, Body=b"%d" % n)
    pages = list(
        s3.get_paginator("list_parts").paginate(
            Bucket=bucket, Key="k", UploadId=upload_id, PaginationConfig={"PageSize": 3}
        )
    )
    assert [[p["PartNumber"] for p in page["Parts"]] for page in pages] == [
        [1, 2, 3],
        [4, 5, 6],
        [7],
    ]


def test_list_uploads_paginated_prefix_delimiter(s3, bucket: str) -> None:
    created = []
    for key in ["b/1", "a/2", "a/1", "top", "a/1", "c d/é"]:
        created.append((key, start(s3, bucket, key)))
    expected = sorted(created, key=lambda kv: kv[0].encode())
    pages = list(
        s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 3
    assert [(u["Key"], u["UploadId"]) for p in pages for u in p["Uploads"]] == expected
    rolled = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "b/", "c d/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["top"]
    under = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["Key"] for u in under["Uploads"]] == ["a/1", "a/1", "a/2"]
    encoded = s3.list_multipart_uploads(Bucket=bucket, Prefix="c", EncodingType="url")
    assert [u["Key"] for u in encoded["Uploads"]] == ["c%20d/%C3%A9"]
    for key, upload_id in created:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def test_upload_part_copy(s3, bucket: str) -> None:
    source = blob(PART + 300, 7)
    s3.put_object(Bucket=bucket, Key="src/ obj", Body=source)
    upload_id = start(s3, bucket, "dst")
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src/ obj"},
        CopySourceRange=f"bytes=0-{PART - 1}",
    )["CopyPartResult"]
    assert first["ETag"] == f'"{hashlib.md5(source[:PART]).hexdigest()}"'
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=2,
        CopySource=f"{bucket}/src/ obj",  # botocore URL-encodes it
    )["CopyPartResult"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "src/ obj"},
            CopySourceIfMatch='"' + "0" * 32 + '"',
        )
    assert error_code(caught) == "PreconditionFailed"
    with pytest.raises(ClientError) as caught:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "src/ obj"},
            CopySourceRange=f"bytes={len(source)}-{len(source) + 5}",
        )
    assert error_code(caught) == "InvalidArgument"
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    assert done["ETag"] == multipart_etag(source[:PART], source)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source[:PART] + source


def test_upload_file_with_small_threshold(s3, bucket: str, tmp_path: Path) -> None:
    data = blob(2 * PART + 12345, 9)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
    s3.upload_file(str(src), bucket, "uploaded.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="uploaded.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data[:PART], data[PART : 2 * PART], data[2 * PART :])
    dst = tmp_path / "down.bin"
    s3.download_file(bucket, "uploaded.bin", str(dst), Config=config)
    assert dst.read_bytes() == data


@pytest.mark.slow
def test_200_mb_with_transfer_config(s3, bucket: str, tmp_path: Path) -> None:
    size = 200 * 1000 * 1000
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with src.open("wb") as fh:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            fh.write(block)
        tail = os.urandom(size % MIB)
        digest.update(tail)
        fh.write(tail)
    config = TransferConfig(
        multipart_threshold=8 * MIB, multipart_chunksize=16 * MIB, max_concurrency=4
    )
    with src.open("rb") as fh:
        s3.upload_fileobj(fh, bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith(f'-{-(-size // (16 * MIB))}"')
    got = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key="big.bin")["Body"]
    for chunk in body.iter_chunks(MIB):
        got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()


def test_upload_fileobj_stream(s3, bucket: str) -> None:
    data = blob(PART + 10, 11)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    s3.upload_fileobj(io.BytesIO(data), bucket, "stream.bin", Config=config)
    assert s3.get_object(Bucket=bucket, Key="stream.bin")["Body"].read() == data


def test_repeated_completion_is_answered_while_its_object_stands(s3, bucket: str) -> None:
    """A client retrying Complete after a lost response gets success, as from S3."""
    upload_id = start(s3, bucket, "again")
    data = blob(1000)
    etag = s3.upload_part(Bucket=bucket, Key="again", UploadId=upload_id, PartNumber=1, Body=data)[
        "ETag"
    ]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="again", UploadId=upload_id, MultipartUpload=parts
    )
    second = s3.complete_multipart_upload(
        Bucket=bucket, Key="again", UploadId=upload_id, MultipartUpload=parts
    )
    assert second["ETag"] == first["ETag"] == multipart_etag(data)
    s3.put_object(Bucket=bucket, Key="again", Body=b"replaced")
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="again", UploadId=upload_id, MultipartUpload=parts
        )
    assert error_code(caught) == "NoSuchUpload"
