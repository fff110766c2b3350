"""Multipart ETags of encrypted uploads over a real server with boto3, as S3 shows them:
an SSE-S3 part's ETag is the MD5 of its plaintext (UploadPart, UploadPartCopy,
ListParts), the completion list names parts by those ETags, and the object's ETag is
the MD5 of the parts' MD5s, ``-N`` (complete, HEAD, GET, listings, attributes, a
retried completion); SSE-KMS and SSE-C parts and objects show ETags that are not."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from boxdrive_wsgi.encryption.segments import ciphertext_size

from .servers import RunningServer
from .test_encryption import KMS_KEY, SSE_C, bkt, client, sse_server

__all__ = ["bkt", "client", "sse_server"]  # the fixtures: a server per module, as there

PARTS = [os.urandom(5 * 1024 * 1024 + 1), os.urandom(5 * 1024 * 1024), os.urandom(777)]
MD5S = [hashlib.md5(p).hexdigest() for p in PARTS]
OBJECT_ETAG = f'"{hashlib.md5(b"".join(bytes.fromhex(m) for m in MD5S)).hexdigest()}-3"'
MODES: dict[str, dict[str, object]] = {
    "sse-s3": {"ServerSideEncryption": "AES256"},
    "sse-kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY},
    "sse-c": SSE_C,
}


def read_args(mode: str) -> dict[str, Any]:
    return dict(SSE_C) if mode == "sse-c" else {}


def upload(client, bucket: str, mode: str, parts: list[bytes] = PARTS) -> tuple[str, list[str]]:
    upload_id = client.create_multipart_upload(Bucket=bucket, Key="mp", **MODES[mode])["UploadId"]
    etags = []
    for number, data in enumerate(parts, 1):
        answer = client.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=data,
            **read_args(mode),
        )  # fmt: skip
        etags.append(answer["ETag"])
    return upload_id, etags


def complete(client, bucket: str, upload_id: str, etags: list[str], mode: str) -> dict[str, Any]:
    done = {"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}
    return dict(
        client.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload=done, **read_args(mode)
        )
    )


def test_sse_s3_parts_and_object_show_plaintext_md5s(client, bkt: str) -> None:
    upload_id, etags = upload(client, bkt, "sse-s3")
    assert etags == [f'"{m}"' for m in MD5S]
    listed = client.list_parts(Bucket=bkt, Key="mp", UploadId=upload_id)["Parts"]
    assert [(p["ETag"], p["Size"]) for p in listed] == list(
        zip(etags, map(len, PARTS), strict=True)
    )
    done = complete(client, bkt, upload_id, etags, "sse-s3")
    assert done["ETag"] == OBJECT_ETAG
    assert done["ServerSideEncryption"] == "AES256"
    head = client.head_object(Bucket=bkt, Key="mp")
    assert (head["ETag"], head["ContentLength"]) == (OBJECT_ETAG, sum(map(len, PARTS)))
    got = client.get_object(Bucket=bkt, Key="mp")
    assert got["ETag"] == OBJECT_ETAG and got["Body"].read() == b"".join(PARTS)
    part = client.get_object(Bucket=bkt, Key="mp", PartNumber=2)
    assert part["ETag"] == OBJECT_ETAG and part["Body"].read() == PARTS[1]
    listing = client.list_objects_v2(Bucket=bkt)["Contents"]
    assert [o["ETag"] for o in listing] == [OBJECT_ETAG]
    attrs = client.get_object_attributes(Bucket=bkt, Key="mp", ObjectAttributes=["ETag"])
    assert attrs["ETag"] == OBJECT_ETAG.strip('"')
    assert client.get_object(Bucket=bkt, Key="mp", IfMatch=OBJECT_ETAG)["ETag"] == OBJECT_ETAG
    again = complete(client, bkt, upload_id, etags, "sse-s3")  # a retried completion
    assert again["ETag"] == OBJECT_ETAG


def test_bucket_default_sse_s3_upload_and_part_copy(client, bkt: str) -> None:
    client.put_bucket_encryption(
        Bucket=bkt,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    client.put_object(Bucket=bkt, Key="src", Body=PARTS[0], **SSE_C)
    upload_id = client.create_multipart_upload(Bucket=bkt, Key="mp")["UploadId"]
    copied = client.upload_part_copy(
        Bucket=bkt, Key="mp", UploadId=upload_id, PartNumber=1,
        CopySource={"Bucket": bkt, "Key": "src"},
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=SSE_C["SSECustomerKey"],
    )  # fmt: skip
    first = copied["CopyPartResult"]["ETag"]
    assert first == f'"{MD5S[0]}"'
    second = client.upload_part(
        Bucket=bkt, Key="mp", UploadId=upload_id, PartNumber=2, Body=PARTS[2]
    )["ETag"]
    listed = client.list_parts(Bucket=bkt, Key="mp", UploadId=upload_id)["Parts"]
    assert [p["ETag"] for p in listed] == [first, second]
    done = complete(client, bkt, upload_id, [first, second], "sse-s3")
    digests = bytes.fromhex(MD5S[0]) + bytes.fromhex(MD5S[2])
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'
    assert client.head_object(Bucket=bkt, Key="mp")["ETag"] == done["ETag"]


def test_completion_refuses_the_hidden_stored_part_etag(
    client, bkt: str, sse_server: RunningServer
) -> None:
    """The ciphertext's MD5 (the store's ETag of a part) is never shown, and a completion
    naming it is refused as an unknown part."""
    upload_id, etags = upload(client, bkt, "sse-s3", PARTS[2:])
    staged = [
        p
        for p in sse_server.data_dir.rglob("*")
        if p.is_file() and p.stat().st_size == ciphertext_size(len(PARTS[2]))
    ]
    hidden = {hashlib.md5(p.read_bytes()).hexdigest() for p in staged}
    assert hidden and MD5S[2] not in hidden
    for etag in hidden:
        with pytest.raises(ClientError) as refused:
            complete(client, bkt, upload_id, [f'"{etag}"'], "sse-s3")
        assert refused.value.response["Error"]["Code"] == "InvalidPart"
    assert complete(client, bkt, upload_id, etags, "sse-s3")["ETag"] == (
        f'"{hashlib.md5(bytes.fromhex(MD5S[2])).hexdigest()}-1"'
    )


@pytest.mark.parametrize("mode", ["sse-kms", "sse-c"])
def test_kms_and_customer_key_parts_are_not_plaintext_md5s(client, bkt: str, mode: str) -> None:
    upload_id, etags = upload(client, bkt, mode)
    assert not set(etags) & {f'"{m}"' for m in MD5S}
    listed = client.list_parts(Bucket=bkt, Key="mp", UploadId=upload_id)["Parts"]
    assert [p["ETag"] for p in listed] == etags
    done = complete(client, bkt, upload_id, etags, mode)
    assert done["ETag"] != OBJECT_ETAG and done["ETag"].endswith('-3"')
    head = client.head_object(Bucket=bkt, Key="mp", **read_args(mode))
    assert head["ETag"] == done["ETag"]
    assert client.get_object(Bucket=bkt, Key="mp", **read_args(mode))["Body"].read() == (
        b"".join(PARTS)
    )
    with pytest.raises(ClientError) as past_the_end:  # even without the SSE-C key
        client.get_object(Bucket=bkt, Key="mp", PartNumber=4)
    assert past_the_end.value.response["Error"]["Code"] == "InvalidPart"


@pytest.mark.parametrize("mode", ["sse-kms", "sse-c"])
def test_a_part_sent_again_keeps_its_etag(client, bkt: str, mode: str) -> None:
    """As in S3 (and the conformance suite's SSE-C multipart tests): the ETag a client
    kept from the first upload of a part still completes after it sent the part again."""
    upload_id, etags = upload(client, bkt, mode, PARTS[1:])
    again = client.upload_part(
        Bucket=bkt, Key="mp", UploadId=upload_id, PartNumber=1, Body=PARTS[1], **read_args(mode)
    )
    assert again["ETag"] == etags[0]
    other = client.upload_part(
        Bucket=bkt, Key="mp", UploadId=upload_id, PartNumber=2, Body=PARTS[1], **read_args(mode)
    )
    assert other["ETag"] != etags[1]
    with pytest.raises(ClientError) as stale:  # part 2 is other bytes now
        complete(client, bkt, upload_id, etags, mode)
    assert stale.value.response["Error"]["Code"] == "InvalidPart"
    client.upload_part(
        Bucket=bkt, Key="mp", UploadId=upload_id, PartNumber=2, Body=PARTS[2], **read_args(mode)
    )
    done = complete(client, bkt, upload_id, etags, mode)
    assert client.head_object(Bucket=bkt, Key="mp", **read_args(mode))["ETag"] == done["ETag"]
    assert client.get_object(Bucket=bkt, Key="mp", **read_args(mode))["Body"].read() == (
        PARTS[1] + PARTS[2]
    )
