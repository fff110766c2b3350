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
from ..stores.base import AttributeUpdate
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response

#: The bucket configuration slot holding bucket tags (JSON list of [key, value]).
CONFIG = "tagging"


def _check_version(s3: S3Request) -> None:
    version = s3.query.get("versionId")
    if version is not None and version != "null":
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": version},
        )


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type="application/xml")


def get_object_tagging(s3: S3Request) -> Response:
    _check_version(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key)
    return _xml(render_tagging(info.attributes.tags))


def put_object_tagging(s3: S3Request) -> Response:
    _check_version(s3)
    body = read_small_body(s3.request, TAGGING, signer=s3.chunk_signer)
    tags = parse_tagging_xml(body, limit=MAX_OBJECT_TAGS)
    s3.store.update_object_attributes(s3.bucket_name, s3.object_key, AttributeUpdate(tags=tags))
    return empty_response(200)


def delete_object_tagging(s3: S3Request) -> Response:
    _check_version(s3)
    s3.store.update_object_attributes(s3.bucket_name, s3.object_key, AttributeUpdate(tags={}))
    return empty_response(204)


def get_bucket_tagging(s3: S3Request) -> Response:
    stored = s3.store.get_bucket_config(s3.bucket_name, CONFIG)
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
