"""Telemetry switches, the Prometheus endpoint, OTel metrics, span names and scrubbing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from boxdrive_wsgi import create_app, make_blueprint
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.observability import metrics as metrics_module
from boxdrive_wsgi.observability import tracing
from boxdrive_wsgi.observability.access_log import LOGGER_NAME
from boxdrive_wsgi.observability.metrics import Metrics
from boxdrive_wsgi.observability.telemetry import Telemetry
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.stores.base import ObjectStore


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    s.create_bucket("b", owner=ANONYMOUS.id)  # unsigned requests act as ANONYMOUS
    return s


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Apps built while this is active trace into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "enabled", lambda environ=None: True)
    monkeypatch.setattr(tracing, "provider_from_env", lambda environ=None: provider)
    yield exporter
    provider.shutdown()


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
    ],
)
def test_tracing_switch(env: dict[str, str], on: bool) -> None:
    assert tracing.enabled(env) is on


def test_metrics_switch() -> None:
    assert not metrics_module.otel_enabled({})
    assert metrics_module.otel_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})
    assert not metrics_module.otel_enabled({"OTEL_METRICS_EXPORTER": "none"})


def test_off_by_default_costs_nothing(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*tracing.ENABLING_VARIABLES, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    monkeypatch.delenv("BOXDRIVE_METRICS", raising=False)
    app = create_app(store, anonymous=True, access_log="off")
    assert app.extensions["boxdrive_wsgi"]["store"] is store  # no proxy
    assert "boxdrive_wsgi.telemetry" not in app.extensions
    assert not hasattr(app, "_is_instrumented_by_opentelemetry")
    # /-/metrics is not served: the S3 blueprint answers (bucket names never start with -)
    response = app.test_client().get("/-/metrics")
    assert response.status_code == 404
    assert b"<Code>NoSuchBucket</Code>" in response.data
    assert b"boxdrive_s3_requests" not in response.data


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        named = line.startswith(name + "{") or line.startswith(name + " ")
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_prometheus_endpoint_counts(store: MemoryStore) -> None:
    client = create_app(store, anonymous=True, access_log="off", metrics=True).test_client()
    before = client.get("/-/metrics").get_data(as_text=True)
    assert _sample(before, "boxdrive_s3_requests_total", operation="PutObject") == 0
    client.put("/b/k", data=b"12345").close()
    got = client.get("/b/k")
    assert got.data == b"12345"
    got.close()
    client.get("/b/nothing").close()
    text = client.get("/-/metrics").get_data(as_text=True)
    assert _sample(text, "boxdrive_s3_requests_total", operation="PutObject", status="200") == 1
    assert _sample(text, "boxdrive_s3_requests_total", operation="GetObject", status="404") == 1
    assert _sample(text, "boxdrive_s3_request_bytes_total", operation="PutObject") == 5
    assert (
        _sample(text, "boxdrive_s3_response_bytes_total", operation="GetObject", status="200") == 5
    )
    count = "boxdrive_s3_request_duration_seconds_count"
    assert _sample(text, count, operation="GetObject", status="200") == 1
    assert _sample(text, "boxdrive_s3_requests_in_flight") == 0
    # scrapes and health checks are not S3 requests
    client.get("/-/health/live").close()
    again = client.get("/-/metrics").get_data(as_text=True)
    assert "Unknown" not in again
    assert sum(
        float(line.rsplit(" ", 1)[1])
        for line in again.splitlines()
        if line.startswith("boxdrive_s3_requests_total{")
    ) == pytest.approx(3)


def test_metrics_path_is_not_shadowed_by_buckets(store: MemoryStore) -> None:
    client = create_app(store, anonymous=True, access_log="off", metrics=True).test_client()
    assert client.put("/-").status_code == 400  # no bucket can be called "-"
    assert client.put("/metrics").status_code == 200  # a bucket called "metrics" is fine
    client.put("/metrics/-/metrics", data=b"x").close()
    response = client.get("/-/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "boxdrive_s3_requests_total" in response.get_data(as_text=True)
    assert client.get("/metrics/-/metrics").data == b"x"


class Broken(MemoryStore):
    def head_object(self, bucket: str, key: str, *, version_id: str | None = None) -> Any:
        raise OSError("disk on fire")


def test_store_errors_counted_but_not_client_errors() -> None:
    store = Broken()
    store.create_bucket("b", owner=ANONYMOUS.id)  # unsigned requests act as ANONYMOUS
    client = create_app(store, anonymous=True, access_log="off", metrics=True).test_client()
    assert client.head("/b/k").status_code == 500
    assert client.get("/b/k").status_code == 404  # NoSuchKey: an answer, not a failure
    text = client.get("/-/metrics").get_data(as_text=True)
    assert _sample(text, "boxdrive_store_errors_total", method="head_object", error="OSError") == 1
    assert _sample(text, "boxdrive_store_errors_total", method="get_object") == 0


def test_otel_metrics_api(store: MemoryStore) -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry(metrics=Metrics(meter_provider=MeterProvider(metric_readers=[reader])))
    app = create_app(telemetry.wrap_store(store), anonymous=True, access_log="off")
    telemetry.install(app)
    client = app.test_client()
    client.put("/b/k", data=b"abc").close()
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    (requests,) = points["boxdrive.s3.requests"]
    assert requests.value == 1
    assert dict(requests.attributes) == {"s3.operation": "PutObject", "http.status_code": 200}
    assert points["boxdrive.s3.request.bytes"][0].value == 3
    assert points["boxdrive.s3.requests.in_flight"][0].value == 0


def test_spans_named_by_operation_and_scrubbed(
    store: MemoryStore, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even an operator capturing every request header never exports Authorization
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    client = create_app(store, anonymous=True, access_log="off").test_client()
    client.put("/b/k", data=b"abc").close()
    client.get("/b/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIDSECRET").close()
    client.get("/b/k", headers={"Authorization": "AWS4-HMAC-SHA256 secret"}).close()
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.name.startswith("S3 ")]
    assert [s.name for s in server] == ["S3 PutObject", "S3 GetObject", "S3 GetObject"]
    put = server[0]
    assert put.attributes is not None
    assert put.attributes["s3.operation"] == "PutObject"
    assert put.attributes["s3.bucket"] == "b"
    assert put.attributes["http.request.body.size"] == 3
    assert "s3.key" not in put.attributes
    for span in finished:
        text = repr(dict(span.attributes or {}))
        assert "deadbeef" not in text and "AKIDSECRET" not in text and "secret" not in text
    assert (server[2].attributes or {}).get("http.request.header.authorization") == ("[REDACTED]",)
    store_spans = [s for s in finished if s.name == "store.put_object"]
    assert store_spans and store_spans[0].parent is not None
    assert store_spans[0].parent.span_id == put.context.span_id


def test_keys_recorded_on_request(store: MemoryStore, spans: InMemorySpanExporter) -> None:
    client = create_app(store, anonymous=True, access_log="off", otel_record_keys=True)
    client.test_client().put("/b/a/key", data=b"x").close()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert (by_name["S3 PutObject"].attributes or {})["s3.key"] == "a/key"
    assert (by_name["store.put_object"].attributes or {})["s3.key"] == "a/key"


def test_proxy_forwards_the_whole_interface(store: MemoryStore) -> None:
    proxy = tracing.instrument_store(store, tracer=None, on_error=None, record_keys=False)
    assert isinstance(proxy, ObjectStore)
    proxy.multipart_min_part_size = 5
    assert store.multipart_min_part_size == 5
    upload = proxy.create_multipart_upload("b", "m")
    assert proxy.list_parts("b", "m", upload, part_number_marker=0, max_parts=10).parts == []
    assert [b.name for b in proxy.list_buckets()] == ["b"]


def test_list_objects_v2_is_its_own_operation(
    store: MemoryStore, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """ListObjectsV2 (``list-type=2``) is named as S3 names it in the span, the metrics
    label, the access log and the authorize hook; v1 keeps ListObjects."""
    seen: list[str] = []

    def authorize(s3: Any) -> bool:
        seen.append(s3.operation)
        return True

    app = Flask("site")
    app.register_blueprint(make_blueprint(store, authorize=authorize, anonymous=True))
    client = create_app(store, anonymous=True, access_log="json", metrics=True).test_client()
    with caplog.at_level("INFO", logger=LOGGER_NAME):
        client.get("/b?list-type=2").close()
        client.get("/b").close()
    assert [json.loads(r.getMessage())["operation"] for r in caplog.records] == [
        "ListObjectsV2",
        "ListObjects",
    ]
    assert [s.name for s in spans.get_finished_spans() if s.name.startswith("S3 ")] == [
        "S3 ListObjectsV2",
        "S3 ListObjects",
    ]
    text = client.get("/-/metrics").get_data(as_text=True)
    requests = "boxdrive_s3_requests_total"
    assert _sample(text, requests, operation="ListObjectsV2", status="200") == 1
    assert _sample(text, requests, operation="ListObjects", status="200") == 1
    app.test_client().get("/b?list-type=2").close()
    assert seen == ["ListObjectsV2"]
