"""Health endpoints on a path no bucket can take (bucket names never start with '-')."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..stores.base import ObjectStore, StoreError

PREFIX = "/-/health"


def health_blueprint(store: ObjectStore) -> Blueprint:
    blueprint = Blueprint("boxdrive_health", __name__, url_prefix=PREFIX)

    @blueprint.get("/live")
    def live() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/ready")
    def ready() -> tuple[Response, int]:
        """Ready when the store answers a cheap read and has room for writes. A store
        over an upstream service (``upstream_health``) reports it: where, how fast."""
        upstream_health = getattr(store, "upstream_health", None)
        report: dict[str, object] = {}
        try:
            if callable(upstream_health):
                report["upstream"] = upstream_health()
            else:
                store.list_buckets()
            full = store.storage_full()
        except Exception as error:  # any failure means: do not send traffic here
            if isinstance(error, StoreError):  # store messages never carry credentials
                report["detail"] = str(error)
            return jsonify(status="unavailable", error=type(error).__name__, **report), 503
        if full:
            return jsonify(status="unavailable", error="InsufficientStorage", **report), 503
        return jsonify(status="ok", **report), 200

    return blueprint
