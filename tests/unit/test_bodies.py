"""Request body shapes through the blueprint: aws-chunked, Content-MD5, checksums,
HTTP chunked without a terminated input. Nothing bad is ever stored."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.stores import MemoryStore, NoSuchKey


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.create_bucket("b", owner=ANONYMOUS.id)  # unsigned requests act as ANONYMOUS
    return store


@pytest.fixture
def client(store: MemoryStore) -> FlaskClient:
    app: Flask = create_app(store, anonymous=True)
    return app.test_client()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def unsigned_trailer_body(data: bytes, checksum: str, chunk: int = 8192) -> bytes:
    out = bytearray()
    for i in range(0, len(data), chunk):
        piece = data[i : i + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n" + f"x-amz-checksum-crc32:{checksum}\r\n".encode() + b"\r\n"
    return bytes(out)


def aws_chunked_headers(data: bytes, body: bytes) -> dict[str, str]:
    return {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(body)),
    }


def test_aws_chunked_with_trailer_is_decoded_and_checksum_kept(
    client: FlaskClient, store: MemoryStore
) -> None:
    data = bytes(range(256)) * 100  # 25,600 bytes: several chunks
    body = unsigned_trailer_body(data, crc32_b64(data))
    response = client.put("/b/k", data=body, headers=aws_chunked_headers(data, body))
    assert response.status_code == 200, response.data
    stored = store.get_object("b", "k")
    assert stored.read_all() == data
    assert stored.info.etag == hashlib.md5(data).hexdigest()
    assert stored.info.attributes.checksums == {"CRC32": crc32_b64(data)}
    assert "Content-Encoding" not in stored.info.attributes.headers
    head = client.head("/b/k", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.headers["x-amz-checksum-crc32"] == crc32_b64(data)


def test_aws_chunked_with_wrong_trailer_checksum_stores_nothing(
    client: FlaskClient, store: MemoryStore
) -> None:
    data = b"x" * 20000
    body = unsigned_trailer_body(data, crc32_b64(b"something else"))
    response = client.put("/b/k", data=body, headers=aws_chunked_headers(data, body))
    assert response.status_code == 400
    assert b"<Code>BadDigest</Code>" in response.data
    with pytest.raises(NoSuchKey):
        store.head_object("b", "k")


def test_wrong_content_md5_stores_nothing(client: FlaskClient, store: MemoryStore) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = client.put("/b/k", data=b"payload", headers={"Content-MD5": wrong})
    assert response.status_code == 400
    assert b"<Code>BadDigest</Code>" in response.data
    with pytest.raises(NoSuchKey):
        store.head_object("b", "k")


def test_malformed_content_md5(client: FlaskClient) -> None:
    response = client.put("/b/k", data=b"payload", headers={"Content-MD5": "not-base64!"})
    assert response.status_code == 400
    assert b"<Code>InvalidDigest</Code>" in response.data


def test_right_content_md5_and_checksum_header(client: FlaskClient, store: MemoryStore) -> None:
    md5 = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    response = client.put(
        "/b/k",
        data=b"payload",
        headers={"Content-MD5": md5, "x-amz-checksum-crc32": crc32_b64(b"payload")},
    )
    assert response.status_code == 200
    assert response.headers["x-amz-checksum-crc32"] == crc32_b64(b"payload")
    assert store.get_object("b", "k").read_all() == b"payload"


def test_wrong_payload_sha256_stores_nothing(client: FlaskClient, store: MemoryStore) -> None:
    response = client.put(
        "/b/k", data=b"payload", headers={"x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()}
    )
    assert response.status_code == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in response.data
    with pytest.raises(NoSuchKey):
        store.head_object("b", "k")


def test_http_chunked_without_terminated_input_is_refused(
    client: FlaskClient, store: MemoryStore
) -> None:
    response = client.put(
        "/b/k",
        input_stream=io.BytesIO(b"5\r\nhello\r\n0\r\n\r\n"),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": False},
    )
    assert response.status_code == 411
    assert b"<Code>MissingContentLength</Code>" in response.data
    with pytest.raises(NoSuchKey):
        store.head_object("b", "k")


def test_keys_with_control_characters_round_trip(client: FlaskClient, store: MemoryStore) -> None:
    for key in ("line\nbreak", "tab\there", "cr\rkey"):
        encoded = key.replace("\n", "%0A").replace("\t", "%09").replace("\r", "%0D")
        assert client.put(f"/b/{encoded}", data=b"v").status_code == 200
        assert store.get_object("b", key).read_all() == b"v"
        assert client.get(f"/b/{encoded}").data == b"v"


def test_put_without_content_length_is_refused(client: FlaskClient) -> None:
    response = client.put("/b/k")  # no body framing at all
    assert response.status_code == 411
    assert b"<Code>MissingContentLength</Code>" in response.data
