"""ETags of encrypted objects over a real server with boto3: an SSE-S3 object (single
PUT, bucket default, copy) shows the MD5 of its plaintext everywhere (PUT, HEAD, GET,
listings, copy results), SSE-KMS and SSE-C ones an ETag that is not; conditional reads,
copies, writes and deletes agree with the ETag shown."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest
import requests
from botocore.exceptions import ClientError

from boxdrive_wsgi.stores.filesystem import DB_NAME

from .servers import RunningServer
from .test_encryption import KMS_KEY, SSE_C, bkt, client, sse_server

__all__ = ["bkt", "client", "sse_server"]  # the fixtures: a server per module, as there

PAYLOAD = os.urandom(2 * 65536 + 777)
MD5 = hashlib.md5(PAYLOAD).hexdigest()
QUOTED = f'"{MD5}"'
SSE_S3: dict[str, object] = {"ServerSideEncryption": "AES256"}


def status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])


def listed_etags(client, bucket: str) -> dict[str, str]:
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


def test_sse_s3_etag_is_the_plaintext_md5_everywhere(client, bkt: str) -> None:
    put = client.put_object(Bucket=bkt, Key="k", Body=PAYLOAD, **SSE_S3)
    assert put["ETag"] == QUOTED
    assert put["ServerSideEncryption"] == "AES256"
    assert client.head_object(Bucket=bkt, Key="k")["ETag"] == QUOTED
    got = client.get_object(Bucket=bkt, Key="k")
    assert got["ETag"] == QUOTED and got["Body"].read() == PAYLOAD
    ranged = client.get_object(Bucket=bkt, Key="k", Range="bytes=10-20")
    assert ranged["ETag"] == QUOTED
    assert listed_etags(client, bkt) == {"k": QUOTED}
    assert client.list_objects(Bucket=bkt)["Contents"][0]["ETag"] == QUOTED
    versions = client.list_object_versions(Bucket=bkt)["Versions"]
    assert [(v["ETag"], v["Size"]) for v in versions] == [(QUOTED, len(PAYLOAD))]
    attrs = client.get_object_attributes(Bucket=bkt, Key="k", ObjectAttributes=["ETag"])
    assert attrs["ETag"] == MD5


def test_spooled_sse_s3_put_etag_is_the_bodys_md5(client, bkt: str) -> None:
    """A body large enough for waitress to spool it (hashed as it arrives: the ETag is
    that MD5, not hashed again), sent raw with a Content-Length: the same ETag."""
    body = os.urandom(3 * 1024 * 1024 + 5)
    url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bkt, "Key": "big", "ServerSideEncryption": "AES256"}
    )
    answer = requests.put(url, data=body, headers={"x-amz-server-side-encryption": "AES256"})
    assert answer.status_code == 200, answer.text
    quoted = f'"{hashlib.md5(body).hexdigest()}"'
    assert answer.headers["ETag"] == quoted
    head = client.head_object(Bucket=bkt, Key="big")
    assert (head["ETag"], head["ServerSideEncryption"]) == (quoted, "AES256")
    assert client.get_object(Bucket=bkt, Key="big")["Body"].read() == body


def test_bucket_default_sse_s3_and_copies_show_the_plaintext_md5(client, bkt: str) -> None:
    client.put_bucket_encryption(
        Bucket=bkt,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    put = client.put_object(Bucket=bkt, Key="d", Body=PAYLOAD)
    assert put["ServerSideEncryption"] == "AES256" and put["ETag"] == QUOTED
    # a copy from an SSE-C source into SSE-S3 (the bucket default): the plaintext's MD5
    client.put_object(Bucket=bkt, Key="c", Body=PAYLOAD, **SSE_C)
    copied = client.copy_object(
        Bucket=bkt,
        Key="c2",
        CopySource={"Bucket": bkt, "Key": "c"},
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=SSE_C["SSECustomerKey"],
        CopySourceIfMatch=client.head_object(Bucket=bkt, Key="c", **SSE_C)["ETag"],
    )
    assert copied["CopyObjectResult"]["ETag"] == QUOTED
    assert client.head_object(Bucket=bkt, Key="c2")["ETag"] == QUOTED
    etags = listed_etags(client, bkt)
    assert etags["d"] == etags["c2"] == QUOTED
    assert etags["c"] == client.head_object(Bucket=bkt, Key="c", **SSE_C)["ETag"]


@pytest.mark.parametrize(
    "mode",
    [{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}, SSE_C],
    ids=["sse-kms", "sse-c"],
)
def test_kms_and_customer_key_etags_are_not_the_plaintext_md5(
    client, bkt: str, mode: dict[str, object]
) -> None:
    read = dict(SSE_C) if mode is SSE_C else {}
    put = client.put_object(Bucket=bkt, Key="k", Body=PAYLOAD, **mode)
    assert put["ETag"] != QUOTED
    assert client.head_object(Bucket=bkt, Key="k", **read)["ETag"] == put["ETag"]
    assert listed_etags(client, bkt) == {"k": put["ETag"]}


def test_conditional_reads_agree_with_the_shown_etag(client, bkt: str) -> None:
    client.put_object(Bucket=bkt, Key="k", Body=PAYLOAD, **SSE_S3)
    assert client.get_object(Bucket=bkt, Key="k", IfMatch=QUOTED)["Body"].read() == PAYLOAD
    assert client.head_object(Bucket=bkt, Key="k", IfMatch=MD5)["ETag"] == QUOTED
    with pytest.raises(ClientError) as failed:
        client.get_object(Bucket=bkt, Key="k", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert status(failed) == 412
    with pytest.raises(ClientError) as unchanged:
        client.get_object(Bucket=bkt, Key="k", IfNoneMatch=QUOTED)
    assert status(unchanged) == 304
    with pytest.raises(ClientError) as unchanged_head:
        client.head_object(Bucket=bkt, Key="k", IfNoneMatch=QUOTED)
    assert status(unchanged_head) == 304
    copied = client.copy_object(
        Bucket=bkt, Key="k2", CopySource={"Bucket": bkt, "Key": "k"}, CopySourceIfMatch=QUOTED
    )
    assert copied["CopyObjectResult"]["ETag"] == QUOTED
    with pytest.raises(ClientError) as none_match:
        client.copy_object(
            Bucket=bkt,
            Key="k3",
            CopySource={"Bucket": bkt, "Key": "k"},
            CopySourceIfNoneMatch=QUOTED,
        )
    assert status(none_match) == 412


def test_conditional_writes_and_deletes_take_the_shown_etag(client, bkt: str) -> None:
    client.put_object(Bucket=bkt, Key="k", Body=PAYLOAD, **SSE_S3)
    second = PAYLOAD[::-1]
    put = client.put_object(Bucket=bkt, Key="k", Body=second, IfMatch=QUOTED, **SSE_S3)
    assert put["ETag"] == f'"{hashlib.md5(second).hexdigest()}"'
    assert client.get_object(Bucket=bkt, Key="k")["Body"].read() == second
    with pytest.raises(ClientError) as stale:  # the first object's ETag no longer holds
        client.put_object(Bucket=bkt, Key="k", Body=b"lost", IfMatch=QUOTED, **SSE_S3)
    assert status(stale) == 412
    assert client.get_object(Bucket=bkt, Key="k")["Body"].read() == second
    copied = client.copy_object(
        Bucket=bkt, Key="k", CopySource={"Bucket": bkt, "Key": "k"},
        MetadataDirective="REPLACE", Metadata={"a": "b"}, IfMatch=put["ETag"],
    )  # fmt: skip
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    with pytest.raises(ClientError) as wrong_delete:
        client.delete_object(Bucket=bkt, Key="k", IfMatch=QUOTED)
    assert status(wrong_delete) == 412
    client.delete_object(Bucket=bkt, Key="k", IfMatch=put["ETag"])
    with pytest.raises(ClientError) as gone:
        client.head_object(Bucket=bkt, Key="k")
    assert status(gone) == 404


def test_hidden_stored_etag_never_matches(client, bkt: str, sse_server: RunningServer) -> None:
    """The ciphertext's MD5 is never shown, and an If-Match naming it does not hold."""
    client.put_object(Bucket=bkt, Key="k", Body=PAYLOAD, **SSE_S3)
    stored = [
        p for p in sse_server.data_dir.rglob("*") if p.is_file() and p.stat().st_size > len(PAYLOAD)
    ]
    hidden = {hashlib.md5(p.read_bytes()).hexdigest() for p in stored}
    # A small object's ciphertext is kept inline in the index, not in a file: its
    # stored ETag is the index row's.
    with sqlite3.connect(sse_server.data_dir / DB_NAME) as db:
        hidden |= {str(etag) for (etag,) in db.execute("SELECT etag FROM objects")}
    db.close()
    assert MD5 not in hidden and hidden
    for etag in hidden:
        with pytest.raises(ClientError) as refused:
            client.put_object(Bucket=bkt, Key="k", Body=b"x", IfMatch=f'"{etag}"')
        assert status(refused) == 412
    assert client.get_object(Bucket=bkt, Key="k")["Body"].read() == PAYLOAD
