"""A client that resets its connection partway through an upload body gets no 500.

gunicorn reads the socket inside ``wsgi.input.read()``, so the reset reaches the app as
ConnectionResetError while a store is reading the body; waitress reads the body before
it calls the app. Under both shipped servers the request must end as IncompleteBody (or
never reach the app), with no traceback in the log, nothing stored, and the server still
answering. Each upload is a raw socket that sends its headers and part of its body, waits
until the app has started reading, and closes with SO_LINGER 0 (a TCP RST).
"""

from __future__ import annotations

import re
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from .conftest import make_client, unique_bucket_name
from .raw import sign_headers
from .servers import SERVERS, RunningServer, running_shipped

DECLARED = 4 * 1024 * 1024
SENT = 256 * 1024
#: Time for the server to parse the headers and the app to start reading the body.
SETTLE_SECONDS = 1.0


@pytest.fixture(params=SERVERS)
def shipped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, RunningServer]]:
    with running_shipped(request.param, tmp_path / "data", tmp_path) as server:
        yield request.param, server


def reset_upload(server: RunningServer, method: str, target: str) -> None:
    """Send ``method target`` with a Content-Length of DECLARED, SENT bytes of body, then
    reset the connection."""
    url = server.endpoint + target
    headers = sign_headers(
        server, method, url, headers={"Content-Length": str(DECLARED)}, body=None
    )
    headers["Host"] = f"{server.host}:{server.port}"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall((head + "\r\n").encode("latin-1") + b"x" * SENT)
        time.sleep(SETTLE_SECONDS)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()  # with SO_LINGER 0: RST, not FIN
    time.sleep(SETTLE_SECONDS)  # the server reads on, meets the reset and answers


def assert_clean_log(server: RunningServer) -> None:
    log = server.log()
    assert "Traceback" not in log, log[-4000:]
    assert "status=500" not in log, log[-4000:]


def assert_answered(kind: str, server: RunningServer, operation: str, bucket: str) -> None:
    """gunicorn runs the app on the headers, so the reset met the app reading the body:
    its access record says IncompleteBody's 400. waitress never called the app."""
    pattern = rf"operation={operation} bucket={re.escape(bucket)} status=(\d+)"
    statuses = re.findall(pattern, server.log())
    assert statuses == (["400"] if kind == "gunicorn" else []), server.log()[-4000:]


def test_reset_put_object_stores_nothing(shipped: tuple[str, RunningServer]) -> None:
    kind, target = shipped
    s3 = make_client(target)
    bucket = unique_bucket_name("reset")
    s3.create_bucket(Bucket=bucket)
    reset_upload(target, "PUT", f"/{bucket}/cut")
    assert_clean_log(target)
    assert_answered(kind, target, "PutObject", bucket)
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket=bucket, Key="cut")
    assert error.value.response["Error"]["Code"] == "404"
    s3.put_object(Bucket=bucket, Key="whole", Body=b"still answering")
    assert s3.get_object(Bucket=bucket, Key="whole")["Body"].read() == b"still answering"
    assert_clean_log(target)


def test_reset_upload_part_stores_no_part(shipped: tuple[str, RunningServer]) -> None:
    kind, target = shipped
    s3 = make_client(target)
    bucket = unique_bucket_name("reset")
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    reset_upload(target, "PUT", f"/{bucket}/parts?partNumber=1&uploadId={upload}")
    assert_clean_log(target)
    assert_answered(kind, target, "UploadPart", bucket)
    assert s3.list_parts(Bucket=bucket, Key="parts", UploadId=upload).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload)
    assert s3.list_buckets()["Buckets"]
    assert_clean_log(target)
