"""POST Object: browser form uploads signed by botocore's generate_presigned_post,
sent with requests as a browser would (multipart/form-data, no Authorization)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests

from .conftest import make_client


@pytest.fixture(scope="module", params=["v4", "v2"])
def poster(request: pytest.FixtureRequest, server):
    """A client signing POST policies with SigV4, and boto3's default (SigV2)."""
    if request.param == "v4":
        return make_client(server, signature_version="s3v4")
    return make_client(server)


def post_form(post: dict[str, Any], data: bytes, filename: str = "upload.bin", **extra: str):
    fields = {**post["fields"], **extra}
    files = {"file": (filename, data, "application/octet-stream")}
    return requests.post(post["url"], data=fields, files=files, timeout=30)


def test_presigned_post_upload(s3, poster, bucket: str) -> None:
    data = b"form upload " * 50_000  # 600 KB: streamed, not a small field
    post = poster.generate_presigned_post(Bucket=bucket, Key="uploads/form.bin", ExpiresIn=300)
    response = post_form(post, data)
    assert response.status_code == 204, response.text
    assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="uploads/form.bin")["Body"].read() == data


def test_filename_substitution_and_fields(s3, poster, bucket: str) -> None:
    post = poster.generate_presigned_post(
        Bucket=bucket,
        Key="user/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "form"},
        Conditions=[
            {"Content-Type": "text/plain"},
            {"x-amz-meta-origin": "form"},
            ["content-length-range", 1, 1000],
        ],
    )
    response = post_form(post, b"hello", filename="greeting.txt")
    assert response.status_code == 204, response.text
    head = s3.head_object(Bucket=bucket, Key="user/greeting.txt")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"origin": "form"}


def test_success_action_status_and_redirect(s3, poster, bucket: str) -> None:
    post = poster.generate_presigned_post(
        Bucket=bucket,
        Key="k201",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )
    created = post_form(post, b"x")
    assert created.status_code == 201, created.text
    root = ET.fromstring(created.content)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert root.findtext(f"{ns}Key") == "k201" and root.findtext(f"{ns}Bucket") == bucket
    assert root.findtext(f"{ns}ETag") == f'"{hashlib.md5(b"x").hexdigest()}"'
    post = poster.generate_presigned_post(
        Bucket=bucket,
        Key="k303",
        Fields={"success_action_redirect": "https://example.com/done?x=1"},
        Conditions=[{"success_action_redirect": "https://example.com/done?x=1"}],
    )
    fields = post["fields"]
    redirected = requests.post(
        post["url"], data=fields, files={"file": ("f", b"y")}, allow_redirects=False, timeout=30
    )
    assert redirected.status_code == 303, redirected.text
    location = redirected.headers["Location"]
    assert location.startswith("https://example.com/done?x=1&bucket=")
    assert "key=k303" in location
    assert s3.get_object(Bucket=bucket, Key="k303")["Body"].read() == b"y"


def test_policy_violations(s3, poster, bucket: str) -> None:
    post = poster.generate_presigned_post(
        Bucket=bucket, Key="limited", Conditions=[["content-length-range", 10, 20]]
    )
    too_big = post_form(post, b"z" * 21)
    assert too_big.status_code == 400 and b"<Code>EntityTooLarge</Code>" in too_big.content
    too_small = post_form(post, b"z" * 9)
    assert too_small.status_code == 400 and b"<Code>EntityTooSmall</Code>" in too_small.content
    assert post_form(post, b"z" * 15).status_code == 204
    # A field the policy does not mention, and a key the policy does not allow.
    extra = post_form(post, b"z" * 15, **{"x-amz-meta-sneaky": "1"})
    assert extra.status_code == 403
    assert b"Invalid according to Policy: Extra input fields" in extra.content
    other_key = post_form(post, b"z" * 15, key="elsewhere")
    assert other_key.status_code == 403
    assert b"Invalid according to Policy: Policy Condition failed" in other_key.content
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["limited"]


def test_bad_signature_expired_and_anonymous(s3, poster, bucket: str) -> None:
    post = poster.generate_presigned_post(Bucket=bucket, Key="k")
    forged = dict(post["fields"])
    name = "x-amz-signature" if "x-amz-signature" in forged else "signature"
    forged[name] = "0" * 64 if name == "x-amz-signature" else "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    response = requests.post(post["url"], data=forged, files={"file": ("f", b"1")}, timeout=30)
    assert response.status_code == 403 and b"SignatureDoesNotMatch" in response.content
    expired = poster.generate_presigned_post(Bucket=bucket, Key="k", ExpiresIn=-10)
    response = post_form(expired, b"1")
    assert response.status_code == 403 and b"Policy expired" in response.content
    anonymous = requests.post(
        post["url"], data={"key": "k"}, files={"file": ("f", b"1")}, timeout=30
    )
    assert anonymous.status_code == 403 and b"AccessDenied" in anonymous.content
    # multipart/form-data without a file part
    no_file = {name: (None, value) for name, value in post["fields"].items()}
    missing_file = requests.post(post["url"], files=no_file, timeout=30)
    assert missing_file.status_code == 400
    assert b"IncorrectNumberOfFilesInPostRequest" in missing_file.content
    keys = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert keys == []


def test_fields_sent_as_file_parts(s3, poster, bucket: str) -> None:
    """requests' ``files=`` sends every field as a file part (with a filename); only
    the part named ``file`` is the upload, as S3 reads such forms."""
    post = poster.generate_presigned_post(Bucket=bucket, Key="parts/as-files.txt")
    parts: dict[str, tuple[str, str | bytes]] = {
        name: (name, value) for name, value in post["fields"].items()
    }
    parts["file"] = ("file", b"bar")
    response = requests.post(post["url"], files=parts, timeout=30)
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=bucket, Key="parts/as-files.txt")["Body"].read() == b"bar"
