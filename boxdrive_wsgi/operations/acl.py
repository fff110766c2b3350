"""ACLs, versioning status and the bucket-policy probe, as far as this server has them.

Every bucket and object is private to the bucket's owner: Get*Acl answers exactly that
(the owner with FULL_CONTROL), and Put*Acl / x-amz-acl accept only what changes
nothing (``private``, or a document granting the owner FULL_CONTROL). Anything else
answers 501 NotImplemented - never a success that did not happen. Buckets are not
versioned; ``Suspended`` is accepted (it means "no new versions", which holds) and
remembered for GetBucketVersioning.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import Response

from ..body import read_small_body
from ..context import S3Request, empty_response, xml_response
from ..protocol import xml
from ..protocol.errors import S3Error

XSI = "http://www.w3.org/2001/XMLSchema-instance"
GRANT_HEADERS = (
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)
#: The bucket configuration slot remembering a PutBucketVersioning of Suspended.
VERSIONING = "versioning"


def check_acl_headers(s3: S3Request) -> None:
    """x-amz-acl other than ``private`` and any x-amz-grant-* answer 501."""
    acl = s3.request.headers.get("x-amz-acl")
    if acl is not None and acl != "private":
        raise S3Error("NotImplemented", f"canned ACL {acl!r} is not implemented")
    for name in GRANT_HEADERS:
        if name in s3.request.headers:
            raise S3Error("NotImplemented", f"{name} is not implemented")


def _owner(s3: S3Request) -> str:
    return s3.store.head_bucket(s3.bucket_name).owner or s3.identity.id


def _policy(s3: S3Request, owner: str) -> Response:
    name = s3.display_name(owner)
    root = ET.Element("AccessControlPolicy", {"xmlns": xml.NAMESPACE})
    owner_element = ET.SubElement(root, "Owner")
    ET.SubElement(owner_element, "ID").text = owner
    ET.SubElement(owner_element, "DisplayName").text = name
    grant = ET.SubElement(ET.SubElement(root, "AccessControlList"), "Grant")
    grantee = ET.SubElement(grant, "Grantee", {"xmlns:xsi": XSI, "xsi:type": "CanonicalUser"})
    ET.SubElement(grantee, "ID").text = owner
    ET.SubElement(grantee, "DisplayName").text = name
    ET.SubElement(grant, "Permission").text = "FULL_CONTROL"
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return Response(body, content_type="application/xml")


def get_bucket_acl(s3: S3Request) -> Response:
    return _policy(s3, _owner(s3))


def get_object_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    s3.store.head_object(s3.bucket_name, s3.object_key)
    return _policy(s3, owner)


def _put_acl(s3: S3Request, owner: str) -> Response:
    check_acl_headers(s3)
    body = read_small_body(s3.request, signer=s3.chunk_signer)
    if "x-amz-acl" in s3.request.headers:
        return empty_response(200)
    if not body.strip():
        raise S3Error("MissingSecurityHeader", extra={"MissingHeaderName": "x-amz-acl"})
    root = xml.parse(body)
    if root.tag != "AccessControlPolicy":
        raise S3Error("MalformedXML")
    grants = root.findall("AccessControlList/Grant")
    only_owner = len(grants) == 1 and (
        (grants[0].findtext("Permission") or "") == "FULL_CONTROL"
        and (grants[0].findtext("Grantee/ID") or "") == owner
    )
    if not only_owner:
        raise S3Error("NotImplemented", "ACLs other than the owner's FULL_CONTROL")
    return empty_response(200)


def put_bucket_acl(s3: S3Request) -> Response:
    return _put_acl(s3, _owner(s3))


def put_object_acl(s3: S3Request) -> Response:
    owner = _owner(s3)
    s3.store.head_object(s3.bucket_name, s3.object_key)
    return _put_acl(s3, owner)


def get_bucket_versioning(s3: S3Request) -> Response:
    status = s3.store.get_bucket_config(s3.bucket_name, VERSIONING)
    children = [] if status is None else [("Status", status.decode())]
    return xml_response("VersioningConfiguration", children)


def put_bucket_versioning(s3: S3Request) -> Response:
    s3.store.head_bucket(s3.bucket_name)
    root = xml.parse(read_small_body(s3.request, signer=s3.chunk_signer))
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


def get_bucket_policy(s3: S3Request) -> Response:
    s3.store.head_bucket(s3.bucket_name)
    raise S3Error("NoSuchBucketPolicy", extra={"BucketName": s3.bucket_name})


def delete_bucket_policy(s3: S3Request) -> Response:
    s3.store.head_bucket(s3.bucket_name)
    return empty_response(204)  # there is none: deleting it changes nothing
