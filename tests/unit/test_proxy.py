"""BOXDRIVE_TRUSTED_PROXIES: X-Forwarded-Host/-Proto/-Prefix restore what the client signed,
from trusted peers only; and X-Accel-Redirect answers of GetObject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from flask import Flask

from boxdrive_wsgi import create_app
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.web.proxy import is_trusted, parse_trusted

ACCESS, SECRET = "AKPROXYTEST000000001", "proxy-test-secret"


def signed_headers(method: str, url: str) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=b"")
    S3SigV4Auth(BotoCredentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    return {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}


def app(**settings: Any) -> Flask:
    return create_app(
        MemoryStore(), access_key=ACCESS, secret_key=SECRET, access_log="off", **settings
    )


def send(flask_app: Flask, path: str, signed_url: str, remote: str, **headers: str) -> Any:
    """``path`` as the app receives it, signed for ``signed_url`` as the client sent it."""
    all_headers = {**signed_headers("PUT", signed_url), **headers}
    all_headers.pop("host", None)
    return flask_app.test_client().put(
        path,
        headers=all_headers,
        environ_base={
            "REMOTE_ADDR": remote,
            "HTTP_HOST": "backend:8000",
            "RAW_URI": path,
            "REQUEST_URI": path,
        },
    )


def test_parse_trusted() -> None:
    assert parse_trusted(None) == () and parse_trusted(" ") == ()
    assert parse_trusted("*") is None
    networks = parse_trusted("127.0.0.1, 10.0.0.0/8,::1")
    assert is_trusted("10.2.3.4", networks) and is_trusted("::ffff:127.0.0.1", networks)
    assert is_trusted("::1", networks) and not is_trusted("11.0.0.1", networks)
    assert not is_trusted("", networks) and not is_trusted("unix", networks)
    assert is_trusted("", None)
    with pytest.raises(ValueError, match="nginx"):
        parse_trusted("127.0.0.1,nginx")


def test_forwarded_host_and_prefix_from_a_trusted_proxy() -> None:
    flask_app = app(trusted_proxies="10.0.0.0/8")
    url = "https://s3.example.com/s3/bucket"
    forwarded = {
        "X-Forwarded-Host": "s3.example.com",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/s3",
    }
    assert send(flask_app, "/bucket", url, "10.1.2.3", **forwarded).status_code == 200
    # The same headers from anyone else are ignored: the signature does not match.
    denied = send(flask_app, "/bucket2", url.replace("bucket", "bucket2"), "192.0.2.1", **forwarded)
    assert denied.status_code == 403 and b"SignatureDoesNotMatch" in denied.data
    # Without the setting nobody is trusted.
    untrusted = send(app(), "/bucket3", url.replace("bucket", "bucket3"), "10.1.2.3", **forwarded)
    assert untrusted.status_code == 403 and b"SignatureDoesNotMatch" in untrusted.data


def test_prefix_not_sent_means_no_prefix() -> None:
    flask_app = app(trusted_proxies="*")
    url = "http://s3.example.com/bucket"
    ok = send(flask_app, "/bucket", url, "", **{"X-Forwarded-Host": "s3.example.com"})
    assert ok.status_code == 200


def test_x_accel_redirect(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path, inline_max=-1)  # every body in a file nginx can send
    flask_app = create_app(store, anonymous=True, access_log="off", x_accel_redirect="/_internal/")
    client = flask_app.test_client()
    assert client.put("/bkt").status_code == 200
    assert client.put("/bkt/k", data=b"0123456789", content_type="text/x-test").status_code == 200
    nginx = {"X-Boxdrive-Accel": "1"}  # what the shipped #accel part sends
    full = client.get("/bkt/k", headers=nginx)
    assert full.status_code == 200 and full.data == b""
    target = full.headers["X-Accel-Redirect"]
    assert target.startswith("/_internal/objects/")
    assert (tmp_path / target.removeprefix("/_internal/")).read_bytes() == b"0123456789"
    assert full.headers["ETag"] and full.headers["Content-Type"] == "text/x-test"
    # nginx applies a valid Range to the file itself; the app refuses an unsatisfiable one.
    ranged = client.get("/bkt/k", headers={"Range": "bytes=2-4", **nginx})
    assert ranged.status_code == 200 and "X-Accel-Redirect" in ranged.headers
    assert "Content-Range" not in ranged.headers
    assert client.get("/bkt/k", headers={"Range": "bytes=20-", **nginx}).status_code == 416
    # The app streams what nginx would get wrong or cannot carry across the redirect.
    for headers in (
        {"Range": "bytes=1-2,4-5"},  # ignored by S3: the whole object
        {"If-Match": full.headers["ETag"]},
        {"X-Boxdrive-No-Accel": "1"},
    ):
        streamed = client.get("/bkt/k", headers={**headers, **nginx})
        assert "X-Accel-Redirect" not in streamed.headers, headers
        assert streamed.data == b"0123456789"
    client.put("/bkt/meta", data=b"abc", headers={"x-amz-meta-color": "blue"})
    streamed = client.get("/bkt/meta", headers=nginx)
    assert streamed.data == b"abc" and streamed.headers["x-amz-meta-color"] == "blue"
    assert "X-Accel-Redirect" not in client.head("/bkt/k").headers


def test_x_accel_redirect_refuses_a_request_that_bypassed_nginx(tmp_path: Path) -> None:
    """Only nginx turns an X-Accel-Redirect answer into the object: to a client that
    reached the app directly an empty 200 would look like an empty object."""
    store = FilesystemStore(tmp_path, inline_max=-1)  # every body in a file nginx can send
    flask_app = create_app(store, anonymous=True, access_log="off", x_accel_redirect="/_internal/")
    client = flask_app.test_client()
    client.put("/bkt")
    client.put("/bkt/k", data=b"0123456789")
    for headers in ({}, {"X-Boxdrive-Accel": "yes"}):
        direct = client.get("/bkt/k", headers=headers)
        assert direct.status_code == 403, headers
        assert "X-Accel-Redirect" not in direct.headers
        assert b"<Code>AccessDenied</Code>" in direct.data
    # what the app streams itself is unaffected: HEAD, and the nginx fallback's request
    assert client.head("/bkt/k").headers["Content-Length"] == "10"
    assert client.get("/bkt/k", headers={"X-Boxdrive-No-Accel": "1"}).data == b"0123456789"


def test_x_accel_mode_streams_inline_objects_itself(tmp_path: Path) -> None:
    """A small object kept inline in the index has no file for nginx: the app sends
    its bytes (no empty 200, whoever asked)."""
    store = FilesystemStore(tmp_path)
    flask_app = create_app(store, anonymous=True, access_log="off", x_accel_redirect="/_internal/")
    client = flask_app.test_client()
    client.put("/bkt")
    client.put("/bkt/k", data=b"0123456789")
    for headers in ({"X-Boxdrive-Accel": "1"}, {}):
        got = client.get("/bkt/k", headers=headers)
        assert got.status_code == 200 and got.data == b"0123456789", headers
        assert "X-Accel-Redirect" not in got.headers
    ranged = client.get("/bkt/k", headers={"Range": "bytes=2-4", "X-Boxdrive-Accel": "1"})
    assert ranged.status_code == 206 and ranged.data == b"234"
