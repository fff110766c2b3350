"""S3 access control lists, pure: grants, canned ACLs, grant headers, XML and JSON.

An ``AccessControlPolicy`` is an owner and its grants. Grantees are canonical users
(by id) or groups (by URI); a grant by e-mail address is resolved to the user's
canonical id when parsed, as S3 does, so stored policies hold only those two kinds.
Who is a known user, and under which e-mail, is asked through a ``Directory``. Which
permission an operation needs is ``BUCKET_PERMISSIONS`` / ``OBJECT_PERMISSIONS``; the
decision that reads them is ``web.access``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from . import xml
from .documents import ACCESS_CONTROL_POLICY
from .errors import S3Error

READ = "READ"
WRITE = "WRITE"
READ_ACP = "READ_ACP"
WRITE_ACP = "WRITE_ACP"
FULL_CONTROL = "FULL_CONTROL"
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})

CANONICAL_USER = "CanonicalUser"
GROUP = "Group"
BY_EMAIL = "AmazonCustomerByEmail"

XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: x-amz-grant-* header -> the permission it grants.
GRANT_HEADERS: Mapping[str, str] = {
    "x-amz-grant-read": READ,
    "x-amz-grant-write": WRITE,
    "x-amz-grant-read-acp": READ_ACP,
    "x-amz-grant-write-acp": WRITE_ACP,
    "x-amz-grant-full-control": FULL_CONTROL,
}

CANNED = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
        "aws-exec-read",
    }
)


#: Operations on a bucket its ACL may grant to others: operation -> permission. Bucket
#: configuration other than its ACL stays the owner's alone (no entry here).
BUCKET_PERMISSIONS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "ListObjects",
            "ListObjectsV2",
            "ListObjectVersions",
            "ListMultipartUploads",
            "HeadBucket",
        ),
        READ,
    ),
    **dict.fromkeys(
        (
            "PutObject",
            "CopyObject",
            "PostObject",
            "DeleteObject",
            "DeleteObjects",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "AbortMultipartUpload",
            "ListParts",
        ),
        WRITE,
    ),
    "GetBucketAcl": READ_ACP,
    "PutBucketAcl": WRITE_ACP,
}
#: Operations on an object its own ACL may grant to others (the bucket's does not):
#: operation -> permission.
OBJECT_PERMISSIONS: Mapping[str, str] = {
    "GetObject": READ,
    "HeadObject": READ,
    "GetObjectAttributes": READ,
    "GetObjectAcl": READ_ACP,
    "PutObjectAcl": WRITE_ACP,
}


@dataclass(frozen=True)
class Directory:
    """The users a policy may name: canonical id -> known?, e-mail -> canonical id."""

    is_user: Callable[[str], bool]
    id_for_email: Callable[[str], str | None]


@dataclass(frozen=True)
class Grant:
    #: CANONICAL_USER or GROUP.
    grantee_type: str
    #: the canonical user id, or the group URI.
    grantee: str
    permission: str

    @property
    def sort_key(self) -> str:
        """Responses list group grants first, then users by id (as Ceph RGW does)."""
        return "" if self.grantee_type == GROUP else self.grantee


@dataclass(frozen=True)
class AccessControlPolicy:
    owner: str
    grants: tuple[Grant, ...]

    @classmethod
    def default(cls, owner: str) -> AccessControlPolicy:
        """What every bucket and object has unless told otherwise: owner FULL_CONTROL."""
        return cls(owner, (Grant(CANONICAL_USER, owner, FULL_CONTROL),))

    def allows(self, user_id: str | None, permission: str, *, authenticated: bool) -> bool:
        """Does a grant give ``permission`` to this caller? ``user_id`` is None for an
        anonymous caller; ``authenticated`` means a signed, known user."""
        for grant in self.grants:
            if grant.permission not in (permission, FULL_CONTROL):
                continue
            if grant.grantee_type == CANONICAL_USER:
                if user_id is not None and grant.grantee == user_id:
                    return True
            elif grant.grantee == ALL_USERS or (
                grant.grantee == AUTHENTICATED_USERS and authenticated
            ):
                return True
        return False

    @property
    def is_public(self) -> bool:
        """Does it grant anything to AllUsers or AuthenticatedUsers (S3's "public")?"""
        return any(g.grantee in (ALL_USERS, AUTHENTICATED_USERS) for g in self.grants)

    def without_public(self) -> AccessControlPolicy:
        """The same ACL with its public grants left out (IgnorePublicAcls)."""
        kept = (g for g in self.grants if g.grantee not in (ALL_USERS, AUTHENTICATED_USERS))
        return AccessControlPolicy(self.owner, tuple(kept))

    def to_json(self) -> str:
        """The grants as stored (the owner is kept by the bucket or object itself)."""
        return json.dumps(
            {"grants": [[g.grantee_type, g.grantee, g.permission] for g in self.grants]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes | None, owner: str) -> AccessControlPolicy:
        """A stored policy; nothing stored (or unreadable) is the default."""
        if not text:
            return cls.default(owner)
        try:
            document = json.loads(text)
            grants = tuple(Grant(str(t), str(g), str(p)) for t, g, p in document["grants"])
        except (ValueError, TypeError, KeyError):
            return cls.default(owner)
        return cls(owner, grants)

    def render(self, display_name: Callable[[str], str]) -> bytes:
        """The AccessControlPolicy document; grants ordered by grantee (stable)."""
        root = ET.Element("AccessControlPolicy", {"xmlns": xml.NAMESPACE})
        owner = ET.SubElement(root, "Owner")
        ET.SubElement(owner, "ID").text = self.owner
        ET.SubElement(owner, "DisplayName").text = display_name(self.owner)
        acl = ET.SubElement(root, "AccessControlList")
        for grant in sorted(self.grants, key=lambda g: g.sort_key):
            grant_element(acl, grant, display_name)
        body = ET.tostring(root, encoding="utf-8")
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(body)


def grant_element(parent: ET.Element, grant: Grant, display_name: Callable[[str], str]) -> None:
    """Append ``<Grant><Grantee xsi:type=..>..</Grantee><Permission/></Grant>`` to ``parent``."""
    element = ET.SubElement(parent, "Grant")
    grantee = ET.SubElement(element, "Grantee", {"xmlns:xsi": XSI, "xsi:type": grant.grantee_type})
    if grant.grantee_type == GROUP:
        ET.SubElement(grantee, "URI").text = grant.grantee
    else:
        ET.SubElement(grantee, "ID").text = grant.grantee
        ET.SubElement(grantee, "DisplayName").text = display_name(grant.grantee)
    ET.SubElement(element, "Permission").text = grant.permission


def stored_acl(policy: AccessControlPolicy | None) -> str | None:
    """What to store for ``policy``: None stands for the default (owner FULL_CONTROL)."""
    if policy is None or policy == AccessControlPolicy.default(policy.owner):
        return None
    return policy.to_json()


def canned(name: str, owner: str, bucket_owner: str | None = None) -> AccessControlPolicy:
    """The policy a canned ACL stands for. ``bucket_owner`` matters for objects
    (bucket-owner-read / -full-control); unknown names raise InvalidArgument."""
    if name not in CANNED:
        raise S3Error(
            "InvalidArgument",
            f"unknown canned ACL {name!r}",
            extra={"ArgumentName": "x-amz-acl", "ArgumentValue": name},
        )
    grants: list[Grant] = []
    if name in ("public-read", "public-read-write"):
        grants.append(Grant(GROUP, ALL_USERS, READ))
    if name == "public-read-write":
        grants.append(Grant(GROUP, ALL_USERS, WRITE))
    if name == "authenticated-read":
        grants.append(Grant(GROUP, AUTHENTICATED_USERS, READ))
    if name == "log-delivery-write":
        grants.append(Grant(GROUP, LOG_DELIVERY, WRITE))
        grants.append(Grant(GROUP, LOG_DELIVERY, READ_ACP))
    grants.append(Grant(CANONICAL_USER, owner, FULL_CONTROL))
    if bucket_owner is not None and bucket_owner != owner:
        if name == "bucket-owner-read":
            grants.append(Grant(CANONICAL_USER, bucket_owner, READ))
        elif name == "bucket-owner-full-control":
            grants.append(Grant(CANONICAL_USER, bucket_owner, FULL_CONTROL))
    return AccessControlPolicy(owner, tuple(grants))


_GRANTEE = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*(?:,|$)')


def _resolve(kind: str, value: str, directory: Directory) -> Grant | None:
    """A grantee (by kind as S3 names it) as a stored grantee, permission left blank."""
    kind = kind.lower()
    if kind == "id":
        if not directory.is_user(value):
            raise S3Error("InvalidArgument", "Invalid id", extra={"ArgumentName": "id"})
        return Grant(CANONICAL_USER, value, "")
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", extra={"ArgumentName": "uri"})
        return Grant(GROUP, value, "")
    if kind in ("emailaddress", "email"):
        user_id = directory.id_for_email(value)
        if user_id is None:
            raise S3Error("UnresolvableGrantByEmailAddress", extra={"EmailAddress": value})
        return Grant(CANONICAL_USER, user_id, "")
    return None


def parse_grant_header(value: str, permission: str, directory: Directory) -> list[Grant]:
    """``id="...", uri="...", emailAddress="..."``, comma-separated."""
    grants: list[Grant] = []
    position = 0
    text = value.strip()
    while position < len(text):
        match = _GRANTEE.match(text, position)
        if match is None or match.end() == position:
            raise S3Error("InvalidArgument", f"malformed grant header {value!r}")
        position = match.end()
        kind, quoted, bare = match.groups()
        grantee = _resolve(kind, quoted if quoted is not None else bare, directory)
        if grantee is None:
            raise S3Error("InvalidArgument", f"unknown grantee type {kind!r}")
        grants.append(Grant(grantee.grantee_type, grantee.grantee, permission))
    if not grants:
        raise S3Error("InvalidArgument", f"empty grant header for {permission}")
    return grants


def policy_from_headers(
    headers: Mapping[str, str],
    owner: str,
    directory: Directory,
    *,
    bucket_owner: str | None = None,
) -> AccessControlPolicy | None:
    """The policy x-amz-acl or x-amz-grant-* ask for, or None if neither is present.
    Both at once is InvalidRequest."""
    acl = headers.get("x-amz-acl")
    present = [(name, headers[name]) for name in GRANT_HEADERS if headers.get(name) is not None]
    if acl is not None and present:
        raise S3Error(
            "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if acl is not None:
        return canned(acl.strip(), owner, bucket_owner)
    if not present:
        return None
    grants: list[Grant] = []
    for name, value in present:
        grants.extend(parse_grant_header(value, GRANT_HEADERS[name], directory))
    return AccessControlPolicy(owner, tuple(grants))


def _grantee_type(element: ET.Element) -> str | None:
    for name, value in element.attrib.items():
        if name == "type" or name.endswith("}type") or name.endswith(":type"):
            return value
    return None


def parse_policy(body: bytes, owner: str, directory: Directory) -> AccessControlPolicy:
    """An AccessControlPolicy document (PutBucketAcl / PutObjectAcl). The owner stays
    ``owner``: an ACL cannot hand the bucket or object to someone else."""
    try:
        root = xml.parse(body, ACCESS_CONTROL_POLICY)
    except S3Error:
        raise S3Error("MalformedACLError") from None
    if root.tag != "AccessControlPolicy":
        raise S3Error("MalformedACLError")
    acl = root.find("AccessControlList")
    if acl is None:
        raise S3Error("MalformedACLError")
    stated_owner = xml.child_text(root, "Owner/ID")
    if stated_owner is not None and stated_owner.strip() and stated_owner.strip() != owner:
        raise S3Error("AccessDenied", "The ACL may not change the owner")
    grants: list[Grant] = []
    for element in acl:
        if element.tag != "Grant":
            raise S3Error("MalformedACLError")
        permission = (xml.child_text(element, "Permission") or "").strip()
        grantee = element.find("Grantee")
        if permission not in PERMISSIONS or grantee is None:
            raise S3Error("MalformedACLError")
        grants.append(xml_grant(grantee, permission, directory))
    return AccessControlPolicy(owner, tuple(grants))


def xml_grant(grantee: ET.Element, permission: str, directory: Directory) -> Grant:
    """A ``<Grantee>`` element (by xsi:type, else by the field it has) as a Grant;
    MalformedACLError if it names nobody this server knows."""
    kind = _grantee_type(grantee)
    fields = {"ID": "id", "URI": "uri", "EmailAddress": "emailAddress"}
    by_type = {CANONICAL_USER: "ID", GROUP: "URI", BY_EMAIL: "EmailAddress"}
    if kind is not None:
        if kind not in by_type:
            raise S3Error("MalformedACLError")
        tags: Iterable[str] = (by_type[kind],)
    else:
        tags = fields
    for tag in tags:
        value = xml.child_text(grantee, tag)
        if value is not None and value.strip():
            resolved = _resolve(fields[tag], value.strip(), directory)
            if resolved is not None:
                return Grant(resolved.grantee_type, resolved.grantee, permission)
    raise S3Error("MalformedACLError")
