"""A client connection that fails while the app reads the body (gunicorn and uWSGI read
the socket inside ``wsgi.input.read``) is IncompleteBody on every body-reading path, and
nothing is stored."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.web.body import ClientBody

SIZE = 64 * 1024


class DroppedConnection(io.RawIOBase):
    """A body that gives ``good`` bytes, then raises ``error`` as a socket read would."""

    def __init__(self, error: BaseException, good: bytes = b"x" * 1000) -> None:
        self._error = error
        self._good = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._good:
            raise self._error
        n = min(len(buffer), len(self._good))
        buffer[:n] = self._good[:n]
        self._good = self._good[n:]
        return n


ERRORS = [ConnectionResetError(104, "reset"), TimeoutError("timed out"), BrokenPipeError()]


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.create_bucket("b", owner=ANONYMOUS.id)
    return store


@pytest.fixture(params=[True, False], ids=["input-terminated", "werkzeug-limited"])
def client(request: pytest.FixtureRequest, store: MemoryStore) -> FlaskClient:
    """gunicorn marks ``wsgi.input_terminated``: werkzeug then passes its stream through
    unlimited and a socket error reaches the app; otherwise werkzeug's LimitedStream
    raises ClientDisconnected."""
    app: Flask = create_app(store, anonymous=True)
    client = app.test_client()
    if request.param:
        client.environ_base["wsgi.input_terminated"] = True  # type: ignore[assignment]
    return client


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_client_body_turns_a_dropped_connection_into_incomplete_body(
    error: BaseException,
) -> None:
    body = ClientBody(io.BufferedReader(DroppedConnection(error), buffer_size=100))
    assert body.read(10) == b"x" * 10
    with pytest.raises(S3Error) as raised:
        body.read()
    assert raised.value.code == "IncompleteBody"
    assert raised.value.__cause__ is error


def test_other_errors_are_not_hidden() -> None:
    with pytest.raises(ValueError):
        ClientBody(DroppedConnection(ValueError("a bug"), b"")).read(SIZE)


def stored_keys(store: MemoryStore) -> list[str]:
    return [o.key for o in store.list_objects("b").objects]


def put(
    client: FlaskClient,
    path: str,
    error: BaseException,
    *,
    method: str = "PUT",
    content_type: str | None = None,
) -> TestResponse:
    return client.open(
        path,
        method=method,
        content_type=content_type,
        environ_overrides={"wsgi.input": DroppedConnection(error), "CONTENT_LENGTH": str(SIZE)},
    )


def assert_incomplete(response: TestResponse) -> None:
    assert response.status_code == 400, response.data
    assert b"<Code>IncompleteBody</Code>" in response.data


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_put_object(client: FlaskClient, store: MemoryStore, error: BaseException) -> None:
    assert_incomplete(put(client, "/b/k", error))
    assert stored_keys(store) == []


def test_http_chunked_put_object(client: FlaskClient, store: MemoryStore) -> None:
    response = client.put(
        "/b/k",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={
            "wsgi.input": DroppedConnection(ConnectionResetError()),
            "wsgi.input_terminated": True,
        },
    )
    assert_incomplete(response)
    assert stored_keys(store) == []


def test_aws_chunked_put_object(client: FlaskClient, store: MemoryStore) -> None:
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(SIZE // 2),
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    good = b"%x\r\n" % (SIZE // 2) + b"x" * 1000
    response = client.put(
        "/b/k",
        headers=headers,
        environ_overrides={
            "wsgi.input": DroppedConnection(ConnectionResetError(), good),
            "CONTENT_LENGTH": str(SIZE),
        },
    )
    assert_incomplete(response)
    assert stored_keys(store) == []


def test_upload_part(client: FlaskClient, store: MemoryStore) -> None:
    upload = store.create_multipart_upload("b", "k")
    response = put(client, f"/b/k?partNumber=1&uploadId={upload}", ConnectionResetError())
    assert_incomplete(response)
    assert list(store.list_parts("b", "k", upload).parts) == []


def test_xml_body(client: FlaskClient, store: MemoryStore) -> None:
    store.put_object("b", "k", io.BytesIO(b"data"), size=4)
    assert_incomplete(put(client, "/b/k?tagging", TimeoutError()))


def test_post_object(client: FlaskClient, store: MemoryStore) -> None:
    response = put(
        client,
        "/b",
        ConnectionResetError(),
        method="POST",
        content_type="multipart/form-data; boundary=xyz",
    )
    assert_incomplete(response)
    assert stored_keys(store) == []
