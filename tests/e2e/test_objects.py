"""Object operations over HTTP: PutObject, GetObject (with Range), HeadObject, DeleteObject,
metadata and content headers, ETag = MD5."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from . import raw

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def http_status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def test_put_get_roundtrip_with_md5_etag(s3, bucket):
    body = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=body)
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    assert got["ETag"] == etag
    assert got["ContentLength"] == len(body)
    assert isinstance(got["LastModified"], dt.datetime)
    assert got["ResponseMetadata"]["HTTPHeaders"].get("accept-ranges") == "bytes"


def test_empty_object(s3, bucket):
    # boto3 sends an empty PutObject with "Expect: 100-continue" and Content-Length: 0
    put = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert put["ETag"] == f'"{EMPTY_MD5}"'
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentLength"] == 0


def test_overwrite_replaces_content_and_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"a": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"second!", Metadata={"b": "2"})
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second!"
    assert got["Metadata"] == {"b": "2"}


def test_head_object(s3, bucket):
    body = b"hello head"
    s3.put_object(Bucket=bucket, Key="h", Body=body, ContentType="text/plain")
    head = s3.head_object(Bucket=bucket, Key="h")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert head["ContentType"] == "text/plain"
    assert isinstance(head["LastModified"], dt.datetime)


def test_head_and_get_missing_key(s3, bucket):
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="nope")
    assert http_status(info.value) == 404
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code_of(info.value) == "NoSuchKey"
    assert http_status(info.value) == 404


def test_get_object_in_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="e2e-no-such-bucket-anywhere", Key="k")
    assert code_of(info.value) == "NoSuchBucket"


def test_put_object_in_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket="e2e-no-such-bucket-anywhere", Key="k", Body=b"x")
    assert code_of(info.value) == "NoSuchBucket"
    assert http_status(info.value) == 404


def test_delete_object_is_idempotent(s3, bucket):
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    resp = s3.delete_object(Bucket=bucket, Key="d")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="d")
    assert code_of(info.value) == "NoSuchKey"
    again = s3.delete_object(Bucket=bucket, Key="d")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_object_in_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket="e2e-no-such-bucket-anywhere", Key="k")
    assert code_of(info.value) == "NoSuchBucket"


def test_metadata_and_content_headers_roundtrip(s3, bucket):
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    s3.put_object(
        Bucket=bucket,
        Key="meta",
        Body=b"payload",
        Metadata={"color": "blue", "Mixed-Case": "Keeps Value Case"},
        ContentType="application/x-custom; charset=utf-8",
        ContentEncoding="x-custom-enc",
        ContentDisposition='attachment; filename="report.txt"',
        ContentLanguage="de-CH",
        CacheControl="max-age=3600, must-revalidate",
        Expires=expires,
    )
    for resp in (
        s3.head_object(Bucket=bucket, Key="meta"),
        s3.get_object(Bucket=bucket, Key="meta"),
    ):
        # S3 stores user-metadata names in lower case and values as sent.
        assert resp["Metadata"] == {"color": "blue", "mixed-case": "Keeps Value Case"}
        assert resp["ContentType"] == "application/x-custom; charset=utf-8"
        assert resp["ContentEncoding"] == "x-custom-enc"
        assert resp["ContentDisposition"] == 'attachment; filename="report.txt"'
        assert resp["ContentLanguage"] == "de-CH"
        assert resp["CacheControl"] == "max-age=3600, must-revalidate"
        assert resp["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"


def test_default_content_type(s3, bucket):
    s3.put_object(Bucket=bucket, Key="noct", Body=b"x")
    ct = s3.head_object(Bucket=bucket, Key="noct")["ContentType"]
    assert ct in ("binary/octet-stream", "application/octet-stream")


@pytest.mark.parametrize(
    "key",
    [
        "with space",
        "plus+sign",
        "per%cent",
        "ünïcødé/ключ/日本",
        "amp&lt<gt>quote\"apos'",
        "a/b/c/deep.txt",
        "trailing/",
        "double//slash",
        "tilde~star*paren()",
        "q?mark#hash",
        "k" * 1024,
    ],
)
def test_unusual_keys_roundtrip(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_key_and_key_prefix_coexist(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"file a")
    s3.put_object(Bucket=bucket, Key="a/b", Body=b"file a/b")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"file a"
    assert s3.get_object(Bucket=bucket, Key="a/b")["Body"].read() == b"file a/b"


# ---- Range ---------------------------------------------------------------------------------

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def ranged(s3, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="ranged", Body=DATA)
    return bucket


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-199", 100, 199),
        ("bytes=1023-1023", 1023, 1023),
        ("bytes=1000-", 1000, 1023),  # open range
        ("bytes=-24", 1000, 1023),  # suffix range
        ("bytes=-5000", 0, 1023),  # suffix longer than the object: whole object
        ("bytes=1000-5000", 1000, 1023),  # end past the object: clamped
    ],
)
def test_get_range(s3, ranged, header, start, end):
    resp = s3.get_object(Bucket=ranged, Key="ranged", Range=header)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["Body"].read() == DATA[start : end + 1]
    assert resp["ContentLength"] == end - start + 1
    assert resp["ContentRange"] == f"bytes {start}-{end}/{len(DATA)}"
    assert resp["ETag"] == f'"{hashlib.md5(DATA).hexdigest()}"'


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=1024-1024"])
def test_unsatisfiable_range_is_416(server, ranged, header):
    resp = raw.request(server, "GET", f"/{ranged}/ranged", headers={"Range": header})
    assert resp.status_code == 416, resp.text
    assert raw.error_fields(resp)["Code"] == "InvalidRange"
    assert resp.headers.get("Content-Range") == f"bytes */{len(DATA)}"
    assert resp.headers.get("x-amz-request-id")


def test_range_on_empty_object_is_416(server, bucket):
    assert raw.request(server, "PUT", f"/{bucket}/empty", body=b"").status_code == 200
    resp = raw.request(server, "GET", f"/{bucket}/empty", headers={"Range": "bytes=0-0"})
    assert resp.status_code == 416, resp.text
    assert raw.error_fields(resp)["Code"] == "InvalidRange"
    assert resp.headers.get("Content-Range") == "bytes */0"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=9-2", "items=0-5", "bytes=", "nonsense"])
def test_malformed_range_is_ignored(server, ranged, header):
    # S3 (like RFC 9110) ignores a Range header it cannot parse and sends the whole object.
    resp = raw.request(server, "GET", f"/{ranged}/ranged", headers={"Range": header})
    assert resp.status_code == 200, resp.text
    assert resp.content == DATA
    assert "Content-Range" not in resp.headers


def test_multiple_ranges_never_500(server, ranged):
    resp = raw.request(server, "GET", f"/{ranged}/ranged", headers={"Range": "bytes=0-1,5-6"})
    assert resp.status_code in (200, 206, 416), resp.text
    if resp.status_code == 200:
        assert resp.content == DATA


def test_head_with_range(s3, ranged):
    resp = s3.head_object(Bucket=ranged, Key="ranged", Range="bytes=10-19")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["ContentLength"] == 10
    assert resp["ContentRange"] == f"bytes 10-19/{len(DATA)}"


def test_raw_get_with_encoded_key(server, s3, bucket):
    key = "dir/naïve file+x%.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"raw")
    resp = raw.request(server, "GET", f"/{bucket}/{quote(key, safe='/~')}")
    assert resp.status_code == 200
    assert resp.content == b"raw"
    assert resp.headers["ETag"] == f'"{hashlib.md5(b"raw").hexdigest()}"'
    assert resp.headers["Content-Length"] == "3"


def test_part_number_on_objects(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="single", Body=b"body")
    whole = s3.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert whole["Body"].read() == b"body"
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket=bucket, Key="single", PartNumber=2)
    assert beyond.value.response["Error"]["Code"] == "InvalidPart"
    assert beyond.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload, PartNumber=1, Body=b"p1")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="multi",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )
    # The store keeps part boundaries: part 1 of a one-part upload is that part.
    part = s3.get_object(Bucket=bucket, Key="multi", PartNumber=1)
    assert part["Body"].read() == b"p1"
    assert part["PartsCount"] == 1
