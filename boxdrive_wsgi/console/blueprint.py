"""make_console_blueprint: the web console, a Blueprint to mount next to the S3 one.

    app.register_blueprint(make_blueprint(store), url_prefix="/s3")
    app.register_blueprint(
        make_console_blueprint(store, s3_prefix="/s3"), url_prefix="/-/console"
    )

Pass the S3 blueprint's ``credentials`` and ``authorize`` hook too when it has its
own: the console authorizes every step with the same AccessControl as the S3 API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..auth.credentials import Credentials, credentials_from_settings
from ..protocol.errors import S3Error
from ..settings import Settings
from ..stores.base import ObjectStore, StoreError
from ..web.access import AccessControl, Authorizer
from ..web.authentication import Authenticator
from ..web.store_errors import to_s3_error
from . import views_admin, views_auth, views_buckets, views_objects, views_upload
from .gateway import Gateway
from .session import SessionCookies
from .state import ConsoleState, page, session

#: Endpoints served without a login.
PUBLIC = frozenset({"login", "static"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Pages carry presigned URLs and CSRF tokens: never cached, framed, or sent as referrer.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def make_console_blueprint(
    store: ObjectStore,
    *,
    settings: Settings | None = None,
    credentials: Credentials | None = None,
    authenticate: Authenticator | None = None,
    authorize: Authorizer | None = None,
    s3_prefix: str = "",
    name: str = "console",
    raw_store: ObjectStore | None = None,
    access: AccessControl | None = None,
    **overrides: Any,
) -> Blueprint:
    """The console over ``store``; ``s3_prefix`` is where the S3 blueprint is mounted
    (presigned URLs point there). ``raw_store``: the store under any telemetry wrapper.

    ``authenticate(request)``, the S3 blueprint's hook, may name the site's logged-in user;
    then no console login is needed. Uploads and share links are signed with that user's
    keys, so they need an identity whose ``access_key`` is one of ``credentials``.
    ``access``: the access policy the S3 blueprint uses (default: one built from
    ``settings.anonymous`` and ``authorize``).
    """
    settings = (settings or Settings()).replace(**overrides)
    if credentials is None:
        credentials = credentials_from_settings(settings)
    if access is None:  # create_app passes the one it shares with the console
        access = AccessControl(anonymous=settings.anonymous, hook=authorize)
    state = ConsoleState(
        gateway=Gateway(store, settings, access, credentials, s3_prefix.rstrip("/")),
        cookies=SessionCookies(settings.console_secret_key, settings.data_dir),
        settings=settings,
        credentials=credentials,
        raw_store=raw_store or _unwrapped(store),
    )
    blueprint = Blueprint(
        name,
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )

    @blueprint.before_request
    def _load() -> BaseResponse | None:
        session = g.console_session = state.cookies.load(request)
        user = credentials.lookup(session.access_key) if session.access_key else None
        g.console_identity = user.identity if user is not None else None
        if g.console_identity is None and authenticate is not None:
            g.console_identity = authenticate(request._get_current_object())  # type: ignore[attr-defined]
        endpoint = (request.endpoint or "").rpartition(".")[2]
        if request.method not in SAFE_METHODS and not session.csrf_ok(request):
            return _forbidden("The form was too old or came from another site. Try again.")
        if g.console_identity is None and endpoint not in PUBLIC:
            if request.method in SAFE_METHODS:
                return redirect(url_for(".login", next=request.full_path.rstrip("?")))
            return _forbidden("Please log in again.")
        return None

    @blueprint.after_request
    def _finish(response: Response) -> Response:
        session = g.get("console_session")
        if session is not None:
            state.cookies.save(response, session, _cookie_path(), request.is_secure)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    @blueprint.errorhandler(S3Error)
    def _s3_error(error: S3Error) -> tuple[str, int]:
        return _error_page(error)

    @blueprint.errorhandler(StoreError)
    def _store_error(error: StoreError) -> tuple[str, int]:
        return _error_page(to_s3_error(error, request.path))

    views_auth.register(blueprint, state)
    views_buckets.register(blueprint, state)
    views_objects.register(blueprint, state)
    views_upload.register(blueprint, state)
    views_admin.register(blueprint, state)
    return blueprint


def _cookie_path() -> str:
    """The console's own path: the cookie goes to no other page of the site."""
    return url_for(".index").rstrip("/") or "/"


def _forbidden(message: str) -> BaseResponse:
    html, status = page("error.html", 403, code="Forbidden", message=message)
    # A refused post sets no cookie: a cross-site post arrives without the console's
    # cookie (SameSite), and a fresh one in the answer would log the user out.
    session().dirty = False
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _error_page(error: S3Error) -> tuple[str, int]:
    message = error.message
    if error.code == "AccessDenied" and message == "Access Denied":
        message = "Your keys do not allow this: the console lets you do what they may do in S3."
    return page("error.html", error.status, code=error.code, message=message)


def _unwrapped(store: ObjectStore) -> ObjectStore:
    """The store under a telemetry wrapper (which keeps it as ``inner``)."""
    inner = getattr(store, "inner", None)
    return inner if isinstance(inner, ObjectStore) else store
