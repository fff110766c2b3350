"""ACLs, as far as this server has them.

The handlers of GetBucketAcl/PutBucketAcl/GetObjectAcl/PutObjectAcl (of one object
version with ``?versionId=``); where ACLs are stored and how they decide access is
``web.access``, the ACL model ``protocol.acl``. Versioning status: ``operations.versioning``.
"""

from __future__ import annotations

from flask import Response

from ..protocol.acl import AccessControlPolicy, parse_policy, stored_acl
from ..protocol.documents import ACCESS_CONTROL_POLICY
from ..protocol.errors import S3Error
from ..protocol.versioning import version_headers
from ..stores.base import AttributeUpdate
from ..web.access import (
    bucket_policy,
    check_acl_write,
    directory,
    requested_policy,
    set_bucket_policy,
    shown_object_policy,
)
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response
from ..web.versions import version_of_request


def _owner(s3: S3Request) -> str:
    return s3.bucket_owner() or s3.identity.id


def _respond(s3: S3Request, policy: AccessControlPolicy) -> Response:
    return Response(policy.render(s3.display_name), content_type="application/xml")


def _policy_from_request(
    s3: S3Request, owner: str, bucket_owner: str | None = None
) -> AccessControlPolicy:
    body = read_small_body(s3.request, ACCESS_CONTROL_POLICY, signer=s3.chunk_signer)
    policy = requested_policy(s3, owner, bucket_owner)
    if policy is None:
        if not body.strip():
            raise S3Error("MissingSecurityHeader", extra={"MissingHeaderName": "x-amz-acl"})
        policy = parse_policy(body, owner, directory(s3))
    check_acl_write(s3, policy)  # BlockPublicAcls
    return policy


def get_bucket_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    return _respond(s3, bucket_policy(s3, s3.bucket_name, owner))


def put_bucket_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    set_bucket_policy(s3.store, s3.bucket_name, _policy_from_request(s3, owner))
    return empty_response(200)


def get_object_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    version = version_of_request(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
    response = _respond(s3, shown_object_policy(s3, info, owner))
    response.headers.update(version_headers(info.version_id))
    return response


def put_object_acl(s3: S3Request) -> Response:
    bucket_owner = _owner(s3)
    version = version_of_request(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key, version_id=version)
    owner = shown_object_policy(s3, info, bucket_owner).owner
    policy = _policy_from_request(s3, owner, bucket_owner)
    update = AttributeUpdate(acl=stored_acl(policy))
    s3.store.update_object_attributes(s3.bucket_name, s3.object_key, update, version_id=version)
    return empty_response(200, version_headers(info.version_id))
