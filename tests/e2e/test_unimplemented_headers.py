"""No header is silently ignored (issue 11, item 12) and three answers S3 gives
(item 14): UploadPartCopy ranges past the end, re-creating one's own bucket.

Object lock headers on a bucket without object lock get S3's InvalidRequest
(encryption: tests/e2e/test_encryption.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests
from botocore.exceptions import ClientError

from . import raw
from .conftest import make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

SSE_C_KEY = b"k" * 32
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSE_C_KEY.decode()}
COPY_SSE_C = {
    "CopySourceSSECustomerAlgorithm": "AES256",
    "CopySourceSSECustomerKey": SSE_C_KEY.decode(),
}


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def assert_missing(s3, bucket: str, key: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key=key)
    assert error_of(caught)[1] == 404


@pytest.mark.parametrize(
    "options",
    [
        {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": "2099-01-01T00:00:00Z"},
        {"ObjectLockLegalHoldStatus": "ON"},
    ],
)
def test_object_lock_headers_need_a_lock_bucket(
    s3, bucket: str, options: dict[str, object]
) -> None:
    """As S3: InvalidRequest (the bucket has no object lock), never a plain object."""
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", **options)
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.create_multipart_upload(Bucket=bucket, Key="k", **options)
    assert error_of(caught) == ("InvalidRequest", 400)
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/src", **options)
    assert error_of(caught) == ("InvalidRequest", 400)
    assert_missing(s3, bucket, "k")


@pytest.mark.parametrize(
    "options",
    [
        {"WebsiteRedirectLocation": "/elsewhere"},
    ],
)
def test_writes_refuse_missing_features(s3, bucket: str, options: dict[str, object]) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", **options)
    assert error_of(caught) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as caught:
        s3.create_multipart_upload(Bucket=bucket, Key="k", **options)
    assert error_of(caught) == ("NotImplemented", 501)
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/src", **options)
    assert error_of(caught) == ("NotImplemented", 501)
    assert_missing(s3, bucket, "k")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"x-amz-server-side-encryption-customer-key": "a2V5"}, "valid encryption algorithm"),
        ({"x-amz-server-side-encryption-customer-key-MD5": "bWQ1"}, "valid encryption algorithm"),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256"}, "appropriate secret key"),
    ],
)
def test_partial_customer_key_is_invalid_argument(
    server: RunningServer, bucket: str, headers: dict[str, str], message: str
) -> None:
    for method in ("PUT", "GET"):
        response = raw.request(server, method, f"/{bucket}/k", headers=headers, body=b"x")
        assert response.status_code == 400
        fields = raw.error_fields(response)
        assert fields["Code"] == "InvalidArgument"
        assert message in fields["Message"]
        assert "a2V5" not in response.text  # the key is a secret: never echoed


def test_reads_refuse_encryption_parameters(server: RunningServer, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"plain")
    for method in ("GET", "HEAD"):
        for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-context"):
            response = raw.request(server, method, f"/{bucket}/k", headers={header: "AES256"})
            assert response.status_code == 400, (method, header)
            if method == "GET":
                assert raw.error_fields(response)["Code"] == "InvalidArgument"
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as caught:
            call(Bucket=bucket, Key="k", **SSE_C)
        assert error_of(caught)[1] == 400
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k", **SSE_C)
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(
            Bucket=bucket,
            Key="copy",
            CopySource=f"{bucket}/k",
            MetadataDirective="REPLACE",
            **COPY_SSE_C,
        )
    assert error_of(caught) == ("InvalidRequest", 400)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x", **SSE_C)
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            PartNumber=1,
            CopySource=f"{bucket}/k",
            **COPY_SSE_C,
        )
    assert error_of(caught) == ("InvalidRequest", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


@pytest.mark.parametrize("past", [0, 1, 1000])
def test_upload_part_copy_range_past_the_end(s3, bucket: str, past: int) -> None:
    source = b"0123456789"
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload,
            PartNumber=1,
            CopySource=f"{bucket}/src",
            CopySourceRange=f"bytes=0-{len(source) + past}",
        )
    assert error_of(caught) == ("InvalidArgument", 400)
    error: dict[str, str] = dict(caught.value.response["Error"])  # type: ignore[arg-type]
    assert error["Message"] == "Range specified is not valid for source object of size: 10"
    assert error["ArgumentName"] == "x-amz-copy-source-range"
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=upload).get("Parts", []) == []
    whole = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload,
        PartNumber=1,
        CopySource=f"{bucket}/src",
        CopySourceRange=f"bytes=0-{len(source) - 1}",
    )
    assert whole["CopyPartResult"]["ETag"] == f'"{hashlib.md5(source).hexdigest()}"'
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload)


def test_recreating_own_bucket_in_us_east_1_is_ok_and_resets_the_acl(s3) -> None:
    name = unique_bucket_name()
    s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        again = s3.create_bucket(Bucket=name)
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
        grants = s3.get_bucket_acl(Bucket=name)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # private again
    finally:
        s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="module")
def other_region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    region = "eu-west-1"
    with running_waitress(
        tmp_path_factory.mktemp("eu"), threads=2, extra_env={"BOXDRIVE_REGION": region}
    ) as srv:
        srv.region = region
        yield srv


def test_recreating_own_bucket_elsewhere_is_already_owned(other_region: RunningServer) -> None:
    client = make_client(other_region)
    config = {"LocationConstraint": other_region.region}
    client.create_bucket(Bucket="mine", CreateBucketConfiguration=config)
    with pytest.raises(ClientError) as caught:
        client.create_bucket(Bucket="mine", CreateBucketConfiguration=config)
    assert error_of(caught) == ("BucketAlreadyOwnedByYou", 409)


def test_post_object_encryption_fields_encrypt(server: RunningServer, s3, bucket: str) -> None:
    fields = {"x-amz-server-side-encryption": "AES256"}
    post = make_client(server, signature_version="s3v4").generate_presigned_post(
        Bucket=bucket, Key="form", Fields=fields, Conditions=[fields], ExpiresIn=300
    )
    files = {"file": ("f.bin", b"data", "application/octet-stream")}
    response = requests.post(post["url"], data=post["fields"], files=files, timeout=30)
    assert response.status_code == 204
    assert response.headers["x-amz-server-side-encryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="form")
    assert (head["ServerSideEncryption"], head["ContentLength"]) == ("AES256", 4)
    assert s3.get_object(Bucket=bucket, Key="form")["Body"].read() == b"data"
