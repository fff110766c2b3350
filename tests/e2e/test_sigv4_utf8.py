"""SigV4 over non-ASCII header values (issue 11, item 13).

The Go and JavaScript SDKs (and curl --aws-sigv4) sign the UTF-8 bytes they
send; WSGI hands the server those bytes decoded as latin-1, so signing the text
WSGI gives failed every such request. botocore signs the UTF-8 of its text but
sends latin-1; both must verify, and the metadata must come back as sent.
"""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import make_client
from .servers import RunningServer

VALUE = "日本語 café ✓"


def client_sending(server: RunningServer, signed: str, sent: bytes | str) -> Any:
    """A boto3 client that signs x-amz-meta-name as ``signed`` and puts ``sent`` on the wire."""
    client = make_client(server)

    def sign_this(request: Any, **_: Any) -> None:
        request.headers["x-amz-meta-name"] = signed

    def send_this(request: Any, **_: Any) -> None:
        request.headers["x-amz-meta-name"] = sent

    client.meta.events.register("before-sign.s3.PutObject", sign_this)
    client.meta.events.register("before-send.s3.PutObject", send_this)
    return client


def raw_header(server: RunningServer, bucket: str, key: str, name: str) -> bytes:
    """A response header's bytes as they came over the wire (a presigned GET)."""
    url = make_client(server).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}
    )
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", url[len(server.endpoint) :])
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        value = response.getheader(name)
        assert value is not None
        return value.encode("latin-1")  # http.client decodes header bytes as latin-1
    finally:
        conn.close()


def test_utf8_signed_as_sent(server: RunningServer, s3, bucket: str) -> None:
    client = client_sending(server, VALUE, VALUE.encode("utf-8"))
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    metadata = s3.head_object(Bucket=bucket, Key="k")["Metadata"]
    assert metadata["name"].encode("latin-1").decode("utf-8") == VALUE
    assert raw_header(server, bucket, "k", "x-amz-meta-name") == VALUE.encode("utf-8")


def test_botocore_latin1_form_still_verifies(server: RunningServer, bucket: str) -> None:
    """botocore signs UTF-8 "é" and sends the latin-1 byte: the text form. The value
    is not UTF-8, so it is taken as latin-1 text and, like all metadata, answered
    as UTF-8."""
    client = client_sending(server, "café", "café")
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert raw_header(server, bucket, "k", "x-amz-meta-name") == "café".encode()


@pytest.mark.parametrize(
    "sent", [b"\xff\xfe not utf-8", "日本語 cafe ✓".encode(), b"caf\xc3\xa9 x"]
)
def test_other_bytes_than_signed_are_refused(
    server: RunningServer, s3, bucket: str, sent: bytes
) -> None:
    client = client_sending(server, VALUE, sent)
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")
    assert "Traceback" not in server.log()
