"""ACLs and versioning status, as far as this server has them.

The handlers of GetBucketAcl/PutBucketAcl/GetObjectAcl/PutObjectAcl; where ACLs are
stored and how they decide access is ``web.access``, the ACL model ``protocol.acl``.
Buckets are not versioned; ``Suspended`` is accepted (it means "no new versions",
which holds) and remembered for GetBucketVersioning.
"""

from __future__ import annotations

from flask import Response

from ..protocol import xml
from ..protocol.acl import AccessControlPolicy, parse_policy, stored_acl
from ..protocol.documents import ACCESS_CONTROL_POLICY, VERSIONING_CONFIGURATION
from ..protocol.errors import S3Error
from ..stores.base import AttributeUpdate
from ..web.access import (
    bucket_policy,
    check_acl_write,
    directory,
    object_policy,
    requested_policy,
    set_bucket_policy,
)
from ..web.body import read_document, read_small_body
from ..web.context import S3Request, empty_response, xml_response

#: The bucket configuration slot remembering a PutBucketVersioning of Suspended.
VERSIONING = "versioning"


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
    return _respond(s3, bucket_policy(s3.store, s3.bucket_name, owner))


def put_bucket_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    set_bucket_policy(s3.store, s3.bucket_name, _policy_from_request(s3, owner))
    return empty_response(200)


def get_object_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key)
    return _respond(s3, object_policy(info, owner))


def put_object_acl(s3: S3Request) -> Response:
    bucket_owner = _owner(s3)
    info = s3.store.head_object(s3.bucket_name, s3.object_key)
    owner = object_policy(info, bucket_owner).owner
    policy = _policy_from_request(s3, owner, bucket_owner)
    update = AttributeUpdate(acl=stored_acl(policy))
    s3.store.update_object_attributes(s3.bucket_name, s3.object_key, update)
    return empty_response(200)


def get_bucket_versioning(s3: S3Request) -> Response:
    status = s3.store.get_bucket_config(s3.bucket_name, VERSIONING)
    children = [] if status is None else [("Status", status.decode())]
    return xml_response("VersioningConfiguration", children)


def put_bucket_versioning(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    root = read_document(s3.request, VERSIONING_CONFIGURATION, signer=s3.chunk_signer)
    if root.tag != "VersioningConfiguration":
        raise S3Error("MalformedXML")
    status = xml.child_text(root, "Status")
    mfa = xml.child_text(root, "MfaDelete")
    if mfa == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not implemented")
    if status == "Enabled":
        raise S3Error("NotImplemented", "Bucket versioning is not implemented")
    if status != "Suspended":
        raise S3Error("IllegalVersioningConfigurationException")
    s3.store.put_bucket_config(s3.bucket_name, VERSIONING, b"Suspended")
    return empty_response(200)
