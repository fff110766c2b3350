"""Request metrics: count, latency, bytes in/out by S3 operation and status, requests in
flight, store failures.

Two sinks, each optional:

- Prometheus text at ``/-/metrics`` (``BOXDRIVE_METRICS=1``) through ``prometheus_client``.
  Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, before the
  master starts): every worker writes its values there and a scrape of any worker
  answers the sum over all (``boxdrive_wsgi/gunicorn_conf.py`` marks dead workers).
- The OpenTelemetry metrics API, when the ``OTEL_*`` variables ask for metrics
  (``OTEL_METRICS_EXPORTER``, or an OTLP endpoint): exported over OTLP/HTTP.

Bucket names never start with ``-``, so no bucket can take ``/-/metrics``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

PATH = "/-/metrics"
#: Latency buckets (seconds): S3 requests range from sub-millisecond HEADs to
#: multi-minute uploads.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_LABELS = ("operation", "status")


def otel_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for metrics (no OpenTelemetry import)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    exporter = env.get("OTEL_METRICS_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "").strip()
    )


def meter_provider_from_env() -> MeterProvider:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: "boxdrive-wsgi"}
    name = os.environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower()
    exporter: MetricExporter = (
        ConsoleMetricExporter() if name == "console" else OTLPMetricExporter()
    )
    return MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(exporter)],
        resource=Resource.create(attributes),
    )


class _Prometheus:
    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError as e:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "BOXDRIVE_METRICS=1 needs prometheus_client: pip install 'boxdrive-wsgi[metrics]'"
            ) from e
        self.registry = prom.CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = prom.Counter(
            "boxdrive_s3_requests", "S3 requests served.", _LABELS, registry=r
        )
        self.duration = prom.Histogram(
            "boxdrive_s3_request_duration_seconds",
            "Time from request start to the last byte of the response.",
            _LABELS,
            buckets=BUCKETS,
            registry=r,
        )
        self.bytes_in = prom.Counter(
            "boxdrive_s3_request_bytes", "Request body bytes received.", _LABELS, registry=r
        )
        self.bytes_out = prom.Counter(
            "boxdrive_s3_response_bytes", "Response body bytes sent.", _LABELS, registry=r
        )
        self.in_flight = prom.Gauge(
            "boxdrive_s3_requests_in_flight",
            "S3 requests being served.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.store_errors = prom.Counter(
            "boxdrive_store_errors",
            "Store calls that failed (not counting answers such as NoSuchKey).",
            ("method", "error"),
            registry=r,
        )

    def exposition(self) -> tuple[bytes, str]:
        import prometheus_client as prom

        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST


class _Otel:
    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("boxdrive_wsgi")
        self.requests = meter.create_counter("boxdrive.s3.requests", "{request}")
        self.duration = meter.create_histogram("boxdrive.s3.request.duration", "s")
        self.bytes_in = meter.create_counter("boxdrive.s3.request.bytes", "By")
        self.bytes_out = meter.create_counter("boxdrive.s3.response.bytes", "By")
        self.in_flight = meter.create_up_down_counter("boxdrive.s3.requests.in_flight")
        self.store_errors = meter.create_counter("boxdrive.store.errors", "{error}")


class Metrics:
    """Records into Prometheus (``prometheus=True``) and/or an OTel MeterProvider."""

    def __init__(
        self, *, prometheus: bool = False, meter_provider: MeterProvider | None = None
    ) -> None:
        self.prometheus = _Prometheus() if prometheus else None
        self.otel = _Otel(meter_provider) if meter_provider is not None else None

    def started(self) -> None:
        if self.prometheus:
            self.prometheus.in_flight.inc()
        if self.otel:
            self.otel.in_flight.add(1)

    def finished(
        self, operation: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        if self.prometheus:
            p, labels = self.prometheus, (operation, str(status))
            p.in_flight.dec()
            p.requests.labels(*labels).inc()
            p.duration.labels(*labels).observe(seconds)
            if bytes_in:
                p.bytes_in.labels(*labels).inc(bytes_in)
            if bytes_out:
                p.bytes_out.labels(*labels).inc(bytes_out)
        if self.otel:
            o = self.otel
            attributes: dict[str, Any] = {"s3.operation": operation, "http.status_code": status}
            o.in_flight.add(-1)
            o.requests.add(1, attributes)
            o.duration.record(seconds, attributes)
            o.bytes_in.add(bytes_in, attributes)
            o.bytes_out.add(bytes_out, attributes)

    def store_error(self, method: str, error: BaseException) -> None:
        name = type(error).__name__
        if self.prometheus:
            self.prometheus.store_errors.labels(method, name).inc()
        if self.otel:
            self.otel.store_errors.add(1, {"store.method": method, "error.type": name})

    def blueprint(self) -> Blueprint | None:
        """``GET /-/metrics`` in Prometheus text format, if Prometheus is on."""
        prometheus = self.prometheus
        if prometheus is None:
            return None
        blueprint = Blueprint("boxdrive_metrics", __name__)

        @blueprint.get(PATH)
        def metrics() -> Response:
            body, content_type = prometheus.exposition()
            return Response(body, content_type=content_type)

        return blueprint
