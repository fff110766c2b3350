"""CORS: Put/Get/DeleteBucketCors, OPTIONS preflight, and Access-Control-* headers on
actual requests that carry an Origin.

A preflight is unauthenticated, as in S3 (browsers send no credentials with it): the
dispatch table marks it ``authenticates=False`` and the answer comes only from the
bucket's rules.
"""

from __future__ import annotations

from flask import Request, Response, g

from ..protocol.cors import (
    NOT_ALLOWED,
    VARY,
    allow_headers,
    dump_rules,
    load_rules,
    match,
    parse_cors_xml,
    render_cors,
    split_header_list,
)
from ..protocol.documents import CORS_CONFIGURATION
from ..protocol.errors import S3Error
from ..stores.base import NoSuchBucket, ObjectStore, StoreError
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response

#: The bucket configuration slot holding the rules (JSON, see protocol.cors).
CONFIG = "cors"


def get_bucket_cors(s3: S3Request) -> Response:
    stored = s3.bucket_config(CONFIG)
    if stored is None:
        raise S3Error("NoSuchCORSConfiguration", extra={"BucketName": s3.bucket_name})
    return Response(render_cors(load_rules(stored)), content_type="application/xml")


def put_bucket_cors(s3: S3Request) -> Response:
    rules = parse_cors_xml(read_small_body(s3.request, CORS_CONFIGURATION, signer=s3.chunk_signer))
    s3.put_bucket_config(CONFIG, dump_rules(rules))
    return empty_response(200)


def delete_bucket_cors(s3: S3Request) -> Response:
    s3.put_bucket_config(CONFIG, None)
    return empty_response(204)


def preflight(s3: S3Request) -> Response:
    headers = s3.request.headers
    origin = headers.get("Origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = headers.get("Access-Control-Request-Method")
    if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
        raise S3Error("BadRequest", f"Invalid Access-Control-Request-Method: {method}")
    try:
        stored = s3.bucket_config(CONFIG)
    except NoSuchBucket:
        raise S3Error("AccessForbidden", "CORSResponse: Bucket not found") from None
    if stored is None:
        raise S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
    requested = split_header_list(headers.get("Access-Control-Request-Headers"))
    rule = match(load_rules(stored), origin, method, requested)
    if rule is None:
        raise S3Error("AccessForbidden", NOT_ALLOWED)
    return empty_response(200, allow_headers(rule, origin, requested, preflight=True))


def add_cors_headers(
    store: ObjectStore, bucket: str | None, request: Request, response: Response
) -> None:
    """Answer an actual (non-preflight) request's Origin from the bucket's rules.

    Called for every response, errors included, so it never raises. The rules are read
    through the request's ``S3Request`` when it has one (the slot read once per request,
    not at all when the bucket's lookup says it is empty); a request refused before it
    had one (a bad signature) reads the slot from the store.
    """
    origin = request.headers.get("Origin")
    if not origin or not bucket or request.method == "OPTIONS":
        return
    s3: S3Request | None = g.get("s3_request")
    try:
        if s3 is not None and s3.bucket == bucket:
            stored = s3.bucket_config(CONFIG)
        else:
            stored = store.get_bucket_config(bucket, CONFIG)
        rules = load_rules(stored) if stored is not None else None
    except (StoreError, ValueError, KeyError):
        return
    if rules is None:
        return
    rule = match(rules, origin, request.method)
    if rule is None:
        response.headers["Vary"] = VARY
        return
    for name, value in allow_headers(rule, origin, preflight=False).items():
        response.headers[name] = value
