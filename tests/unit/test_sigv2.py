"""Signature V2: what boto3's generate_presigned_url and older tools send."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.auth import HmacV1Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from waitress.server import create_server

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth import sigv2
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.stores import MemoryStore

ACCESS, SECRET = "AKIAV2TEST", "v2-secret"


def signed(method: str, url: str, headers: dict[str, str] | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    request.auth_path = urlsplit(url).path
    HmacV1Auth(BotoCredentials(ACCESS, SECRET)).add_auth(request)
    return request


def claim_of(request: AWSRequest) -> sigv2.V2Request:
    split = urlsplit(str(request.url))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return sigv2.parse_v2(str(request.method), split.path, split.query, headers)


def test_botocore_header_signature_verifies() -> None:
    request = signed(
        "PUT",
        "http://host/bucket/a%20key?tagging",
        {"Content-Type": "text/plain", "x-amz-meta-Color": " blue  sky ", "x-amz-acl": "private"},
    )
    sigv2.verify(claim_of(request), SECRET, datetime.now(UTC))


def test_wrong_secret_and_tampering_fail() -> None:
    request = signed("GET", "http://host/bucket/key")
    with pytest.raises(S3Error) as raised:
        sigv2.verify(claim_of(request), "other", datetime.now(UTC))
    assert raised.value.code == "SignatureDoesNotMatch"
    request.url = "http://host/bucket/other-key"
    with pytest.raises(S3Error):
        sigv2.verify(claim_of(request), SECRET, datetime.now(UTC))


def test_skewed_date_is_refused() -> None:
    request = signed("GET", "http://host/bucket/key")
    with pytest.raises(S3Error) as raised:
        sigv2.verify(claim_of(request), SECRET, datetime.now(UTC) + timedelta(minutes=20))
    assert raised.value.code == "RequestTimeTooSkewed"


@pytest.fixture
def endpoint() -> Iterator[str]:
    app = create_app(MemoryStore(), access_key=ACCESS, secret_key=SECRET)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def client(endpoint: str, signature_version: str) -> object:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            signature_version=signature_version,
            retries={"total_max_attempts": 1},
        ),
    )


def test_boto3_default_presigned_urls_work(endpoint: str) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    s3.create_bucket(Bucket="v2-bucket")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "v2-bucket", "Key": "the key+1"}
    )
    assert "Signature=" in put_url  # boto3 presigns with SigV2 by default
    assert requests.put(put_url, data=b"presigned", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "v2-bucket", "Key": "the key+1"}
    )
    response = requests.get(get_url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"presigned"
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "v2-bucket", "Key": "the key+1"}, ExpiresIn=-10
    )
    refused = requests.get(expired, timeout=10)
    assert refused.status_code == 403
    assert b"<Code>AccessDenied</Code>" in refused.content


def test_boto3_with_signature_v2_client(endpoint: str) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="v2-client")  # type: ignore[attr-defined]
    s3.put_object(Bucket="v2-client", Key="k", Body=b"v2", Metadata={"a": "b"})  # type: ignore[attr-defined]
    assert s3.get_object(Bucket="v2-client", Key="k")["Body"].read() == b"v2"  # type: ignore[attr-defined]
