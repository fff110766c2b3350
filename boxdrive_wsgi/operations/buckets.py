"""Bucket operations: list, create, head, delete, location."""

from __future__ import annotations

from flask import Response

from ..auth.identity import acts_as_owner
from ..protocol import xml
from ..protocol.acl import AccessControlPolicy
from ..protocol.documents import CREATE_BUCKET_CONFIGURATION
from ..protocol.errors import S3Error
from ..protocol.names import check_bucket_name
from ..protocol.numbers import optional_integer
from ..protocol.tokens import decode_token, encode_token
from ..stores.base import BucketAlreadyExists
from ..web.access import bucket_policy, requested_policy, set_bucket_policy
from ..web.body import read_small_body
from ..web.bucket_settings import BUCKET_OWNER_ENFORCED, OWNERSHIP, OWNERSHIPS
from ..web.context import S3Request, empty_response, xml_response
from . import object_lock

MAX_BUCKETS = 10000
#: The region where re-creating a bucket one owns succeeds (S3 keeps it for
#: legacy compatibility; every other region answers 409 BucketAlreadyOwnedByYou).
LEGACY_REGION = "us-east-1"


def list_buckets(s3: S3Request) -> Response:
    prefix = s3.query.get("prefix", "")
    after = _bucket_token(s3.query.get("continuation-token"))
    limit = _max_buckets(s3.query.get("max-buckets"))
    owned = [
        b
        for b in s3.store.list_buckets()
        if _visible(s3, b.owner) and b.name.startswith(prefix) and b.name > after
    ]
    page, more = owned[:limit], len(owned) > limit
    children: list[tuple[str, xml.Value]] = [
        ("Owner", xml.owner(s3.identity.id, s3.identity.display_name)),
        (
            "Buckets",
            [
                (
                    "Bucket",
                    [
                        ("Name", b.name),
                        ("CreationDate", b.created),
                        ("BucketRegion", s3.settings.region),
                    ],
                )
                for b in page
            ],
        ),
    ]
    if more:
        children.append(("ContinuationToken", encode_token(page[-1].name)))
    if "prefix" in s3.query:
        children.append(("Prefix", prefix))
    return xml_response("ListAllMyBucketsResult", children)


def _max_buckets(raw: str | None) -> int:
    return optional_integer(
        raw,
        "max-buckets",
        MAX_BUCKETS,
        minimum=1,
        maximum=MAX_BUCKETS,
        message=f"max-buckets must be an integer between 1 and {MAX_BUCKETS}",
    )


def _bucket_token(token: str | None) -> str:
    return "" if token is None else decode_token(token)


def _visible(s3: S3Request, owner: str | None) -> bool:
    return acts_as_owner(s3.identity, owner, anonymous_mode=s3.settings.anonymous)


def create_bucket(s3: S3Request) -> Response:
    bucket = s3.bucket_name
    check_bucket_name(bucket)
    policy = requested_policy(s3, s3.identity.id)  # x-amz-acl / x-amz-grant-*
    locked = object_lock.enable_on_create(s3)  # x-amz-bucket-object-lock-enabled
    ownership = _requested_ownership(s3, policy)
    _check_location(
        s3, read_small_body(s3.request, CREATE_BUCKET_CONFIGURATION, signer=s3.chunk_signer)
    )
    try:
        s3.store.create_bucket(bucket, owner=s3.identity.id)
    except BucketAlreadyExists as exists:
        if exists.owner == s3.identity.id and s3.settings.region == LEGACY_REGION:
            # S3's legacy rule in us-east-1: 200, and the bucket's ACL is reset to
            # the one this request asks for (private when none).
            set_bucket_policy(
                s3.store, bucket, policy or AccessControlPolicy.default(s3.identity.id)
            )
            return empty_response(200, {"Location": f"/{bucket}"})
        mine = exists.owner == s3.identity.id and _same_acl(s3, bucket, policy)
        code = "BucketAlreadyOwnedByYou" if mine else "BucketAlreadyExists"
        raise S3Error(code, extra={"BucketName": bucket}) from None
    if policy is not None or ownership is not None or locked:
        try:
            if policy is not None:
                set_bucket_policy(s3.store, bucket, policy)
            if ownership is not None:
                s3.store.put_bucket_config(bucket, OWNERSHIP, ownership.encode())
            if locked:
                object_lock.enable(s3, bucket)
        except BaseException:
            s3.store.delete_bucket(bucket)  # a bucket without the ACL or lock asked for is wrong
            raise
    return empty_response(200, {"Location": f"/{bucket}"})


def _requested_ownership(s3: S3Request, policy: AccessControlPolicy | None) -> str | None:
    """``x-amz-object-ownership``: one of S3's three; BucketOwnerEnforced takes no ACL
    but the owner's own (InvalidBucketAclWithObjectOwnership)."""
    value = s3.request.headers.get("x-amz-object-ownership")
    if value is None:
        return None
    value = value.strip()
    if value not in OWNERSHIPS:
        raise S3Error(
            "InvalidArgument",
            f"Invalid x-amz-object-ownership header: {value}",
            extra={"ArgumentName": "x-amz-object-ownership", "ArgumentValue": value},
        )
    if value == BUCKET_OWNER_ENFORCED and policy is not None and len(policy.grants) > 1:
        raise S3Error("InvalidBucketAclWithObjectOwnership")
    return value


def _same_acl(s3: S3Request, bucket: str, policy: AccessControlPolicy | None) -> bool:
    """Re-creating one's own bucket with another ACL is BucketAlreadyExists (as RGW)."""
    wanted = policy or AccessControlPolicy.default(s3.identity.id)
    return bucket_policy(s3, bucket, s3.identity.id) == wanted


def _check_location(s3: S3Request, body: bytes) -> None:
    if not body.strip():
        return
    root = xml.parse(body, CREATE_BUCKET_CONFIGURATION)
    if root.tag != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    location = xml.child_text(root, "LocationConstraint")
    if location and location != s3.settings.region:
        raise S3Error(
            "InvalidLocationConstraint",
            extra={"LocationConstraint": location},
        )


def head_bucket(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    return empty_response(200, {"x-amz-bucket-region": s3.settings.region})


def delete_bucket(s3: S3Request) -> Response:
    s3.store.delete_bucket(s3.bucket_name)
    return empty_response(204)


def get_location(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    region = s3.settings.region
    # S3 answers an empty LocationConstraint for us-east-1.
    body = xml.render_text("LocationConstraint", "" if region == "us-east-1" else region)
    return Response(body, content_type="application/xml")
