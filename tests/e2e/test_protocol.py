"""HTTP-level behaviour boto3 hides: the error document, x-amz-request-id, virtual-host-style
addressing, chunked request bodies and missing Content-Length."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from . import raw


def assert_request_id(resp: requests.Response | raw.RawResponse) -> str:
    request_id = resp.headers.get("x-amz-request-id")
    assert request_id, dict(resp.headers)
    return request_id


# ---- errors and request ids ------------------------------------------------------------------


def test_error_document_for_missing_key(server, bucket):
    resp = raw.request(server, "GET", f"/{bucket}/missing/key.txt")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith(("application/xml", "text/xml"))
    err = raw.error_fields(resp)
    assert err["Code"] == "NoSuchKey"
    assert err["Message"]
    assert "missing/key.txt" in err["Resource"]
    assert err["RequestId"] == assert_request_id(resp)


def test_error_document_for_missing_bucket(server):
    resp = raw.request(server, "GET", "/e2e-missing-bucket-proto/")
    assert resp.status_code == 404
    err = raw.error_fields(resp)
    assert err["Code"] == "NoSuchBucket"
    assert err["Message"]
    assert "e2e-missing-bucket-proto" in err["Resource"]
    assert err["RequestId"] == assert_request_id(resp)


def test_request_ids_on_success_are_unique(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ids = [
        assert_request_id(raw.request(server, "GET", "/")),
        assert_request_id(raw.request(server, "HEAD", f"/{bucket}")),
        assert_request_id(raw.request(server, "GET", f"/{bucket}/k")),
        assert_request_id(raw.request(server, "HEAD", f"/{bucket}/k")),
        assert_request_id(raw.request(server, "GET", f"/{bucket}", params={"list-type": "2"})),
        assert_request_id(raw.request(server, "PUT", f"/{bucket}/k2", body=b"x")),
        assert_request_id(raw.request(server, "DELETE", f"/{bucket}/k2")),
    ]
    assert len(set(ids)) == len(ids)


def test_head_error_has_request_id_and_no_body(server, bucket):
    resp = raw.request(server, "HEAD", f"/{bucket}/missing")
    assert resp.status_code == 404
    assert resp.content == b""
    assert_request_id(resp)


def test_list_buckets_xml(server, bucket):
    resp = raw.request(server, "GET", "/")
    assert resp.status_code == 200
    root = raw.xml_root(resp.content)
    assert raw.strip_ns(root.tag) == "ListAllMyBucketsResult"
    assert root.tag.startswith(raw.S3_NS)
    assert bucket in raw.find_all_text(root, ["Buckets", "Bucket", "Name"])


def test_bad_bucket_name_never_500(server):
    for path in ("/a", "/Bad_Name/key", "/-x-/"):
        resp = raw.request(server, "GET", path)
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text)
        assert_request_id(resp)


# ---- virtual-host-style addressing -----------------------------------------------------------


def vhost(server, bucket: str) -> str:
    return f"{bucket}.{server.domain}:{server.port}"


def vhost_request(server, method: str, bucket: str, path: str, body: bytes = b"", params=None):
    url = raw.query_url(server, path, params)
    headers = {"Host": vhost(server, bucket)}
    signed = raw.sign_headers(server, method, url, headers=headers, body=body)
    return requests.request(method, url, headers=signed, data=body, timeout=30)


def test_virtual_host_put_get_list_delete(server, s3, bucket):
    put = vhost_request(server, "PUT", bucket, "/dir/vh%20key.txt", body=b"virtual")
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == f'"{hashlib.md5(b"virtual").hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="dir/vh key.txt")["Body"].read() == b"virtual"

    got = vhost_request(server, "GET", bucket, "/dir/vh%20key.txt")
    assert got.status_code == 200
    assert got.content == b"virtual"

    listing = vhost_request(server, "GET", bucket, "/", params={"list-type": "2"})
    assert listing.status_code == 200, listing.text
    root = raw.xml_root(listing.content)
    assert raw.find_text(root, "Name") == bucket
    assert raw.find_all_text(root, ["Contents", "Key"]) == ["dir/vh key.txt"]

    head = vhost_request(server, "HEAD", bucket, "/")
    assert head.status_code == 200

    deleted = vhost_request(server, "DELETE", bucket, "/dir/vh%20key.txt")
    assert deleted.status_code == 204
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_virtual_host_missing_key_error(server, bucket):
    resp = vhost_request(server, "GET", bucket, "/nope")
    assert resp.status_code == 404
    assert raw.error_fields(resp)["Code"] == "NoSuchKey"


def test_base_domain_host_is_path_style(server, bucket):
    url = raw.query_url(server, "/")
    headers = {"Host": f"{server.domain}:{server.port}"}
    signed = raw.sign_headers(server, "GET", url, headers=headers, body=b"")
    resp = requests.get(url, headers=signed, timeout=30)
    assert resp.status_code == 200, resp.text
    root = raw.xml_root(resp.content)
    assert raw.strip_ns(root.tag) == "ListAllMyBucketsResult"
    assert bucket in raw.find_all_text(root, ["Buckets", "Bucket", "Name"])


def test_virtual_host_create_and_delete_bucket(server, s3):
    name = f"e2e-vh-{os.urandom(6).hex()}"
    created = vhost_request(server, "PUT", name, "/")
    assert created.status_code == 200, created.text
    s3.head_bucket(Bucket=name)
    deleted = vhost_request(server, "DELETE", name, "/")
    assert deleted.status_code == 204, deleted.text


# ---- request bodies: chunked transfer-encoding, missing Content-Length ------------------------


def test_chunked_transfer_encoding_upload_is_byte_exact(server, s3, bucket):
    pieces = [os.urandom(n) for n in (1, 8191, 65536, 100_000, 3, 524_288, 777)]
    expected = b"".join(pieces)
    resp = raw.send_streamed(server, "PUT", f"/{bucket}/chunked.bin", pieces)
    assert resp.status == 200, resp.body
    assert resp.headers["ETag"] == f'"{hashlib.md5(expected).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="chunked.bin")
    assert got["ContentLength"] == len(expected)
    assert got["Body"].read() == expected


def test_chunked_transfer_encoding_empty_body(server, s3, bucket):
    resp = raw.send_streamed(server, "PUT", f"/{bucket}/empty-chunked", [])
    assert resp.status == 200, resp.body
    assert s3.get_object(Bucket=bucket, Key="empty-chunked")["Body"].read() == b""


def test_chunked_upload_virtual_host(server, s3, bucket):
    pieces = [b"abc" * 1000, b"def" * 5000]
    resp = raw.send_streamed(server, "PUT", "/vh-chunked", pieces, host=vhost(server, bucket))
    assert resp.status == 200, resp.body
    assert s3.get_object(Bucket=bucket, Key="vh-chunked")["Body"].read() == b"".join(pieces)


def test_put_without_content_length_is_411(server, s3, bucket):
    resp = raw.send_streamed(server, "PUT", f"/{bucket}/no-length", None)
    assert resp.status == 411, resp.body
    err = raw.error_fields(resp)
    assert err["Code"] == "MissingContentLength"
    assert_request_id(resp)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("size", [0, 1, 512 * 1024 + 1, 3 * 1024 * 1024])
def test_content_length_bodies(server, s3, bucket, size):
    body = os.urandom(size)
    resp = raw.request(server, "PUT", f"/{bucket}/cl-{size}", body=body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key=f"cl-{size}")["Body"].read() == body
