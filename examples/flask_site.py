"""A small Flask site with S3 under /s3: its own pages and login, and the S3 blueprint.

    BOXDRIVE_DATA_DIR=./site-data flask --app examples/flask_site.py run
    BOXDRIVE_DATA_DIR=./site-data gunicorn 'examples.flask_site:create_app()'

- ``/`` and ``/login`` are the site's own routes; a login puts the user in the session.
- ``/s3`` speaks S3. A browser (or any HTTP client) with the site's session cookie acts as
  the logged-in user, mapped to an S3 identity by the ``authenticate`` hook; S3 clients
  (boto3, the aws cli) sign their requests with the keys in ``BOXDRIVE_*`` as usual.
- The ``authorize`` hook lets the user "auditor" read every bucket and change nothing;
  everyone else gets the default policy (a bucket belongs to its creator).
- The session cookie is SameSite=Lax: other sites cannot make a browser send it with
  their PUT/POST/DELETE requests.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, Request, redirect, request, session
from werkzeug.wrappers import Response

from boxdrive_wsgi import Settings, make_blueprint
from boxdrive_wsgi.auth.identity import Identity
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.web.context import S3Request

#: The site's users (a real site checks a password hash in its database).
USERS = {"alice": "wonderland", "auditor": "read-only"}
READ_OPERATIONS = frozenset(
    {"ListBuckets", "HeadBucket", "ListObjects", "ListObjectsV2", "GetObject", "HeadObject"}
)


def session_identity(s3_request: Request) -> Identity | None:
    """The logged-in user as an S3 identity; None: check the S3 signature instead."""
    name = session.get("user")
    return Identity.named(name) if name in USERS else None


def site_policy(s3: S3Request) -> bool | None:
    """Auditors read everything and write nothing; others: the default (bucket owners)."""
    if s3.identity.display_name == "auditor":
        return s3.operation in READ_OPERATIONS
    return None


def create_app(data_dir: str | None = None) -> Flask:
    """The site (Flask's CLI finds this factory by name)."""
    settings = Settings.from_env()
    root = data_dir or settings.data_dir
    app = Flask(__name__)
    app.secret_key = os.environ.get("SITE_SECRET_KEY") or secrets.token_hex(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    @app.get("/")
    def index() -> str:
        user = session.get("user")
        return f"Hello {user}!" if user else "Hello! Please log in."

    @app.post("/login")
    def login() -> Response | tuple[str, int]:
        name = request.form.get("user", "")
        if USERS.get(name) is None or not secrets.compare_digest(
            USERS[name], request.form.get("password", "")
        ):
            return "wrong user or password", 403
        session["user"] = name
        return redirect("/")

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return redirect("/")

    app.register_blueprint(
        make_blueprint(
            FilesystemStore(root),
            settings=settings.replace(data_dir=root),
            name="s3",
            authenticate=session_identity,
            authorize=site_policy,
        ),
        url_prefix="/s3",
    )
    return app
