"""auth/presign: SigV4 query presigning the server's own verifier accepts, and botocore's
presigner agrees with byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from boxdrive_wsgi.auth import presign, sigv4
from boxdrive_wsgi.protocol.errors import S3Error

NOW = datetime(2026, 12, 2, 15, 30, 0, tzinfo=UTC)
KEYS = {"access_key": "AKPRESIGN0000000001", "secret_key": "presign-secret/+value"}


def url_for(path: str, **kwargs: object) -> str:
    arguments: dict[str, object] = {
        "scheme": "http",
        "host": "127.0.0.1:9000",
        "path": path,
        "region": "us-east-1",
        "expires": 600,
        "now": NOW,
        **KEYS,
        **kwargs,
    }
    return presign.presign(str(arguments.pop("method", "GET")), **arguments)  # type: ignore[arg-type]


def verify(
    url: str, method: str = "GET", now: datetime = NOW, host: str = "127.0.0.1:9000"
) -> None:
    parts = urlsplit(url)
    claim = sigv4.parse_request_auth(method, parts.path, parts.query, {"host": host})
    assert claim is not None and claim.presigned
    sigv4.verify(claim, KEYS["secret_key"], now, region="us-east-1")


@pytest.mark.parametrize("path", ["/b/k", "/b/a b/ü ~!*'()$.txt", "/b//double//slash/", "/s3/b/k"])
def test_the_verifier_accepts_what_presign_signs(path: str) -> None:
    verify(url_for(path))
    verify(url_for(path, method="PUT", query=[("partNumber", "3"), ("uploadId", "u/+=")]), "PUT")
    verify(url_for(path, method="POST", query=[("uploads", "")]), "POST")


def test_a_changed_path_method_host_or_time_is_refused() -> None:
    url = url_for("/b/k")
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        verify(url.replace("/b/k", "/b/other"))
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        verify(url, "DELETE")
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        verify(url, host="evil.test")
    with pytest.raises(S3Error, match="AccessDenied"):
        verify(url, now=NOW + timedelta(seconds=601))


def test_expiry_is_bounded_by_s3s_week() -> None:
    verify(url_for("/b/k", expires=7 * 24 * 3600), now=NOW + timedelta(days=6, hours=23))
    for bad in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="expires"):
            url_for("/b/k", expires=bad)


def test_botocore_signs_the_same_url() -> None:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    theirs = client.generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "a b/ü.txt"}, ExpiresIn=600
    )
    query = dict(p.split("=", 1) for p in urlsplit(theirs).query.split("&"))
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = url_for("/b/a b/ü.txt", now=signed_at)
    signature = query["X-Amz-Signature"]
    assert ours.endswith("X-Amz-Signature=" + signature)
    assert urlsplit(ours).path == urlsplit(theirs).path
