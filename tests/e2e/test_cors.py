"""Bucket CORS configuration (boto3) and CORS on the wire (raw requests: preflights are
unauthenticated, as browsers send them)."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from . import raw

RULES = {
    "CORSRules": [
        {
            "ID": "app",
            "AllowedOrigins": ["https://app.example.com", "https://*.example.org"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
    ]
}


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def preflight(server, path: str, origin: str | None, method: str | None, headers: str = ""):
    sent: dict[str, str] = {}
    if origin is not None:
        sent["Origin"] = origin
    if method is not None:
        sent["Access-Control-Request-Method"] = method
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(server.endpoint + path, headers=sent, timeout=10)


def test_bucket_cors_configuration(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as absent:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(absent) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://app.example.com", "https://*.example.org"]
    assert got[0]["AllowedMethods"] == ["GET", "PUT"]
    assert got[0]["ExposeHeaders"] == ["ETag", "x-amz-request-id"]
    assert got[0]["MaxAgeSeconds"] == 600 and got[0]["ID"] == "app"
    assert got[1]["AllowedMethods"] == ["HEAD"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(gone) == "NoSuchCORSConfiguration"


def test_invalid_cors_configuration(s3, bucket: str, server) -> None:
    bad = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
    with pytest.raises(ClientError) as method:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=bad)
    assert code(method) == "InvalidRequest"
    assert "PATCH" in method.value.response["Error"]["Message"]
    body = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
    response = raw.request(server, "PUT", f"/{bucket}", params={"cors": ""}, body=body)
    assert response.status_code == 400 and b"MalformedXML" in response.content
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_preflight_allowed(s3, bucket: str, server) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    response = preflight(
        server, f"/{bucket}/some/key", "https://app.example.com", "PUT", "Content-Type, X-Amz-Date"
    )
    assert response.status_code == 200, response.text
    h = response.headers
    assert h["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert h["Access-Control-Allow-Methods"] == "GET, PUT"
    assert h["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert h["Access-Control-Max-Age"] == "600"
    assert h["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert "Origin" in h["Vary"]
    wildcard = preflight(server, f"/{bucket}", "https://a.example.org", "GET")
    assert wildcard.status_code == 200
    assert wildcard.headers["Access-Control-Allow-Origin"] == "https://a.example.org"
    anyone = preflight(server, f"/{bucket}/k", "https://elsewhere.test", "HEAD")
    assert anyone.status_code == 200
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example.com", "GET", ""),
        ("https://app.example.com", "DELETE", ""),
        ("https://app.example.com", "PUT", "authorization"),
    ],
)
def test_preflight_refused(s3, bucket: str, server, origin: str, method: str, headers: str):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    response = preflight(server, f"/{bucket}/k", origin, method, headers)
    assert response.status_code == 403
    assert b"<Code>AccessForbidden</Code>" in response.content
    assert b"CORSResponse: This CORS request is not allowed" in response.content
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_without_configuration_or_origin(bucket: str, server) -> None:
    response = preflight(server, f"/{bucket}/k", "https://app.example.com", "GET")
    assert response.status_code == 403
    assert b"CORS is not enabled for this bucket" in response.content
    response = preflight(server, f"/{bucket}/k", None, "GET")
    assert response.status_code == 400
    assert b"Origin request header needed" in response.content


def test_actual_request_gets_cors_headers(s3, bucket: str, server) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    url = f"/{bucket}/k"
    ok = raw.request(server, "GET", url, headers={"Origin": "https://app.example.com"})
    assert ok.status_code == 200 and ok.content == b"hello"
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in ok.headers["Vary"]
    other = raw.request(server, "GET", url, headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    missing = raw.request(
        server, "GET", f"/{bucket}/absent", headers={"Origin": "https://app.example.com"}
    )
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    plain = raw.request(server, "GET", url)
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_preflight_does_not_open_anything_else(bucket: str, server) -> None:
    # OPTIONS is unauthenticated; every other method still needs a signature.
    response = requests.get(f"{server.endpoint}/{bucket}", timeout=10)
    assert response.status_code == 403
    assert b"AccessDenied" in response.content
