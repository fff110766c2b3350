"""create_app: a Flask application serving S3 at its root."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .blueprint import make_blueprint
from .observability import access_log
from .observability.health import health_blueprint
from .observability.telemetry import Telemetry
from .settings import Settings
from .stores.base import ObjectStore
from .stores.factory import store_from_settings
from .web.proxy import TrustedProxies


def create_app(store: ObjectStore | None = None, **settings: Any) -> Flask:
    """Build the S3 server app for ``store`` (or the store the settings name).

    ``settings`` are Settings fields; unset fields come from ``BOXDRIVE_*``
    environment variables.
    """
    resolved = Settings.from_env(**settings)
    if store is None:
        store = store_from_settings(resolved)
    app = Flask("boxdrive_wsgi")
    # S3 clients send bodies of any size; the store streams them.
    app.config["MAX_CONTENT_LENGTH"] = None
    access_log.configure(resolved.access_log != "off")
    telemetry = Telemetry.from_settings(resolved)
    store = telemetry.wrap_store(store)  # the store itself when telemetry is off
    app.register_blueprint(health_blueprint(store))
    app.register_blueprint(make_blueprint(store, settings=resolved))
    telemetry.install(app, resolved.store)
    app.extensions["boxdrive_wsgi"] = {"store": store, "settings": resolved}
    if resolved.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, resolved.trusted_proxies)  # type: ignore[method-assign]
    return app
