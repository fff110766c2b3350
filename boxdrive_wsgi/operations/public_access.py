"""Public access block and ownership controls: Put/Get/DeletePublicAccessBlock and
Put/Get/DeleteBucketOwnershipControls.

What they change is enforced elsewhere: ``web.access`` applies IgnorePublicAcls and
RestrictPublicBuckets to every decision and refuses ACL writes (BlockPublicAcls,
BucketOwnerEnforced); ``operations.policy`` refuses public policies under
BlockPublicPolicy. Stored as ``web.bucket_settings`` says.
"""

from __future__ import annotations

from flask import Response

from ..protocol import xml
from ..protocol.documents import OWNERSHIP_CONTROLS, PUBLIC_ACCESS_BLOCK_CONFIGURATION
from ..protocol.errors import S3Error
from ..web.access import bucket_policy
from ..web.body import read_document
from ..web.bucket_settings import (
    BUCKET_OWNER_ENFORCED,
    OWNERSHIP,
    OWNERSHIPS,
    PUBLIC_ACCESS_BLOCK,
    PublicAccessBlock,
    load_public_access_block,
)
from ..web.context import S3Request, empty_response, xml_response

_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _flag(text: str | None) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise S3Error("MalformedXML")
    return value == "true"


def put_public_access_block(s3: S3Request) -> Response:
    s3.bucket_info()  # NoSuchBucket unless it exists
    root = read_document(s3.request, PUBLIC_ACCESS_BLOCK_CONFIGURATION, signer=s3.chunk_signer)
    if root.tag != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    block = PublicAccessBlock(*(_flag(xml.child_text(root, name)) for name in _FLAGS))
    s3.store.put_bucket_config(s3.bucket_name, PUBLIC_ACCESS_BLOCK, block.to_json())
    return empty_response(200)


def get_public_access_block(s3: S3Request) -> Response:
    block = load_public_access_block(s3)
    if block is None:
        s3.bucket_info()  # NoSuchBucket first
        raise S3Error("NoSuchPublicAccessBlockConfiguration", extra={"BucketName": s3.bucket_name})
    children = [(name, "true" if getattr(block, name) else "false") for name in _FLAGS]
    return xml_response("PublicAccessBlockConfiguration", children)


def delete_public_access_block(s3: S3Request) -> Response:
    s3.bucket_info()
    s3.store.put_bucket_config(s3.bucket_name, PUBLIC_ACCESS_BLOCK, None)
    return empty_response(204)


def put_bucket_ownership_controls(s3: S3Request) -> Response:
    s3.bucket_info()
    root = read_document(s3.request, OWNERSHIP_CONTROLS, signer=s3.chunk_signer)
    rules = root.findall("Rule")
    if root.tag != "OwnershipControls" or len(rules) != 1:
        raise S3Error("MalformedXML")
    value = (xml.child_text(rules[0], "ObjectOwnership") or "").strip()
    if value not in OWNERSHIPS:
        raise S3Error("MalformedXML", f"Invalid ObjectOwnership {value!r}")
    if value == BUCKET_OWNER_ENFORCED:
        owner = s3.bucket_owner() or s3.identity.id
        acl = bucket_policy(s3, s3.bucket_name, owner)
        if len(acl.grants) > 1 or any(g.grantee != owner for g in acl.grants):
            raise S3Error("InvalidBucketAclWithObjectOwnership")
    s3.store.put_bucket_config(s3.bucket_name, OWNERSHIP, value.encode())
    return empty_response(200)


def get_bucket_ownership_controls(s3: S3Request) -> Response:
    stored = s3.bucket_config(OWNERSHIP)
    if stored is None:
        raise S3Error("OwnershipControlsNotFoundError", extra={"BucketName": s3.bucket_name})
    rule = [("Rule", [("ObjectOwnership", stored.decode())])]
    return xml_response("OwnershipControls", rule)


def delete_bucket_ownership_controls(s3: S3Request) -> Response:
    s3.bucket_info()
    s3.store.put_bucket_config(s3.bucket_name, OWNERSHIP, None)
    return empty_response(204)
