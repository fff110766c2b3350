"""Access log lines and health endpoints."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import fields

import pytest
from flask.testing import FlaskClient

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.observability.access_log import LOGGER_NAME, AccessRecord
from boxdrive_wsgi.stores import MemoryStore


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler = Collect()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def client(fmt: str) -> FlaskClient:
    store = MemoryStore()
    store.create_bucket("logs", owner=ANONYMOUS.id)  # unsigned requests act as ANONYMOUS
    return create_app(store, anonymous=True, access_log=fmt).test_client()


def test_json_access_line_per_request(lines: list[str]) -> None:
    c = client("json")
    response = c.get("/logs/missing?X-Amz-Signature=abc&X-Amz-Credential=secretish")
    response.close()
    assert response.status_code == 400  # a malformed presigned URL
    record = json.loads(lines[-1])
    assert record["operation"] == "GetObject"
    assert record["bucket"] == "logs"
    assert record["status"] == 400
    assert record["request_id"] == response.headers["x-amz-request-id"]
    assert record["user"] is None  # authentication failed: no one to name
    assert "secretish" not in lines[-1] and "X-Amz" not in lines[-1]


def test_text_line_counts_streamed_bytes(lines: list[str]) -> None:
    c = client("text")
    c.put("/logs/k", data=b"12345").close()
    got = c.get("/logs/k")
    assert got.data == b"12345"
    got.close()
    assert "operation=GetObject" in lines[-1]
    assert "bytes_out=5" in lines[-1]
    assert "status=200" in lines[-1]
    assert "user=anonymous" in lines[-1]


def test_text_line_names_every_field_in_order() -> None:
    record = AccessRecord("ID", "GET", "GetObject", None, 200, None, 5, 0.5, None, "::1")
    parts = record.text("2026-12-04T10:00:00.000Z").split(" ")
    assert parts[0] == "2026-12-04T10:00:00.000Z"
    assert [p.partition("=")[0] for p in parts[1:]] == [f.name for f in fields(AccessRecord)]
    assert "bucket=-" in parts and "user=-" in parts and f"pid={record.pid}" in parts


def test_access_log_off(lines: list[str]) -> None:
    c = client("off")
    c.get("/logs").close()
    assert lines == []


def test_health_endpoints_cannot_be_shadowed() -> None:
    store = MemoryStore()
    c = create_app(store, anonymous=True, access_log="off").test_client()
    assert c.get("/-/health/live").json == {"status": "ok"}
    assert c.get("/-/health/ready").status_code == 200
    created = c.put("/-")  # no bucket may be called "-"
    assert created.status_code == 400
    assert b"InvalidBucketName" in created.data


def test_ready_reports_a_failing_store() -> None:
    class Broken(MemoryStore):
        def list_buckets(self):
            raise OSError("disk gone")

    c = create_app(Broken(), anonymous=True, access_log="off").test_client()
    response = c.get("/-/health/ready")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "error": "OSError"}


def test_an_app_with_the_log_off_does_not_silence_another(lines: list[str]) -> None:
    client("off").get("/logs").close()
    client("text").get("/logs").close()
    assert len(lines) == 1
    assert "operation=ListObjects" in lines[0]
