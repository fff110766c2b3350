"""Health endpoints on a path no bucket can take (bucket names never start with '-')."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..stores.base import ObjectStore

PREFIX = "/-/health"


def health_blueprint(store: ObjectStore) -> Blueprint:
    blueprint = Blueprint("boxdrive_health", __name__, url_prefix=PREFIX)

    @blueprint.get("/live")
    def live() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/ready")
    def ready() -> tuple[Response, int]:
        """Ready when the store answers a cheap read and has room for writes."""
        try:
            store.list_buckets()
            full = store.storage_full()
        except Exception as error:  # any failure means: do not send traffic here
            return jsonify(status="unavailable", error=type(error).__name__), 503
        if full:
            return jsonify(status="unavailable", error="InsufficientStorage"), 503
        return jsonify(status="ok"), 200

    return blueprint
