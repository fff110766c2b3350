"""Put/Get/DeleteBucketLifecycle(Configuration): the rules, kept in the bucket's
``lifecycle`` configuration slot; the sweeper (boxdrive_wsgi/lifecycle/) applies them."""

from __future__ import annotations

from flask import Response

from ..protocol.documents import LIFECYCLE_CONFIGURATION
from ..protocol.errors import S3Error
from ..protocol.lifecycle import (
    dump_configuration,
    expiration_header,
    load_configuration,
    parse_configuration,
)
from ..protocol.lifecycle import render_configuration as render
from ..stores.base import ObjectInfo, StoreError
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response

#: The bucket configuration slot holding the rules (JSON, see protocol.lifecycle).
CONFIG = "lifecycle"


EXPIRATION_HEADER = "x-amz-expiration"


def expiration_headers(s3: S3Request, info: ObjectInfo) -> dict[str, str]:
    """x-amz-expiration for a current version the bucket's rules will expire (PUT,
    GET, HEAD answer it, as S3). Costs one bucket configuration read."""
    if not info.is_latest or info.delete_marker or not s3.store.capabilities.bucket_config:
        return {}
    try:
        stored = s3.bucket_config(CONFIG, info.bucket)
    except StoreError:
        return {}
    if stored is None:
        return {}
    rules = load_configuration(stored).rules
    tags = info.attributes.tags
    header = expiration_header(rules, info.key, info.size, tags, info.last_modified)
    return {} if header is None else {EXPIRATION_HEADER: header}


def get_bucket_lifecycle(s3: S3Request) -> Response:
    stored = s3.bucket_config(CONFIG)
    if stored is None:
        raise S3Error("NoSuchLifecycleConfiguration", extra={"BucketName": s3.bucket_name})
    return Response(render(load_configuration(stored)), content_type="application/xml")


def put_bucket_lifecycle(s3: S3Request) -> Response:
    body = read_small_body(s3.request, LIFECYCLE_CONFIGURATION, signer=s3.chunk_signer)
    config = parse_configuration(body)
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, dump_configuration(config))
    return empty_response(200)


def delete_bucket_lifecycle(s3: S3Request) -> Response:
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, None)
    return empty_response(204)
