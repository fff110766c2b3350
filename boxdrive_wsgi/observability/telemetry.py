"""Wires tracing and metrics into an app built by ``create_app``.

``Telemetry.from_settings`` looks at ``BOXDRIVE_METRICS``, ``BOXDRIVE_OTEL_RECORD_KEYS``
and the ``OTEL_*`` variables. When nothing asks for telemetry it is inactive: the
store is not wrapped, no hook is added, OpenTelemetry is not even imported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Response, g, request

from ..stores.base import ObjectStore
from . import metrics as metrics_module
from . import tracing
from .metrics import Metrics

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from ..settings import Settings

#: The blueprint create_app registers the S3 routes under.
S3_BLUEPRINT = "s3"


@dataclass
class Telemetry:
    tracer_provider: TracerProvider | None = None
    metrics: Metrics | None = None
    #: put object keys into span attributes (``BOXDRIVE_OTEL_RECORD_KEYS=1``).
    record_keys: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        provider = tracing.provider_from_env() if tracing.enabled() else None
        meter_provider = (
            metrics_module.meter_provider_from_env() if metrics_module.otel_enabled() else None
        )
        metrics = None
        if settings.metrics or meter_provider is not None:
            metrics = Metrics(prometheus=settings.metrics, meter_provider=meter_provider)
        return cls(provider, metrics, settings.otel_record_keys)

    @property
    def active(self) -> bool:
        return self.tracer_provider is not None or self.metrics is not None

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        if not self.active:
            return store
        tracer = None
        if self.tracer_provider is not None:
            tracer = self.tracer_provider.get_tracer("boxdrive_wsgi.store")
        return tracing.instrument_store(
            store,
            tracer=tracer,
            on_error=self.metrics.store_error if self.metrics else None,
            record_keys=self.record_keys,
        )

    def install(self, app: Flask, store_kind: str = "") -> None:
        """Register the metrics endpoint and the per-request hooks on ``app``."""
        if not self.active:
            return
        app.extensions["boxdrive_wsgi.telemetry"] = self
        provider, metrics, record_keys = self.tracer_provider, self.metrics, self.record_keys
        if metrics is not None and (blueprint := metrics.blueprint()) is not None:
            app.register_blueprint(blueprint)
        if provider is not None:
            tracing.instrument_flask(app, provider)
            tracing.instrument_clients(provider, store_kind)

        @app.before_request
        def _started() -> None:
            if metrics is not None and request.blueprint == S3_BLUEPRINT:
                g.telemetry_started = time.perf_counter()
                metrics.started()

        @app.after_request
        def _finished(response: Response) -> Response:
            if provider is not None:
                tracing.name_span(
                    request,
                    response,
                    g.get("s3_operation"),
                    g.get("s3_bucket"),
                    g.get("s3_key"),
                    record_keys=record_keys,
                )
            started = g.pop("telemetry_started", None)
            if metrics is not None and started is not None:
                operation = g.get("s3_operation") or "Unknown"
                status = response.status_code
                bytes_in = request.content_length or 0
                bytes_out = 0 if request.method == "HEAD" else response.content_length or 0

                def done() -> None:
                    seconds = time.perf_counter() - started
                    metrics.finished(operation, status, seconds, bytes_in, bytes_out)

                response.call_on_close(done)
            return response

        @app.teardown_request
        def _abandoned(_: BaseException | None) -> None:
            # No response went out (an error escaped every handler): still leave the
            # in-flight gauge balanced.
            if metrics is not None and g.pop("telemetry_started", None) is not None:
                metrics.finished(g.get("s3_operation") or "Unknown", 500, 0.0, 0, 0)
