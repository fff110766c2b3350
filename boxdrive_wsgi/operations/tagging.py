"""Object and bucket tagging: PUT/GET/DELETE ?tagging."""

from __future__ import annotations

import json

from flask import Response

from ..protocol.documents import TAGGING
from ..protocol.errors import S3Error
from ..protocol.tagging import (
    MAX_BUCKET_TAGS,
    MAX_OBJECT_TAGS,
    parse_tagging_xml,
    render_tagging,
)
from ..protocol.versioning import version_headers
from ..stores.base import AttributeUpdate
from ..web.access import check_object_read
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response
from ..web.versions import version_of_request

#: The bucket configuration slot holding bucket tags (JSON list of [key, value]).
CONFIG = "tagging"


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type="application/xml")


def get_object_tagging(s3: S3Request) -> Response:
    version = version_of_request(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
    check_object_read(s3, info)
    response = _xml(render_tagging(info.attributes.tags))
    response.headers.update(version_headers(info.version_id))
    return response


def put_object_tagging(s3: S3Request) -> Response:
    version = version_of_request(s3)
    body = read_small_body(s3.request, TAGGING, signer=s3.chunk_signer)
    tags = parse_tagging_xml(body, limit=MAX_OBJECT_TAGS)
    return _update_tags(s3, version, tags, 200)


def delete_object_tagging(s3: S3Request) -> Response:
    return _update_tags(s3, version_of_request(s3), {}, 204)


def _update_tags(s3: S3Request, version: str | None, tags: dict[str, str], status: int) -> Response:
    """Set one version's tags; answer which version (S3's x-amz-version-id)."""
    info = s3.store.update_object_attributes(
        s3.bucket_name, s3.object_key, AttributeUpdate(tags=tags), version_id=version
    )
    return empty_response(status, version_headers(info.version_id))


def get_bucket_tagging(s3: S3Request) -> Response:
    stored = s3.bucket_config(CONFIG)
    if stored is None:
        raise S3Error("NoSuchTagSet", extra={"BucketName": s3.bucket_name})
    return _xml(render_tagging(dict(json.loads(stored))))


def put_bucket_tagging(s3: S3Request) -> Response:
    body = read_small_body(s3.request, TAGGING, signer=s3.chunk_signer)
    tags = parse_tagging_xml(body, limit=MAX_BUCKET_TAGS)
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, json.dumps(list(tags.items())).encode())
    return empty_response(204)


def delete_bucket_tagging(s3: S3Request) -> Response:
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, None)
    return empty_response(204)
