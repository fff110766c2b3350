"""Bucket versioning status: GetBucketVersioning and PutBucketVersioning.

The store keeps the status (``BucketInfo.versioning``, ``set_bucket_versioning``) and
applies it inside each write; a store without ``capabilities.versioning`` gets 501
for PutBucketVersioning before its body is read (``protocol.capabilities``).
"""

from __future__ import annotations

from flask import Response

from ..protocol.documents import VERSIONING_CONFIGURATION
from ..protocol.versioning import parse_versioning_configuration, render_versioning
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response, xml_response
from . import object_lock


def get_bucket_versioning(s3: S3Request) -> Response:
    """The status; an empty document for a bucket never versioned (as S3)."""
    status = s3.bucket_info().versioning
    return xml_response("VersioningConfiguration", render_versioning(status))


def put_bucket_versioning(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket before the body is judged
    body = read_small_body(s3.request, VERSIONING_CONFIGURATION, signer=s3.chunk_signer)
    configuration = parse_versioning_configuration(body)
    object_lock.refuse_suspend(s3, configuration.status)
    s3.store.set_bucket_versioning(s3.bucket_name, configuration.status)
    return empty_response(200)
