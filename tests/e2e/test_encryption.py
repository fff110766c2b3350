"""Server-side encryption over a real server with boto3 (issue 16): SSE-S3, SSE-C with
SSECustomerKey, SSE-KMS with a key id from the local keyring, bucket default
encryption, ranges, parts, multipart and copies between modes; the bytes at rest are
ciphertext."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

KMS_KEY = "e2e-key"
CUSTOMER_KEY = os.urandom(32)
SSE_C: dict[str, object] = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
COPY_SSE_C = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": CUSTOMER_KEY}
MODES: dict[str, dict[str, object]] = {
    "none": {},
    "sse-s3": {"ServerSideEncryption": "AES256"},
    "sse-kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY},
    "sse-c": SSE_C,
}
PAYLOAD = os.urandom(3 * 65536 + 12345)


def kms_create(data_dir: Path, name: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "boxdrive_wsgi.cli",
            "kms",
            "create",
            name,
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def sse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("data")
    kms_create(data_dir, KMS_KEY)
    env = {"BOXDRIVE_SSE_C_ALLOW_HTTP": "1"}
    with running_waitress(data_dir, extra_env=env, log_dir=tmp_path_factory.mktemp("logs")) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(sse_server: RunningServer):
    return make_client(sse_server)


@pytest.fixture
def bkt(client) -> Iterator[str]:
    name = unique_bucket_name("sse")
    client.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(client, name)


def read_args(mode: str) -> dict[str, object]:
    return dict(SSE_C) if mode == "sse-c" else {}


def stored_files(data_dir: Path) -> bytes:
    """Every byte the filesystem store keeps (content files and index)."""
    return b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("mode", ["sse-s3", "sse-kms", "sse-c"])
def test_round_trip_headers_and_ranges(
    client, sse_server: RunningServer, bkt: str, mode: str
) -> None:
    put = client.put_object(Bucket=bkt, Key="obj", Body=PAYLOAD, **MODES[mode])
    got = client.get_object(Bucket=bkt, Key="obj", **read_args(mode))
    assert got["Body"].read() == PAYLOAD
    assert got["ContentLength"] == len(PAYLOAD)
    head = client.head_object(Bucket=bkt, Key="obj", **read_args(mode))
    assert head["ContentLength"] == len(PAYLOAD)
    if mode == "sse-c":
        assert put["SSECustomerAlgorithm"] == head["SSECustomerAlgorithm"] == "AES256"
        assert "SSECustomerKeyMD5" in head
    else:
        expected = "AES256" if mode == "sse-s3" else "aws:kms"
        assert put["ServerSideEncryption"] == head["ServerSideEncryption"] == expected
    if mode == "sse-kms":
        assert head["SSEKMSKeyId"] == KMS_KEY
    for start, stop in [
        (0, 0),
        (65535, 65537),
        (100000, 101023),
        (len(PAYLOAD) - 5, len(PAYLOAD) - 1),
    ]:
        ranged = client.get_object(
            Bucket=bkt, Key="obj", Range=f"bytes={start}-{stop}", **read_args(mode)
        )
        assert ranged["Body"].read() == PAYLOAD[start : stop + 1]
        assert ranged["ContentRange"] == f"bytes {start}-{stop}/{len(PAYLOAD)}"
    suffix = client.get_object(Bucket=bkt, Key="obj", Range="bytes=-10", **read_args(mode))
    assert suffix["Body"].read() == PAYLOAD[-10:]
    with pytest.raises(ClientError) as caught:
        client.get_object(Bucket=bkt, Key="obj", Range=f"bytes={len(PAYLOAD)}-", **read_args(mode))
    assert caught.value.response["Error"]["Code"] == "InvalidRange"
    listed = client.list_objects_v2(Bucket=bkt)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("obj", len(PAYLOAD))]
    assert PAYLOAD[1000:1064] not in stored_files(sse_server.data_dir)  # ciphertext at rest


def test_sse_c_needs_the_same_key(client, bkt: str) -> None:
    client.put_object(Bucket=bkt, Key="c", Body=b"secret", **SSE_C)
    for call in (client.get_object, client.head_object):
        with pytest.raises(ClientError) as caught:
            call(Bucket=bkt, Key="c")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as caught:
            call(Bucket=bkt, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
        # S3 says 403, Ceph RGW and its conformance suite 400: the suite is the target
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:  # a plain object with a key: not applicable
        client.put_object(Bucket=bkt, Key="p", Body=b"plain")
        client.get_object(Bucket=bkt, Key="p", **SSE_C)
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"


def test_sse_c_key_never_stored(client, sse_server: RunningServer, bkt: str) -> None:
    client.put_object(Bucket=bkt, Key="c", Body=b"x", **SSE_C)
    import base64

    stored = stored_files(sse_server.data_dir)
    assert CUSTOMER_KEY not in stored
    assert base64.b64encode(CUSTOMER_KEY) not in stored


def test_unknown_kms_key_refused(client, bkt: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.put_object(
            Bucket=bkt, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="nope"
        )
    assert caught.value.response["Error"]["Code"] == "KMS.NotFoundException"
    with pytest.raises(ClientError):
        client.head_object(Bucket=bkt, Key="k")


def test_bucket_default_encryption(client, bkt: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.get_bucket_encryption(Bucket=bkt)
    assert (
        caught.value.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
    )
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}
    }
    client.put_bucket_encryption(Bucket=bkt, ServerSideEncryptionConfiguration={"Rules": [rule]})
    got = client.get_bucket_encryption(Bucket=bkt)["ServerSideEncryptionConfiguration"]
    assert (
        got["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        == rule["ApplyServerSideEncryptionByDefault"]
    )
    client.put_object(Bucket=bkt, Key="d", Body=PAYLOAD)
    head = client.head_object(Bucket=bkt, Key="d")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY)
    assert client.get_object(Bucket=bkt, Key="d")["Body"].read() == PAYLOAD
    client.put_object(Bucket=bkt, Key="s3", Body=b"x", ServerSideEncryption="AES256")  # headers win
    assert client.head_object(Bucket=bkt, Key="s3")["ServerSideEncryption"] == "AES256"
    client.delete_bucket_encryption(Bucket=bkt)
    client.put_object(Bucket=bkt, Key="plain", Body=b"x")
    assert "ServerSideEncryption" not in client.head_object(Bucket=bkt, Key="plain")


@pytest.mark.parametrize("mode", ["sse-s3", "sse-kms", "sse-c"])
def test_multipart_parts_and_ranges(client, bkt: str, mode: str) -> None:
    parts = [os.urandom(5 * 1024 * 1024 + 1), os.urandom(5 * 1024 * 1024), os.urandom(777)]
    upload = client.create_multipart_upload(Bucket=bkt, Key="mp", **MODES[mode])["UploadId"]
    etags = []
    for number, data in enumerate(parts, 1):
        answer = client.upload_part(
            Bucket=bkt, Key="mp", UploadId=upload, PartNumber=number, Body=data, **read_args(mode)
        )
        etags.append({"PartNumber": number, "ETag": answer["ETag"]})
    listed = client.list_parts(Bucket=bkt, Key="mp", UploadId=upload)
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts]  # plaintext sizes
    done = {"Parts": etags}
    if mode == "sse-c":  # completing an SSE-C upload needs its key too
        with pytest.raises(ClientError) as caught:
            client.complete_multipart_upload(
                Bucket=bkt, Key="mp", UploadId=upload, MultipartUpload=done
            )
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.complete_multipart_upload(
        Bucket=bkt, Key="mp", UploadId=upload, MultipartUpload=done, **read_args(mode)
    )
    whole = b"".join(parts)
    got = client.get_object(Bucket=bkt, Key="mp", **read_args(mode))
    assert got["ContentLength"] == len(whole)
    assert got["Body"].read() == whole
    boundary = len(parts[0])
    ranged = client.get_object(
        Bucket=bkt, Key="mp", Range=f"bytes={boundary - 10}-{boundary + 10}", **read_args(mode)
    )
    assert ranged["Body"].read() == whole[boundary - 10 : boundary + 11]
    for number, data in enumerate(parts, 1):
        part = client.get_object(Bucket=bkt, Key="mp", PartNumber=number, **read_args(mode))
        assert part["Body"].read() == data
        assert part["PartsCount"] == 3


def test_upload_part_needs_the_uploads_customer_key(client, bkt: str) -> None:
    upload = client.create_multipart_upload(Bucket=bkt, Key="mp", **SSE_C)["UploadId"]
    with pytest.raises(ClientError) as caught:
        client.upload_part(Bucket=bkt, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        client.upload_part(
            Bucket=bkt, Key="mp", UploadId=upload, PartNumber=1, Body=b"x",
            SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32),
        )  # fmt: skip
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.abort_multipart_upload(Bucket=bkt, Key="mp", UploadId=upload)


@pytest.mark.parametrize("source", list(MODES))
@pytest.mark.parametrize("target", list(MODES))
def test_copy_between_modes(client, bkt: str, source: str, target: str) -> None:
    client.put_object(Bucket=bkt, Key="src", Body=PAYLOAD, **MODES[source])
    copy_args = dict(COPY_SSE_C) if source == "sse-c" else {}
    client.copy_object(
        Bucket=bkt,
        Key="dst",
        CopySource={"Bucket": bkt, "Key": "src"},
        **copy_args,
        **MODES[target],
    )
    head = client.head_object(Bucket=bkt, Key="dst", **read_args(target))
    assert head["ContentLength"] == len(PAYLOAD)
    assert head.get("ServerSideEncryption") == {"sse-s3": "AES256", "sse-kms": "aws:kms"}.get(
        target
    )
    assert client.get_object(Bucket=bkt, Key="dst", **read_args(target))["Body"].read() == PAYLOAD


def test_upload_part_copy_from_encrypted_source(client, bkt: str) -> None:
    client.put_object(Bucket=bkt, Key="src", Body=PAYLOAD, **SSE_C)
    upload = client.create_multipart_upload(Bucket=bkt, Key="mp", ServerSideEncryption="AES256")[
        "UploadId"
    ]
    part = client.upload_part_copy(
        Bucket=bkt, Key="mp", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bkt, "Key": "src"}, CopySourceRange="bytes=100-70099", **COPY_SSE_C,
    )  # fmt: skip
    client.complete_multipart_upload(
        Bucket=bkt, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )  # fmt: skip
    assert client.get_object(Bucket=bkt, Key="mp")["Body"].read() == PAYLOAD[100:70100]


def test_sse_c_refused_over_plain_http(tmp_path: Path) -> None:
    with running_waitress(tmp_path) as srv:
        plain = make_client(srv)
        name = unique_bucket_name("ssec")
        plain.create_bucket(Bucket=name)
        with pytest.raises(ClientError) as caught:
            plain.put_object(Bucket=name, Key="c", Body=b"x", **SSE_C)
        assert caught.value.response["Error"]["Code"] == "InvalidRequest"
        assert "secure" in caught.value.response["Error"]["Message"]
        plain.delete_bucket(Bucket=name)


def test_master_key_kept_0600_and_rotation_keeps_old_objects(
    client, sse_server: RunningServer, bkt: str
) -> None:
    client.put_object(Bucket=bkt, Key="old", Body=b"before rotation", ServerSideEncryption="AES256")
    keyfile = sse_server.data_dir / "sse" / "master-keys.json"
    assert keyfile.stat().st_mode & 0o777 == 0o600
    subprocess.run(
        [
            sys.executable,
            "-m",
            "boxdrive_wsgi.cli",
            "sse-master",
            "rotate",
            "--data-dir",
            str(sse_server.data_dir),
        ],
        check=True,
        capture_output=True,
    )
    client.put_object(Bucket=bkt, Key="new", Body=b"after rotation", ServerSideEncryption="AES256")
    assert client.get_object(Bucket=bkt, Key="old")["Body"].read() == b"before rotation"
    assert client.get_object(Bucket=bkt, Key="new")["Body"].read() == b"after rotation"


def test_bucket_policy_on_the_customer_key_algorithm(client, bkt: str) -> None:
    """``s3:x-amz-server-side-encryption-customer-algorithm`` is a condition key: a
    policy can require SSE-C (the owner too is bound by a Deny)."""
    condition = {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"}}
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bkt}/*",
        "Condition": condition,
    }
    client.put_bucket_policy(
        Bucket=bkt, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    with pytest.raises(ClientError) as denied:
        client.put_object(Bucket=bkt, Key="plain", Body=b"x")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    client.put_object(Bucket=bkt, Key="sse-c", Body=b"x", **SSE_C)
    client.delete_bucket_policy(Bucket=bkt)
