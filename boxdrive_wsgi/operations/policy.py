"""Bucket policies: Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus.

The policy language and its evaluation are the ``policy`` package; the document is
kept in the bucket configuration slot ``policy`` (``web.bucket_settings``) and
consulted by ``web.access`` for every request. A policy is validated when put: a bad
one is refused with MalformedPolicy saying what is wrong, and under the public access
block's BlockPublicPolicy a public one with AccessDenied.
"""

from __future__ import annotations

from flask import Response

from ..policy import PolicyError, parse_policy
from ..protocol.documents import BUCKET_POLICY
from ..protocol.errors import S3Error
from ..web.access import bucket_policy
from ..web.body import read_small_body
from ..web.bucket_settings import POLICY, load_policy, load_public_access_block
from ..web.context import S3Request, empty_response, xml_response


def put_bucket_policy(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    body = read_small_body(s3.request, BUCKET_POLICY, signer=s3.chunk_signer)
    try:
        policy = parse_policy(body, bucket=s3.bucket_name)
    except PolicyError as error:
        raise S3Error("MalformedPolicy", str(error)) from None
    if policy.is_public:
        block = load_public_access_block(s3)
        if block is not None and block.BlockPublicPolicy:
            raise S3Error("AccessDenied", "The policy is public and BlockPublicPolicy is on")
    s3.store.put_bucket_config(s3.bucket_name, POLICY, body)
    return empty_response(204)


def get_bucket_policy(s3: S3Request) -> Response:
    stored = s3.bucket_config(POLICY)
    if stored is None:
        raise S3Error("NoSuchBucketPolicy", extra={"BucketName": s3.bucket_name})
    return Response(stored, content_type="application/json")


def delete_bucket_policy(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    s3.store.put_bucket_config(s3.bucket_name, POLICY, None)
    return empty_response(204)


def get_bucket_policy_status(s3: S3Request) -> Response:
    """IsPublic: the bucket's policy or ACL grants the public something, as S3 says
    (a public access block that ignores public ACLs or restricts public policies
    takes that part away)."""
    owner = s3.bucket_owner() or s3.identity.id
    block = load_public_access_block(s3)
    policy = load_policy(s3)
    public = False
    if policy is not None and policy.is_public:
        public = block is None or not block.RestrictPublicBuckets
    if not public and bucket_policy(s3, s3.bucket_name, owner).is_public:
        public = block is None or not block.IgnorePublicAcls
    value = "true" if public else "false"
    return xml_response("PolicyStatus", [("IsPublic", value)])
