"""protocol.acl: canned ACLs, grant headers, XML policies, JSON storage, permission checks."""

from __future__ import annotations

import pytest

from boxdrive_wsgi.protocol import acl
from boxdrive_wsgi.protocol.acl import AccessControlPolicy, Directory, Grant
from boxdrive_wsgi.protocol.errors import S3Error

OWNER, OTHER = "owner-id", "other-id"
DIRECTORY = Directory(
    is_user={OWNER, OTHER}.__contains__,
    id_for_email={"other@example.com": OTHER}.get,
)


def user(user_id: str, permission: str) -> Grant:
    return Grant(acl.CANONICAL_USER, user_id, permission)


def group(uri: str, permission: str) -> Grant:
    return Grant(acl.GROUP, uri, permission)


def test_canned_acls() -> None:
    assert acl.canned("private", OWNER) == AccessControlPolicy.default(OWNER)
    assert acl.canned("public-read", OWNER).grants == (
        group(acl.ALL_USERS, "READ"),
        user(OWNER, "FULL_CONTROL"),
    )
    assert acl.canned("public-read-write", OWNER).grants[:2] == (
        group(acl.ALL_USERS, "READ"),
        group(acl.ALL_USERS, "WRITE"),
    )
    assert acl.canned("authenticated-read", OWNER).grants[0] == group(
        acl.AUTHENTICATED_USERS, "READ"
    )
    assert acl.canned("bucket-owner-read", OTHER, OWNER).grants == (
        user(OTHER, "FULL_CONTROL"),
        user(OWNER, "READ"),
    )
    assert acl.canned("bucket-owner-full-control", OWNER, OWNER).grants == (
        user(OWNER, "FULL_CONTROL"),
    )
    assert group(acl.LOG_DELIVERY, "WRITE") in acl.canned("log-delivery-write", OWNER).grants
    assert acl.canned("aws-exec-read", OWNER).owner == OWNER
    with pytest.raises(S3Error) as bad:
        acl.canned("public", OWNER)
    assert bad.value.code == "InvalidArgument"


def test_grant_headers() -> None:
    headers = {
        "x-amz-grant-read": f'id="{OTHER}", uri="{acl.ALL_USERS}"',
        "x-amz-grant-write-acp": 'emailAddress="other@example.com"',
    }
    policy = acl.policy_from_headers(headers, OWNER, DIRECTORY)
    assert policy is not None and policy.owner == OWNER
    assert policy.grants == (
        user(OTHER, "READ"),
        group(acl.ALL_USERS, "READ"),
        user(OTHER, "WRITE_ACP"),
    )
    assert acl.policy_from_headers({}, OWNER, DIRECTORY) is None
    canned = acl.policy_from_headers({"x-amz-acl": "public-read"}, OWNER, DIRECTORY)
    assert canned == acl.canned("public-read", OWNER)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"x-amz-acl": "private", "x-amz-grant-read": f'id="{OTHER}"'}, "InvalidRequest"),
        ({"x-amz-acl": "nope"}, "InvalidArgument"),
        ({"x-amz-grant-read": 'id="nobody"'}, "InvalidArgument"),
        ({"x-amz-grant-read": 'uri="http://example.com/group"'}, "InvalidArgument"),
        ({"x-amz-grant-read": 'emailAddress="x@y.z"'}, "UnresolvableGrantByEmailAddress"),
        ({"x-amz-grant-read": 'colour="blue"'}, "InvalidArgument"),
        ({"x-amz-grant-read": "garbage"}, "InvalidArgument"),
    ],
)
def test_bad_headers(headers: dict[str, str], code: str) -> None:
    with pytest.raises(S3Error) as error:
        acl.policy_from_headers(headers, OWNER, DIRECTORY)
    assert error.value.code == code


def policy_xml(grants: str, owner: str = OWNER) -> bytes:
    return (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{owner}</ID></Owner><AccessControlList>{grants}</AccessControlList>"
        "</AccessControlPolicy>"
    ).encode()


def grant_xml(kind: str, tag: str, value: str, permission: str) -> str:
    return (
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="{kind}"><{tag}>{value}</{tag}></Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


def test_xml_round_trip() -> None:
    body = policy_xml(
        grant_xml("CanonicalUser", "ID", OWNER, "FULL_CONTROL")
        + grant_xml("Group", "URI", acl.ALL_USERS, "READ")
        + grant_xml("AmazonCustomerByEmail", "EmailAddress", "other@example.com", "WRITE")
    )
    policy = acl.parse_policy(body, OWNER, DIRECTORY)
    assert policy.grants == (
        user(OWNER, "FULL_CONTROL"),
        group(acl.ALL_USERS, "READ"),
        user(OTHER, "WRITE"),
    )
    rendered = policy.render(lambda i: i.upper())
    assert b"<DisplayName>OWNER-ID</DisplayName>" in rendered
    # Groups first, then users by id; the rendered document parses back to the same grants.
    assert rendered.index(acl.ALL_USERS.encode()) < rendered.index(b"<ID>other-id</ID>")
    again = acl.parse_policy(rendered, OWNER, DIRECTORY)
    assert set(again.grants) == set(policy.grants)
    stored = AccessControlPolicy.from_json(policy.to_json(), OWNER)
    assert stored == policy
    assert AccessControlPolicy.from_json(None, OWNER) == AccessControlPolicy.default(OWNER)
    assert AccessControlPolicy.from_json("{bad", OWNER) == AccessControlPolicy.default(OWNER)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<not xml", "MalformedACLError"),
        (b"<Other/>", "MalformedACLError"),
        (policy_xml(grant_xml("CanonicalUser", "ID", OWNER, "EVERYTHING")), "MalformedACLError"),
        (policy_xml(grant_xml("Robot", "ID", OWNER, "READ")), "MalformedACLError"),
        (policy_xml(grant_xml("CanonicalUser", "ID", "stranger", "READ")), "InvalidArgument"),
        (
            policy_xml(grant_xml("AmazonCustomerByEmail", "EmailAddress", "no@x.y", "READ")),
            "UnresolvableGrantByEmailAddress",
        ),
        (policy_xml("", owner=OTHER), "AccessDenied"),
    ],
)
def test_bad_xml(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as error:
        acl.parse_policy(body, OWNER, DIRECTORY)
    assert error.value.code == code


def test_allows() -> None:
    private = AccessControlPolicy.default(OWNER)
    assert private.allows(OWNER, "READ", authenticated=True)
    assert not private.allows(OTHER, "READ", authenticated=True)
    assert not private.allows(None, "READ", authenticated=False)
    public = acl.canned("public-read", OWNER)
    assert public.allows(None, "READ", authenticated=False)
    assert not public.allows(None, "WRITE", authenticated=False)
    members = acl.canned("authenticated-read", OWNER)
    assert members.allows(OTHER, "READ", authenticated=True)
    assert not members.allows(None, "READ", authenticated=False)
    full = AccessControlPolicy(OWNER, (user(OTHER, "FULL_CONTROL"),))
    assert all(full.allows(OTHER, p, authenticated=True) for p in acl.PERMISSIONS)
    assert not full.allows(OWNER, "READ", authenticated=True)
