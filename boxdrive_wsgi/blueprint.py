"""The S3 blueprint: address the request, pick the operation, render errors.

All S3 requests land in one catch-all route: S3 keys are not URL paths (``//``,
trailing ``/`` and ``..`` are significant), so the blueprint splits bucket and
key itself, and the dispatch table in ``operations`` picks the handler.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from .auth.credentials import Credentials, credentials_from_settings
from .auth.identity import ANONYMOUS
from .observability import access_log
from .observability.log_delivery import LogDelivery
from .operations import logging as logging_operations
from .operations import resolve
from .operations.cors import add_cors_headers
from .protocol.capabilities import refuse_incapable
from .protocol.errors import S3Error
from .protocol.unimplemented import refuse_unimplemented
from .protocol.xml import render_error
from .servers import gunicorn_sendfile, gunicorn_write
from .settings import Settings
from .stores.base import ObjectStore, StoreError
from .stores.filesystem.space import is_out_of_space
from .web import server_logging
from .web.access import AccessControl, Authorizer
from .web.authentication import Authentication, Authenticator
from .web.context import S3Request
from .web.store_errors import to_s3_error


class AnyPathConverter(BaseConverter):
    """Matches everything, slashes and empty segments included."""

    regex = r"[\s\S]*"  # "." would stop at a newline, which S3 keys may contain
    part_isolating = False


def make_blueprint(
    store: ObjectStore,
    *,
    settings: Settings | None = None,
    name: str = "s3",
    credentials: Credentials | None = None,
    authenticate: Authenticator | None = None,
    authorize: Authorizer | None = None,
    access: AccessControl | None = None,
    **overrides: Any,
) -> Blueprint:
    """A Blueprint serving S3 over ``store``; register it at any ``url_prefix``.

    ``overrides`` are Settings fields (``region=...``, ``anonymous=True``, ...).
    ``credentials`` are the users who may sign requests (default: from settings,
    generating a key pair in the data dir if none is configured).
    ``authenticate(request)`` may map a request to an Identity itself (e.g. the
    site's logged-in user); ``authorize(s3_request)`` may allow (True) or deny
    (False) an operation, or return None for the default: bucket owners and ACL grants.
    ``access``: the access policy itself, shared with the console (default: one built
    from ``settings.anonymous`` and ``authorize``).
    """
    settings = (settings or Settings()).replace(**overrides)
    # Again here, not only at import: a gunicorn config that imports this package
    # (boxdrive_wsgi.gunicorn_conf) loads it in the master before gunicorn's HTTP
    # module, so the import-time patch found nothing to patch there.
    gunicorn_sendfile.apply()
    gunicorn_write.apply()
    if credentials is None:
        credentials = credentials_from_settings(settings)
    authentication = Authentication(credentials, settings.region, hook=authenticate)
    if access is None:  # create_app passes the one it shares with the console
        access = AccessControl(anonymous=settings.anonymous, hook=authorize)
    blueprint = Blueprint(name, __name__)
    #: server access logs of this blueprint's buckets, written by a background thread
    delivery = LogDelivery(
        store, settings.logging_flush_seconds, allow=logging_operations.delivery_check(store)
    )
    blueprint.log_delivery = delivery  # type: ignore[attr-defined]

    @blueprint.record_once
    def _register_converter(state: Any) -> None:
        app: Flask = state.app
        app.url_map.converters.setdefault("s3path", AnyPathConverter)

    def handle(path: str = "") -> Response:
        # The objects behind the proxies, looked up once (each proxy access costs one).
        ctx = g._get_current_object()
        current: Request = request._get_current_object()  # type: ignore[attr-defined]
        ctx.s3_started = time.perf_counter()
        ctx.s3_started_epoch = time.time()
        ctx.s3_request_id = request_id = _new_request_id()
        bucket, key, virtual = _address(path, current.host, settings.domain)
        ctx.s3_bucket = bucket
        ctx.s3_key = key
        operation = resolve(current.method, bucket, key, current.args, current.headers)
        ctx.s3_operation = operation.name
        if operation.self_authenticating:  # CORS preflight, POST Object: see Operation
            identity, signer = ANONYMOUS, None
        else:
            identity, signer = authentication.authenticate(current, bucket if virtual else None)
        ctx.s3_user = identity.display_name
        s3 = S3Request(
            request=current,
            store=store,
            settings=settings,
            bucket=bucket,
            key=key,
            identity=identity,
            request_id=request_id,
            operation=operation.name,
            chunk_signer=signer,
            credentials=credentials,
            authorizer=access.authorize,
        )
        ctx.s3_request = s3
        if not operation.self_authenticating:
            access.authorize(s3)
            if bucket is not None and operation.name != "CreateBucket":
                s3.check_expected_owner(bucket)
        refuse_unimplemented(operation.name, current.headers)  # never ignore a header
        refuse_incapable(operation.name, current.headers, s3.store.capabilities, current.args)
        return operation.handler(s3)

    methods = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"]
    blueprint.add_url_rule(
        "/", "service", handle, methods=methods, merge_slashes=False, strict_slashes=False
    )
    blueprint.add_url_rule(
        "/<s3path:path>",
        "resource",
        handle,
        methods=methods,
        merge_slashes=False,
        strict_slashes=False,
    )

    @blueprint.after_request
    def _stamp(response: Response) -> Response:
        ctx = g._get_current_object()
        current: Request = request._get_current_object()  # type: ignore[attr-defined]
        request_id = ctx.get("s3_request_id") or _new_request_id()
        headers = response.headers
        headers["x-amz-request-id"] = request_id
        headers.setdefault("x-amz-id-2", request_id)
        headers.setdefault("Server", "boxdrive-wsgi")
        add_cors_headers(store, ctx.get("s3_bucket"), current, response)
        record = _access_record(ctx, current, response, request_id)  # one capture, both logs
        if settings.access_log != "off":
            access_log.emit_when_closed(response, record, settings.access_log)
        server_logging.capture(current, response, store, settings.region, delivery, record)
        return response

    @blueprint.errorhandler(S3Error)
    def _s3_error(error: S3Error) -> Response:
        return error_response(error)

    @blueprint.errorhandler(StoreError)
    def _store_error(error: StoreError) -> Response:
        return error_response(to_s3_error(error, _resource()))

    @blueprint.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = {
            400: "InvalidRequest",
            405: "MethodNotAllowed",
            411: "MissingContentLength",
            413: "EntityTooLarge",
        }.get(error.code or 500, "InternalError")
        return error_response(S3Error(code, error.description, resource=_resource()))

    @blueprint.errorhandler(Exception)
    def _internal(error: Exception) -> Response:
        if is_out_of_space(error):  # a write the store did not check (tags, configs)
            current_app.logger.warning(
                "%s %s: out of space: %s", request.method, request.path, error
            )
            return error_response(S3Error("InsufficientStorage", resource=_resource()))
        current_app.logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(S3Error("InternalError", resource=_resource()))

    return blueprint


def _access_record(
    ctx: Any, current: Request, response: Response, request_id: str
) -> Callable[[], access_log.AccessRecord]:
    """Capture what is known now (``ctx``: the request's ``g``); the duration is taken
    when the body is done."""
    started = ctx.get("s3_started") or time.perf_counter()
    method = current.method
    operation = ctx.get("s3_operation") or "Unknown"
    bucket = ctx.get("s3_bucket")
    status = response.status_code
    bytes_in = current.content_length
    bytes_out = response.content_length if method != "HEAD" else 0
    user = ctx.get("s3_user")
    remote = current.remote_addr

    def record() -> access_log.AccessRecord:
        return access_log.AccessRecord(
            request_id,
            method,
            operation,
            bucket,
            status,
            bytes_in,
            bytes_out,
            access_log.elapsed_ms(started),
            user,
            remote,
        )

    return record


def error_response(error: S3Error) -> Response:
    request_id = g.get("s3_request_id") or _new_request_id()
    g.s3_request_id = request_id
    g.s3_error_code = error.code
    if error.resource is None:
        error.resource = _resource()
    body = (
        b"" if request.method == "HEAD" or error.status == 304 else render_error(error, request_id)
    )
    response = Response(body, status=error.status, content_type="application/xml")
    for name, value in error.headers.items():
        response.headers[name] = value
    if request.method == "HEAD":
        response.headers["Content-Length"] = "0"
    return response


def _resource() -> str:
    return request.path


def _new_request_id() -> str:
    # Not a secret, only unique: the module's PRNG (reseeded in every forked worker)
    # rather than os.urandom, a system call that lets the other threads take the GIL.
    return f"{random.getrandbits(64):016X}"


def _address(path: str, host: str, domain: str | None) -> tuple[str | None, str | None, bool]:
    """Split the request into (bucket, key, virtual-host style?).

    ``key`` is None for service and bucket requests; ``""`` is never a key.
    """
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    if domain and hostname.endswith("." + domain.lower()):
        bucket = hostname[: -len(domain) - 1]
        return bucket, path or None, True
    if not path:
        return None, None, False
    bucket, _, key = path.partition("/")
    return bucket, key or None, False
