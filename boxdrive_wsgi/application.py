"""create_app: a Flask application serving S3 at its root."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .auth.credentials import credentials_from_settings
from .blueprint import make_blueprint
from .console import make_console_blueprint
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
    raw_store = store
    store = telemetry.wrap_store(store)  # the store itself when telemetry is off
    # One set of users for S3 and the console: a key the console rotates is rotated in S3.
    credentials = credentials_from_settings(resolved)
    app.register_blueprint(health_blueprint(store))
    if resolved.console:
        console = make_console_blueprint(
            store, settings=resolved, credentials=credentials, raw_store=raw_store
        )
        app.register_blueprint(console, url_prefix=resolved.console_path.rstrip("/"))
    app.register_blueprint(make_blueprint(store, settings=resolved, credentials=credentials))
    telemetry.install(app, resolved.store)
    app.extensions["boxdrive_wsgi"] = {"store": store, "settings": resolved}
    if resolved.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, resolved.trusted_proxies)  # type: ignore[method-assign]
    return app
