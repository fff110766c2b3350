"""Authentication and integrity against a real waitress server: SigV4 in headers, presigned
URLs and signed aws-chunked bodies; the checks that keep a tampered, stale or unknown request
out; integrity checks (x-amz-content-sha256, Content-MD5) that store nothing on a mismatch; and
secrets that never reach the server's log."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import io
import os
import time
import zlib
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import quote

import botocore.compat
import botocore.crt.auth
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.chunked import ChunkSigner

from . import raw
from .conftest import make_client
from .servers import RunningServer


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def assert_missing(s3: Any, bucket: str, key: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key=key)
    assert error_code(exc) == ("404", 404)


def assert_secret_not_logged(server: RunningServer) -> None:
    assert server.secret_key
    assert server.secret_key not in server.log(), "the secret key appeared in the server log"


@contextlib.contextmanager
def signing_clock(offset: timedelta) -> Iterator[None]:
    """botocore signs as if its clock were ``offset`` off."""
    real = botocore.compat.get_current_datetime

    def skewed(remove_tzinfo: bool = True) -> datetime:
        now: datetime = real(remove_tzinfo)
        return now + offset

    # With awscrt installed (a dependency) botocore signs S3 requests with its CRT signers.
    with (
        mock.patch("botocore.auth.get_current_datetime", skewed),
        mock.patch("botocore.crt.auth.get_current_datetime", skewed),
    ):
        yield


def tamper_signature(request: Any, **_: Any) -> None:
    """botocore before-send hook: flip the last hex digit of the signature."""
    auth = request.headers["Authorization"]
    auth = auth.decode() if isinstance(auth, bytes) else auth
    request.headers["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")


# -- header signatures --------------------------------------------------------------------


def test_signed_requests_work_and_configured_secret_is_not_logged(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    assert_secret_not_logged(server)


def test_tampered_signature(server, bucket):
    s3 = make_client(server)
    s3.meta.events.register("before-send.s3.PutObject", tamper_signature)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="tampered", Body=b"x" * 100)
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    assert exc.value.response["Error"].get("AWSAccessKeyId") == server.access_key
    assert_missing(make_client(server), bucket, "tampered")
    assert_secret_not_logged(server)


def test_wrong_secret(server, bucket):
    s3 = make_client(replace(server, secret_key=server.secret_key + "x"))
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=bucket)
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="wrong-secret", Body=b"data")
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    assert_missing(make_client(server), bucket, "wrong-secret")
    assert_secret_not_logged(server)


def test_unknown_access_key(server, bucket):
    s3 = make_client(replace(server, access_key="AKUNKNOWN0000000000"))
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert error_code(exc) == ("InvalidAccessKeyId", 403)
    assert exc.value.response["Error"].get("AWSAccessKeyId") == "AKUNKNOWN0000000000"


def test_no_credentials(server, bucket):
    plain = requests.get(f"{server.endpoint}/{bucket}", timeout=10)
    assert plain.status_code == 403
    assert raw.error_fields(plain)["Code"] == "AccessDenied"
    unsigned = make_client(server, signature_version=UNSIGNED)
    with pytest.raises(ClientError) as exc:
        unsigned.put_object(Bucket=bucket, Key="anon", Body=b"x")
    assert error_code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        unsigned.list_buckets()
    assert error_code(exc) == ("AccessDenied", 403)
    assert_missing(make_client(server), bucket, "anon")


@pytest.mark.parametrize("minutes", [20, -20])
def test_clock_skew(server, bucket, minutes):
    s3 = make_client(server)
    with signing_clock(timedelta(minutes=minutes)), pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="skewed", Body=b"x")
    assert error_code(exc) == ("RequestTimeTooSkewed", 403)
    assert "ServerTime" in exc.value.response["Error"]
    with signing_clock(timedelta(minutes=minutes // 4)):  # within the 15 minutes allowed
        s3.put_object(Bucket=bucket, Key="slightly-off", Body=b"x")
    assert_missing(s3, bucket, "skewed")


def test_wrong_region_in_scope(server, bucket):
    url = f"{server.endpoint}/{bucket}"
    headers = raw.sign_headers(replace(server, region="eu-west-1"), "GET", url, body=b"")
    resp = requests.get(url, headers=headers, timeout=10)
    assert resp.status_code == 400
    fields = raw.error_fields(resp)
    assert fields["Code"] == "AuthorizationHeaderMalformed"
    assert fields["Region"] == server.region
    # botocore reads <Region> and re-signs for it, so a misconfigured client still works.
    s3 = make_client(server, region_name="eu-west-1")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# -- payload integrity --------------------------------------------------------------------


def test_tampered_body_with_hex_content_sha256(server, s3, bucket):
    signed_body, sent_body = b"a" * 1000, b"b" * 1000
    url = f"{server.endpoint}/{bucket}/tampered-body"
    headers = raw.sign_headers(server, "PUT", url, body=signed_body)
    assert len(headers["X-Amz-Content-SHA256"]) == 64
    resp = requests.put(url, data=sent_body, headers=headers, timeout=30)
    assert resp.status_code == 400
    assert raw.error_fields(resp)["Code"] == "XAmzContentSHA256Mismatch"
    assert_missing(s3, bucket, "tampered-body")
    ok = requests.put(url, data=signed_body, headers=headers, timeout=30)  # the same, honest
    assert ok.status_code == 200


def test_wrong_content_md5(server, s3, bucket):
    wrong = b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad-md5", Body=b"the body", ContentMD5=wrong)
    assert error_code(exc) == ("BadDigest", 400)
    assert_missing(s3, bucket, "bad-md5")
    url = f"{server.endpoint}/{bucket}/bad-md5-raw"
    headers = raw.sign_headers(server, "PUT", url, headers={"Content-MD5": wrong}, body=b"the body")
    resp = requests.put(url, data=b"the body", headers=headers, timeout=30)
    assert resp.status_code == 400 and raw.error_fields(resp)["Code"] == "BadDigest"
    assert_missing(s3, bucket, "bad-md5-raw")


def test_wrong_checksum_header(server, s3, bucket):
    wrong = b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    url = f"{server.endpoint}/{bucket}/bad-crc"
    headers = raw.sign_headers(
        server, "PUT", url, headers={"x-amz-checksum-crc32": wrong}, body=b"the body"
    )
    resp = requests.put(url, data=b"the body", headers=headers, timeout=30)
    assert resp.status_code == 400 and raw.error_fields(resp)["Code"] == "BadDigest"
    assert_missing(s3, bucket, "bad-crc")


# -- presigned URLs -------------------------------------------------------------------------


@pytest.fixture
def s3v4(server):
    """boto3 presigns S3 URLs with SigV2 for a custom endpoint unless told otherwise;
    these tests are about SigV4 presigned URLs."""
    return make_client(server, signature_version="s3v4")


def test_presigned_get_and_put(server, s3, s3v4, bucket):
    put_url = s3v4.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "pre/signed.bin"}, ExpiresIn=300
    )
    data = bytes(range(256)) * 1000
    assert "X-Amz-Signature=" in put_url
    put = requests.put(put_url, data=data, timeout=30)
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    get_url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "pre/signed.bin"}, ExpiresIn=300
    )
    got = requests.get(get_url, timeout=30)
    assert got.status_code == 200 and got.content == data
    ranged = requests.get(get_url, headers={"Range": "bytes=0-9"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == data[:10]
    # The signature covers the key: another key with the same query is refused.
    other = get_url.replace("pre/signed.bin", "pre/other.bin")
    denied = requests.get(other, timeout=30)
    assert denied.status_code == 403
    assert raw.error_fields(denied)["Code"] == "SignatureDoesNotMatch"
    assert_secret_not_logged(server)


def test_expired_presigned_urls(server, s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="exists", Body=b"old")
    with signing_clock(timedelta(hours=-2)):
        get_url = s3v4.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "exists"}, ExpiresIn=60
        )
        put_url = s3v4.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=60
        )
    got = requests.get(get_url, timeout=30)
    assert got.status_code == 403
    assert raw.error_fields(got)["Code"] == "AccessDenied"
    assert "expired" in raw.error_fields(got)["Message"]
    put = requests.put(put_url, data=b"too late", timeout=30)
    assert put.status_code == 403 and raw.error_fields(put)["Code"] == "AccessDenied"
    assert_missing(s3, bucket, "late")


def test_expired_presigned_url_by_waiting(server, s3, s3v4, bucket):
    url = s3v4.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "waited"}, ExpiresIn=1
    )
    time.sleep(2.1)
    put = requests.put(url, data=b"late", timeout=30)
    assert put.status_code == 403 and raw.error_fields(put)["Code"] == "AccessDenied"
    assert_missing(s3, bucket, "waited")


def test_presigned_expiry_over_a_week(server, s3, s3v4, bucket):
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=8 * 24 * 3600
    )
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 400
    assert raw.error_fields(resp)["Code"] == "AuthorizationQueryParametersError"
    week = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=7 * 24 * 3600
    )
    assert requests.get(week, timeout=30).status_code == 404  # valid; the key is missing


def test_presigned_with_a_wrong_secret(server, bucket):
    s3v4 = make_client(replace(server, secret_key="not-the-secret"), signature_version="s3v4")
    url = s3v4.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket}, ExpiresIn=60)
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 403
    assert raw.error_fields(resp)["Code"] == "SignatureDoesNotMatch"


# -- boto3 configurations --------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {},
        {
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        },
    ],
    ids=["default", "when_required"],
)
def test_boto3_configurations(server, bucket, config):
    s3 = make_client(server, **config)
    data = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=bucket, Key="obj", Body=data, Metadata={"who": "boto3"})
    got = s3.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["Metadata"] == {"who": "boto3"}
    if not config:  # the SDK default sends a CRC32, which the server keeps and returns
        assert got["ChecksumCRC32"] == b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    s3.upload_fileobj(
        io.BytesIO(data),
        bucket,
        "uploaded",
        Config=TransferConfig(multipart_threshold=64 * 1024**2),
    )
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == data
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["obj", "uploaded"]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "obj"}, {"Key": "uploaded"}]})
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# -- signed aws-chunked uploads ---------------------------------------------------------------

SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_chunked_put(
    server: RunningServer,
    bucket: str,
    key: str,
    data: bytes,
    *,
    chunk_size: int = 64 * 1024,
    trailer: bool = False,
    tamper_chunk: int | None = None,
    secret_key: str | None = None,
) -> raw.RawResponse:
    """PUT ``data`` as a signed aws-chunked body, built here from the SigV4 spec: the seed
    signature computed independently, chunk signatures chained with ChunkSigner."""
    mode = SIGNED_STREAMING_TRAILER if trailer else SIGNED_STREAMING
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{server.region}/s3/aws4_request"
    path = f"/{bucket}/{quote(key, safe='/-_.~')}"
    headers = {
        "content-encoding": "aws-chunked",
        "host": f"{server.host}:{server.port}",
        "x-amz-content-sha256": mode,
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(data)),
    }
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = sorted(headers)
    canonical = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join(f"{name}:{headers[name]}\n" for name in signed),
            ";".join(signed),
            mode,
        ]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signing_key = ("AWS4" + (secret_key or server.secret_key)).encode()
    for part in scope.split("/"):
        signing_key = _hmac(signing_key, part)
    seed = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signer = ChunkSigner(signing_key, seed, amz_date, scope)

    body = bytearray()
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for index, chunk in enumerate(chunks):
        signature = signer.chunk_signature(hashlib.sha256(chunk).hexdigest())
        signer.previous = signature
        if index == tamper_chunk and chunk:
            chunk = bytes([chunk[0] ^ 1]) + chunk[1:]  # the data no longer matches
        elif index == tamper_chunk:
            signature = "0" * 64  # the final, empty chunk: a wrong signature
        body += f"{len(chunk):x};chunk-signature={signature}\r\n".encode()
        if chunk:
            body += chunk + b"\r\n"
    if trailer:
        crc = b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        line = f"x-amz-checksum-crc32:{crc}\n"
        body += line.replace("\n", "\r\n").encode()
        body += f"x-amz-trailer-signature:{signer.trailer_signature(line.encode())}\r\n".encode()
    body += b"\r\n"

    authorization = (
        f"AWS4-HMAC-SHA256 Credential={server.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={seed}"
    )
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for name, value in {**headers, "authorization": authorization}.items():
            conn.putheader(name, value)
        conn.putheader("content-length", str(len(body)))
        conn.endheaders(bytes(body))
        resp = conn.getresponse()
        return raw.RawResponse(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("trailer", [False, True], ids=["signed", "signed-trailer"])
def test_signed_aws_chunked_upload(server, s3, bucket, trailer):
    data = os.urandom(200_000)
    resp = signed_chunked_put(server, bucket, "chunked", data, trailer=trailer)
    assert resp.status == 200, resp.body
    assert resp.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    if trailer:
        assert got["ChecksumCRC32"] == b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("tamper_chunk", [0, 2, 3], ids=["first", "last-data", "final-empty"])
def test_signed_aws_chunked_tampered_chunk(server, s3, bucket, tamper_chunk):
    data = os.urandom(64 * 1024 * 2 + 1000)  # chunks 0, 1, 2 carry data; 3 is the final one
    resp = signed_chunked_put(server, bucket, "tampered", data, tamper_chunk=tamper_chunk)
    assert resp.status == 403, resp.body
    assert raw.error_fields(resp)["Code"] == "SignatureDoesNotMatch"
    assert_missing(s3, bucket, "tampered")
    assert signed_chunked_put(server, bucket, "tampered", data).status == 200  # control


def test_signed_aws_chunked_wrong_seed(server, s3, bucket):
    resp = signed_chunked_put(server, bucket, "bad-seed", b"x" * 10_000, secret_key="wrong")
    assert resp.status == 403
    assert raw.error_fields(resp)["Code"] == "SignatureDoesNotMatch"
    assert_missing(s3, bucket, "bad-seed")
    assert_secret_not_logged(server)
