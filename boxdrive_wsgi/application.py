"""create_app: a Flask application serving S3 at its root."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .auth.credentials import credentials_from_settings
from .blueprint import make_blueprint
from .console import make_console_blueprint
from .lifecycle import start_background
from .observability import access_log
from .observability.health import health_blueprint
from .observability.telemetry import Telemetry
from .servers import waitress_spool
from .settings import Settings
from .stores.base import ObjectStore
from .stores.factory import store_from_settings
from .stores.filesystem.content import ContentFiles
from .web.access import AccessControl
from .web.proxy import TrustedProxies


def share_uploads(store: ObjectStore, settings: Settings) -> None:
    """Give a shared store that uses the staged multipart default the settings' shared
    directory, so that every worker process sees every upload."""
    capabilities = store.capabilities
    if capabilities.native_multipart or not capabilities.shared or store.multipart_dir:
        return
    store.multipart_dir = settings.multipart_dir or os.path.join(settings.data_dir, "multipart")


class PrivateUploads(RuntimeError):
    """A server of several worker processes over a store whose multipart uploads only
    one process would see."""


def refuse_private_uploads(app: object, processes: int, server: str = "the server") -> None:
    """At start-up of a server of several processes (gunicorn's post_worker_init, uWSGI
    through wsgi.py): raise PrivateUploads for a store whose multipart uploads only this
    process would see (a part reaching another worker would answer NoSuchUpload), with
    what to set. An app that is not a boxdrive-wsgi app is not ours to judge."""
    extensions = getattr(app, "extensions", None)
    if processes <= 1 or not isinstance(extensions, dict) or "boxdrive_wsgi" not in extensions:
        return
    store: ObjectStore = extensions["boxdrive_wsgi"]["store"]
    if store.uploads_are_private():
        raise PrivateUploads(
            f"{server} runs {processes} worker processes, but {type(store).__name__} keeps"
            " multipart uploads in a directory private to each process, so a part reaching"
            " another worker would answer NoSuchUpload: set BOXDRIVE_MULTIPART_DIR (or give"
            " the store a multipart_dir) to a directory every worker shares, use a store"
            " whose data every process shares, or run one worker process"
        )


def create_app(store: ObjectStore | None = None, **settings: Any) -> Flask:
    """Build the S3 server app for ``store`` (or the store the settings name).

    ``settings`` are Settings fields; unset fields come from ``BOXDRIVE_*``
    environment variables.
    """
    resolved = Settings.from_env(**settings)
    if store is None:
        store = store_from_settings(resolved)
    share_uploads(store, resolved)
    app = Flask("boxdrive_wsgi")
    # S3 clients send bodies of any size; the store streams them.
    app.config["MAX_CONTENT_LENGTH"] = None
    access_log.configure(resolved.access_log != "off")
    telemetry = Telemetry.from_settings(resolved)
    raw_store = store
    # waitress spools large bodies where the filesystem store can link them into place
    content = getattr(raw_store, "content", None)
    waitress_spool.spool_into(content.tmp_dir if isinstance(content, ContentFiles) else None)
    store = telemetry.wrap_store(store)  # the store itself when telemetry is off
    # One set of users for S3 and the console: a key the console rotates is rotated in S3.
    credentials = credentials_from_settings(resolved)
    # One access policy for both: the console's gateway decides as S3 does.
    access = AccessControl(anonymous=resolved.anonymous)
    app.register_blueprint(health_blueprint(store))
    if resolved.console:
        console = make_console_blueprint(
            store, settings=resolved, credentials=credentials, raw_store=raw_store, access=access
        )
        app.register_blueprint(console, url_prefix=resolved.console_path.rstrip("/"))
    app.register_blueprint(
        make_blueprint(store, settings=resolved, credentials=credentials, access=access)
    )
    telemetry.install(app, resolved.store)
    app.extensions["boxdrive_wsgi"] = {
        "store": store,
        "settings": resolved,
        # the opt-in lifecycle sweeper thread's stop event (None: off)
        "lifecycle": start_background(store, resolved),
    }
    if resolved.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, resolved.trusted_proxies)  # type: ignore[method-assign]
    return app
