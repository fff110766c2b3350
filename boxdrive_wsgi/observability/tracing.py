"""OpenTelemetry tracing: configured by the standard ``OTEL_*`` variables, off (and
never imported) when none of them asks for traces.

- ``enabled(environ)`` decides without importing OpenTelemetry;
- ``provider_from_env()`` builds an SDK TracerProvider with the exporters that
  ``OTEL_TRACES_EXPORTER`` names (default ``otlp``: OTLP over HTTP/protobuf, which
  reads ``OTEL_EXPORTER_OTLP_*`` itself), a resource from ``OTEL_SERVICE_NAME`` /
  ``OTEL_RESOURCE_ATTRIBUTES`` and the sampler from ``OTEL_TRACES_SAMPLER``. It is
  called from ``create_app``, i.e. in each gunicorn worker after the fork, so the
  exporter's thread and connections belong to the worker;
- ``InstrumentedStore`` wraps a store: one child span per store call (and a hook
  that counts store failures for the metrics);
- ``instrument_flask`` adds the HTTP server span (opentelemetry-instrumentation-flask)
  and ``name_span`` renames it per S3 operation and scrubs what must not be recorded:
  query strings (presigned URLs carry credentials and signatures there) and
  Authorization headers.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..stores.base import (
    BucketAlreadyExists,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NotSupported,
    ObjectStore,
    PreconditionFailed,
)
from ..stores.proxy import StoreProxy

if TYPE_CHECKING:
    from flask import Flask, Request, Response
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger("boxdrive_wsgi.tracing")

#: Any of these set (and tracing not disabled) turns tracing on.
ENABLING_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
DEFAULT_SERVICE_NAME = "boxdrive-wsgi"
#: Store errors that answer a client's request (404, 409, 412...): not failures of the store.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    NoSuchBucket,
    NoSuchKey,
    BucketAlreadyExists,
    BucketNotEmpty,
    PreconditionFailed,
    InvalidRange,
    NotSupported,
    NoSuchUpload,
    InvalidPart,
    InvalidPartOrder,
    EntityTooSmall,
    EntityTooLarge,
    IncompleteBody,
)
#: Methods whose second positional argument is an object key.
_KEYED = {
    "put_object",
    "get_object",
    "head_object",
    "delete_object",
    "create_multipart_upload",
    "upload_part",
    "complete_multipart_upload",
    "abort_multipart_upload",
    "list_parts",
    "copy_object",
    "update_object_attributes",
}
#: Forwarded, not traced: plumbing, not store calls.
_UNTRACED = {"multipart_backend", "close"}
#: Span attributes that may carry a query string, overwritten without it.
_URL_ATTRIBUTES = ("http.target", "http.url", "url.full")
_SECRET_HEADERS = ("authorization", "x_amz_security_token", "x-amz-security-token")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces (no OpenTelemetry import)."""
    env = os.environ if environ is None else environ
    if _true(env.get("OTEL_SDK_DISABLED")):
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return any(env.get(name, "").strip() for name in ENABLING_VARIABLES)


def provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """An SDK TracerProvider exporting where ``OTEL_TRACES_EXPORTER`` says."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    env = os.environ if environ is None else environ
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    resource = Resource.create(attributes)  # OTEL_SERVICE_NAME / _RESOURCE_ATTRIBUTES win
    provider = TracerProvider(resource=resource)
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    for name in filter(None, names):
        if name in ("otlp", "otlp_proto_http"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
            )
            if protocol != "http/protobuf":
                log.warning("OTLP protocol %s is not supported; using http/protobuf", protocol)
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            log.warning("unknown OTEL_TRACES_EXPORTER %r ignored", name)
    return provider


def instrument_clients(provider: TracerProvider, store_kind: str) -> None:
    """Client spans for the upstream S3 (botocore) and GitLab (requests) stores, when
    those instrumentation packages are installed."""
    wanted = {"s3": ["botocore"], "gitlab": ["requests"]}.get(store_kind)
    if wanted is None and ":" in store_kind:  # a custom store may use either
        wanted = ["botocore", "requests"]
    classes = {"botocore": "BotocoreInstrumentor", "requests": "RequestsInstrumentor"}
    for library in wanted or []:
        try:
            module = importlib.import_module(f"opentelemetry.instrumentation.{library}")
        except ImportError:
            log.debug("opentelemetry-instrumentation-%s is not installed", library)
            continue
        getattr(module, classes[library])().instrument(tracer_provider=provider)


def instrument_flask(app: Flask, provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(app, tracer_provider=provider)  # type: ignore[no-untyped-call]


def name_span(
    request: Request,
    response: Response,
    operation: str | None,
    bucket: str | None,
    key: str | None,
    *,
    record_keys: bool = False,
) -> None:
    """On the current server span: the S3 operation's name and attributes, and no
    query string, credentials or (unless ``record_keys``) object key. Called while
    the span is still open."""
    from opentelemetry import trace

    span: Span = trace.get_current_span()
    if not span.is_recording():
        return
    if operation:
        span.update_name(f"S3 {operation}")
        span.set_attribute("s3.operation", operation)
    if bucket:
        span.set_attribute("s3.bucket", bucket)
    if key is not None and record_keys:
        span.set_attribute("s3.key", key)
    span.set_attribute("http.response.status_code", response.status_code)
    if request.content_length is not None:
        span.set_attribute("http.request.body.size", request.content_length)
    if response.content_length is not None and request.method != "HEAD":
        span.set_attribute("http.response.body.size", response.content_length)
    scrub(span, request, None if record_keys else key)


def scrub(span: Span, request: Request, key: str | None = None) -> None:
    """Overwrite attributes the instrumentation derived from the raw URL or headers:
    the path as routed (``key``, if given, replaced by ``{key}``), without the query."""
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    path = request.script_root + request.path
    if key and path.endswith(key):
        path = path[: len(path) - len(key)] + "{key}"
    for name in (*_URL_ATTRIBUTES, "url.path"):
        if name not in attributes:
            continue
        if name in ("http.url", "url.full"):
            span.set_attribute(name, request.host_url.rstrip("/") + path)
        else:
            span.set_attribute(name, path)
    if "url.query" in attributes:
        span.set_attribute("url.query", "")
    for name in attributes:
        if name.startswith("http.request.header.") and name.endswith(_SECRET_HEADERS):
            span.set_attribute(name, ("[REDACTED]",))


def instrument_store(
    store: ObjectStore,
    *,
    tracer: Tracer | None,
    on_error: ErrorHook | None,
    record_keys: bool,
) -> ObjectStore:
    """``store`` behind an InstrumentedStore."""
    return InstrumentedStore(  # type: ignore[abstract]  # StoreProxy fills the methods in
        store, tracer=tracer, on_error=on_error, record_keys=record_keys
    )


ErrorHook = Callable[[str, BaseException], None]


class InstrumentedStore(StoreProxy):
    """A store proxy: a child span per call (when ``tracer`` is given) and
    ``on_error(method, exception)`` for failures that are not the client's."""

    def __init__(
        self,
        inner: ObjectStore,
        *,
        tracer: Tracer | None = None,
        on_error: ErrorHook | None = None,
        record_keys: bool = False,
    ) -> None:
        super().__init__(inner)
        self._tracer = tracer
        self._on_error = on_error
        self._record_keys = record_keys
        self._kind = type(inner).__name__

    def _call(self, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if name in _UNTRACED:
            return super()._call(name, args, kwargs)
        with self._observe(name, args):
            return super()._call(name, args, kwargs)

    @contextlib.contextmanager
    def _observe(self, method: str, args: tuple[Any, ...]) -> Iterator[None]:
        try:
            if self._tracer is None:
                yield
                return
            attributes: dict[str, str] = {"store.method": method, "store.type": self._kind}
            if args and isinstance(args[0], str):
                attributes["s3.bucket"] = args[0]
            if self._record_keys and method in _KEYED and len(args) > 1:
                attributes["s3.key"] = str(args[1])
            with self._tracer.start_as_current_span(
                f"store.{method}",
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    yield
                except BaseException as error:
                    span.set_attribute("error.type", type(error).__name__)
                    if not isinstance(error, CLIENT_ERRORS):
                        from opentelemetry.trace import Status, StatusCode

                        span.record_exception(error)
                        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                    raise
        except Exception as error:
            if self._on_error is not None and not isinstance(error, CLIENT_ERRORS):
                self._on_error(method, error)
            raise
