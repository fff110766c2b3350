"""Traces from a real server: boto3 against waitress in-process (threads) with tracing on,
and the OTLP/HTTP exporter posting to a local collector stub."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from boxdrive_wsgi import create_app
from boxdrive_wsgi.observability import tracing
from boxdrive_wsgi.stores.filesystem import FilesystemStore

ACCESS, SECRET = "AKIDTELEMETRY0000001", "telemetry-secret-key-0123456789"


def run(server: Any) -> None:
    # close() from the test's thread can pull the socket out from under select()
    with contextlib.suppress(OSError, ValueError):
        server.run()


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(app) -> endpoint: waitress on a free port in this process, closed afterwards."""
    import waitress

    servers: list[Any] = []

    def start(app: Any) -> str:
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        threading.Thread(target=run, args=(server,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.effective_port}"

    yield start
    for server in servers:
        server.close()


def client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def test_boto3_session_spans(tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "enabled", lambda environ=None: True)
    monkeypatch.setattr(tracing, "provider_from_env", lambda environ=None: provider)
    app = create_app(
        FilesystemStore(tmp_path), access_key=ACCESS, secret_key=SECRET, access_log="off"
    )
    endpoint = serve(app)
    s3 = client(endpoint)
    s3.create_bucket(Bucket="traced")
    s3.put_object(Bucket="traced", Key="private/name.txt", Body=b"x" * 1000)
    assert s3.get_object(Bucket="traced", Key="private/name.txt")["Body"].read() == b"x" * 1000
    s3.list_objects_v2(Bucket="traced")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "traced", "Key": "private/name.txt"}
    )
    assert requests.get(url, timeout=10).status_code == 200
    provider.force_flush()

    finished = exporter.get_finished_spans()
    server = [s for s in finished if s.name.startswith("S3 ")]
    assert [s.name for s in server] == [
        "S3 CreateBucket",
        "S3 PutObject",
        "S3 GetObject",
        "S3 ListObjectsV2",
        "S3 GetObject",
    ]
    put = server[1].attributes or {}
    assert put["s3.operation"] == "PutObject" and put["s3.bucket"] == "traced"
    assert put["http.status_code"] == 200
    assert put["http.request.body.size"] == 1000
    assert (server[2].attributes or {})["http.response.body.size"] == 1000
    for span in finished:
        text = repr(dict(span.attributes or {}))
        assert "name.txt" not in text  # keys only with BOXDRIVE_OTEL_RECORD_KEYS=1
        assert "Signature" not in text and ACCESS not in text and "Credential" not in text
        assert "AWS4-HMAC-SHA256" not in text
    children = {s.name for s in finished if s.parent is not None}
    assert {"store.create_bucket", "store.put_object", "store.get_object"} <= children
    provider.shutdown()


class Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Collector.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_otlp_http_export_reaches_a_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    Collector.received = []
    try:
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_address[1]}"
        )
        monkeypatch.setenv("OTEL_SERVICE_NAME", "boxdrive-otlp-test")
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
        app = create_app(FilesystemStore(tmp_path), anonymous=True, access_log="off")
        web = app.test_client()
        assert web.put("/exported").status_code == 200
        web.put("/exported/k", data=b"abc").close()
        telemetry = app.extensions["boxdrive_wsgi.telemetry"]
        assert telemetry.tracer_provider.force_flush(10_000)
        telemetry.tracer_provider.shutdown()
    finally:
        collector.shutdown()
        collector.server_close()

    assert Collector.received, "no export arrived"
    names: list[str] = []
    services: set[str] = set()
    for path, content_type, body in Collector.received:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    services.add(attribute.value.string_value)
            for scope in resource_spans.scope_spans:
                names += [span.name for span in scope.spans]
    assert services == {"boxdrive-otlp-test"}
    assert "S3 CreateBucket" in names and "S3 PutObject" in names
    assert "store.put_object" in names
