"""Table tests for the policy evaluator: AWS's documented example bucket policies
(docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html and the
IAM condition-operator reference), each with requests and the decision expected."""

from __future__ import annotations

import json
from typing import Any

import pytest

from boxdrive_wsgi.policy import (
    Decision,
    PolicyError,
    RequestContext,
    evaluate,
    evaluate_all,
    parse_policy,
    principal_names,
)
from boxdrive_wsgi.policy.actions import action_for, resource_arn
from boxdrive_wsgi.policy.conditions import normalize_key

ALLOW, DENY, NA = Decision.ALLOW, Decision.DENY, Decision.NOT_APPLICABLE
ALICE = principal_names("a1" * 32, "alice")
BOB = principal_names("b2" * 32, "bob")
ANON: frozenset[str] = frozenset()


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def req(
    action: str,
    resource: str,
    who: frozenset[str] = ALICE,
    **keys: str | list[str],
) -> RequestContext:
    user = {"aws:username": ["alice"]} if who is ALICE else {"aws:username": ["bob"]}
    context = {} if who is ANON else dict(user)
    for name, value in keys.items():
        context[name.replace("__", ":").replace("_", "-").lower()] = (
            value if isinstance(value, list) else [value]
        )
    return RequestContext(action, resource, who, context)


def ctx(action: str, resource: str, who: frozenset[str], **keys: list[str]) -> RequestContext:
    return RequestContext(action, resource, who, {normalize_key(k): v for k, v in keys.items()})


PUBLIC_READ = doc(
    {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
    }
)
TLS_ONLY = doc(
    {
        "Sid": "AllowSSLRequestsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)
IP_ONLY = doc(
    {
        "Sid": "IPAllow",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8::/32"]}},
    }
)
HOME_FOLDERS = doc(
    {
        "Sid": "AllowRootAndHomeListing",
        "Effect": "Allow",
        "Principal": {"AWS": ["alice", "bob"]},
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET",
        "Condition": {
            "StringEquals": {"s3:prefix": ["", "home/"], "s3:delimiter": ["/"]},
        },
    },
    {
        "Sid": "AllowListingOfUserFolder",
        "Effect": "Allow",
        "Principal": {"AWS": ["alice", "bob"]},
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET",
        "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
    },
    {
        "Sid": "AllowAllS3ActionsInUserFolder",
        "Effect": "Allow",
        "Principal": {"AWS": ["alice", "bob"]},
        "Action": "s3:*Object",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/home/${aws:username}/*",
    },
)
OWNER_FULL_CONTROL = doc(
    {
        "Sid": "RequireBucketOwnerFullControl",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::" + "b2" * 32 + ":root"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
)
REQUIRE_SSE = doc(
    {
        "Sid": "DenyIncorrectEncryptionHeader",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
    },
    {
        "Sid": "DenyUnEncryptedObjectUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
    },
)
MAX_KEYS = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "bob"},
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET",
        "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}},
    }
)
TAGGED_READ = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "bob"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/environment": "production"}},
    }
)
TAG_KEYS = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "bob"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {
            "ForAllValues:StringLike": {"s3:RequestObjectTagKeys": ["Owner", "Project*"]},
            "StringEquals": {"s3:RequestObjectTag/Owner": "${aws:username}"},
        },
    }
)
ANY_TAG = doc(
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["secret"]}},
    }
)
UNTIL = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "bob"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {
            "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2030-01-01"},
        },
    }
)
ONLY_ALICE = doc(
    {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ["arn:aws:iam::" + "a1" * 32 + ":user/alice"]},
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
    }
)
NOT_ACTION = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "bob"},
        "NotAction": ["s3:Delete*", "s3:Put*Acl"],
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
    }
)
NOT_RESOURCE = doc(
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "NotResource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/public/*",
    }
)
SIGV4_ONLY = doc(
    {
        "Sid": "Require SigV4 headers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {
            "StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"},
        },
    },
    {
        "Sid": "No presigned URLs",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}},
    },
)
SOURCE_ARN = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/logs/*",
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::source-*"}},
    }
)
IF_EXISTS = doc(
    {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
        "Condition": {"StringEqualsIfExists": {"s3:VersionId": "v1"}},
    }
)
DENY_WINS = doc(
    {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    {
        "Effect": "Deny",
        "Principal": {"CanonicalUser": "b2" * 32},
        "Action": "s3:DeleteObject",
        "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
    },
)
BUCKET = "arn:aws:s3:::DOC-EXAMPLE-BUCKET"
OBJ = BUCKET + "/photos/cat.jpg"

CASES: list[tuple[str, str, RequestContext, Decision]] = [
    ("public read: anonymous GET", PUBLIC_READ, req("s3:GetObject", OBJ, ANON), ALLOW),
    ("public read: action case", PUBLIC_READ, req("S3:getobject", OBJ, ANON), ALLOW),
    ("public read: PUT says nothing", PUBLIC_READ, req("s3:PutObject", OBJ, ANON), NA),
    ("public read: other bucket", PUBLIC_READ, req("s3:GetObject", "arn:aws:s3:::x/k"), NA),
    ("public read: bucket itself", PUBLIC_READ, req("s3:GetObject", BUCKET), NA),
    (
        "tls only: plain http denied",
        TLS_ONLY,
        req("s3:GetObject", OBJ, aws__SecureTransport="false"),
        DENY,
    ),
    ("tls only: https", TLS_ONLY, req("s3:GetObject", OBJ, aws__SecureTransport="true"), NA),
    (
        "tls only: Bool is case-blind",
        TLS_ONLY,
        req("s3:ListBucket", BUCKET, aws__SecureTransport="False"),
        DENY,
    ),
    ("ip: outside range", IP_ONLY, req("s3:GetObject", OBJ, aws__SourceIp="203.0.113.9"), DENY),
    ("ip: inside v4 range", IP_ONLY, req("s3:GetObject", OBJ, aws__SourceIp="192.0.2.77"), NA),
    ("ip: inside v6 range", IP_ONLY, req("s3:GetObject", OBJ, aws__SourceIp="2001:db8::1"), NA),
    ("ip: v4-mapped v6", IP_ONLY, req("s3:GetObject", OBJ, aws__SourceIp="::ffff:192.0.2.1"), NA),
    (
        "home: list root",
        HOME_FOLDERS,
        req("s3:ListBucket", BUCKET, s3__prefix="", s3__delimiter="/"),
        ALLOW,
    ),
    (
        "home: list root without delimiter",
        HOME_FOLDERS,
        req("s3:ListBucket", BUCKET, s3__prefix=""),
        NA,
    ),
    (
        "home: own folder",
        HOME_FOLDERS,
        req("s3:ListBucket", BUCKET, s3__prefix="home/alice/docs"),
        ALLOW,
    ),
    (
        "home: other's folder",
        HOME_FOLDERS,
        req("s3:ListBucket", BUCKET, s3__prefix="home/bob/"),
        NA,
    ),
    ("home: put own object", HOME_FOLDERS, req("s3:PutObject", BUCKET + "/home/alice/a"), ALLOW),
    (
        "home: bob puts in alice's",
        HOME_FOLDERS,
        req("s3:PutObject", BUCKET + "/home/alice/a", BOB),
        NA,
    ),
    ("home: bob in his own", HOME_FOLDERS, req("s3:GetObject", BUCKET + "/home/bob/x", BOB), ALLOW),
    (
        "home: not an *Object action",
        HOME_FOLDERS,
        req("s3:PutObjectAcl", BUCKET + "/home/alice/a"),
        NA,
    ),
    ("home: anonymous", HOME_FOLDERS, req("s3:GetObject", BUCKET + "/home/alice/a", ANON), NA),
    (
        "owner-full-control: with the ACL",
        OWNER_FULL_CONTROL,
        req("s3:PutObject", OBJ, BOB, s3__x_amz_acl="bucket-owner-full-control"),
        ALLOW,
    ),
    ("owner-full-control: without", OWNER_FULL_CONTROL, req("s3:PutObject", OBJ, BOB), NA),
    (
        "owner-full-control: other user",
        OWNER_FULL_CONTROL,
        req("s3:PutObject", OBJ, ALICE, s3__x_amz_acl="bucket-owner-full-control"),
        NA,
    ),
    ("sse: no header", REQUIRE_SSE, req("s3:PutObject", OBJ), DENY),
    (
        "sse: wrong value",
        REQUIRE_SSE,
        req("s3:PutObject", OBJ, s3__x_amz_server_side_encryption="aws:kms"),
        DENY,
    ),
    (
        "sse: AES256",
        REQUIRE_SSE,
        req("s3:PutObject", OBJ, s3__x_amz_server_side_encryption="AES256"),
        NA,
    ),
    ("max-keys: 10", MAX_KEYS, req("s3:ListBucket", BUCKET, BOB, s3__max_keys="10"), ALLOW),
    ("max-keys: 11", MAX_KEYS, req("s3:ListBucket", BUCKET, BOB, s3__max_keys="11"), NA),
    ("max-keys: absent", MAX_KEYS, req("s3:ListBucket", BUCKET, BOB), NA),
    ("max-keys: not a number", MAX_KEYS, req("s3:ListBucket", BUCKET, BOB, s3__max_keys="ten"), NA),
    (
        "tag: production",
        TAGGED_READ,
        ctx("s3:GetObject", OBJ, BOB, **{"s3:ExistingObjectTag/environment": ["production"]}),
        ALLOW,
    ),
    (
        "tag: tag key is case-sensitive",
        TAGGED_READ,
        ctx("s3:GetObject", OBJ, BOB, **{"s3:ExistingObjectTag/Environment": ["production"]}),
        NA,
    ),
    (
        "tag keys: all allowed",
        TAG_KEYS,
        ctx(
            "s3:PutObject",
            OBJ,
            BOB,
            **{
                "s3:RequestObjectTagKeys": ["Owner", "Project-x"],
                "s3:RequestObjectTag/Owner": ["bob"],
                "aws:username": ["bob"],
            },
        ),
        ALLOW,
    ),
    (
        "tag keys: one not allowed",
        TAG_KEYS,
        ctx(
            "s3:PutObject",
            OBJ,
            BOB,
            **{
                "s3:RequestObjectTagKeys": ["Owner", "Cost"],
                "s3:RequestObjectTag/Owner": ["bob"],
                "aws:username": ["bob"],
            },
        ),
        NA,
    ),
    (
        "tag keys: owner tag is someone else",
        TAG_KEYS,
        ctx(
            "s3:PutObject",
            OBJ,
            BOB,
            **{
                "s3:RequestObjectTagKeys": ["Owner"],
                "s3:RequestObjectTag/Owner": ["alice"],
                "aws:username": ["bob"],
            },
        ),
        NA,
    ),
    (
        "any tag: secret",
        ANY_TAG,
        ctx("s3:PutObject", OBJ, BOB, **{"s3:RequestObjectTagKeys": ["a", "secret"]}),
        DENY,
    ),
    ("any tag: none", ANY_TAG, ctx("s3:PutObject", OBJ, BOB), NA),
    (
        "date: inside",
        UNTIL,
        req("s3:GetObject", OBJ, BOB, aws__CurrentTime="2026-12-03T12:00:00Z"),
        ALLOW,
    ),
    (
        "date: after",
        UNTIL,
        req("s3:GetObject", OBJ, BOB, aws__CurrentTime="2031-01-01T00:00:00Z"),
        NA,
    ),
    ("date: epoch", UNTIL, req("s3:GetObject", OBJ, BOB, aws__CurrentTime="1700000000"), ALLOW),
    ("not principal: alice", ONLY_ALICE, req("s3:GetObject", OBJ), NA),
    ("not principal: bob", ONLY_ALICE, req("s3:GetObject", OBJ, BOB), DENY),
    ("not principal: anonymous", ONLY_ALICE, req("s3:GetObject", OBJ, ANON), DENY),
    ("not action: get", NOT_ACTION, req("s3:GetObject", OBJ, BOB), ALLOW),
    ("not action: delete", NOT_ACTION, req("s3:DeleteObject", OBJ, BOB), NA),
    ("not action: put acl", NOT_ACTION, req("s3:PutObjectAcl", OBJ, BOB), NA),
    ("not action: put tagging", NOT_ACTION, req("s3:PutObjectTagging", OBJ, BOB), ALLOW),
    ("not resource: private", NOT_RESOURCE, req("s3:GetObject", OBJ), DENY),
    ("not resource: public", NOT_RESOURCE, req("s3:GetObject", BUCKET + "/public/a"), NA),
    (
        "sigv4 only: sigv2",
        SIGV4_ONLY,
        req("s3:GetObject", OBJ, s3__signatureversion="AWS", s3__authType="REST-HEADER"),
        DENY,
    ),
    (
        "sigv4 only: presigned v4",
        SIGV4_ONLY,
        req(
            "s3:GetObject",
            OBJ,
            s3__signatureversion="AWS4-HMAC-SHA256",
            s3__authType="REST-QUERY-STRING",
        ),
        DENY,
    ),
    (
        "sigv4 only: v4 header",
        SIGV4_ONLY,
        req(
            "s3:GetObject", OBJ, s3__signatureversion="AWS4-HMAC-SHA256", s3__authType="REST-HEADER"
        ),
        NA,
    ),
    (
        "service: logging from a source bucket",
        SOURCE_ARN,
        ctx(
            "s3:PutObject",
            BUCKET + "/logs/x",
            frozenset({"service:logging.s3.amazonaws.com"}),
            **{"aws:SourceArn": ["arn:aws:s3:::source-1"]},
        ),
        ALLOW,
    ),
    (
        "service: a user is not the service",
        SOURCE_ARN,
        ctx(
            "s3:PutObject",
            BUCKET + "/logs/x",
            ALICE,
            **{"aws:SourceArn": ["arn:aws:s3:::source-1"]},
        ),
        NA,
    ),
    ("if exists: no version", IF_EXISTS, req("s3:GetObject", OBJ), ALLOW),
    ("if exists: v1", IF_EXISTS, req("s3:GetObject", OBJ, s3__VersionId="v1"), ALLOW),
    ("if exists: v2", IF_EXISTS, req("s3:GetObject", OBJ, s3__VersionId="v2"), NA),
    ("deny wins: bob deletes", DENY_WINS, req("s3:DeleteObject", OBJ, BOB), DENY),
    ("deny wins: alice deletes", DENY_WINS, req("s3:DeleteObject", OBJ), ALLOW),
    ("deny wins: bob reads", DENY_WINS, req("s3:GetObject", OBJ, BOB), ALLOW),
]


@pytest.mark.parametrize(
    ("name", "policy", "request_", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_documented_examples(
    name: str, policy: str, request_: RequestContext, expected: Decision
) -> None:
    assert evaluate(parse_policy(policy), request_) is expected


@pytest.mark.parametrize(
    "name",
    [
        "a1" * 32,
        "alice",
        "arn:aws:iam::" + "a1" * 32 + ":root",
        "arn:aws:iam::" + "a1" * 32 + ":user/alice",
        "arn:aws:iam:::user/alice",
    ],
)
def test_principal_names(name: str) -> None:
    policy = parse_policy(
        doc({"Effect": "Allow", "Principal": {"AWS": [name]}, "Action": "s3:*", "Resource": "*"})
    )
    assert evaluate(policy, req("s3:GetObject", OBJ)) is ALLOW
    assert evaluate(policy, req("s3:GetObject", OBJ, BOB)) is NA
    assert evaluate(policy, req("s3:GetObject", OBJ, ANON)) is NA


def test_several_policies_deny_wins() -> None:
    allow = parse_policy(
        doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    )
    deny = parse_policy(
        doc({"Effect": "Deny", "Principal": "*", "Action": "s3:Put*", "Resource": "*"})
    )
    assert evaluate_all([allow, deny], req("s3:PutObject", OBJ)) is DENY
    assert evaluate_all([allow, deny], req("s3:GetObject", OBJ)) is ALLOW
    assert evaluate_all([], req("s3:GetObject", OBJ)) is NA


def test_variable_escapes_and_missing_variable() -> None:
    policy = parse_policy(
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/${*}/${aws:username}/*",
            }
        )
    )
    assert evaluate(policy, req("s3:GetObject", "arn:aws:s3:::b/*/alice/k")) is ALLOW
    assert evaluate(policy, req("s3:GetObject", "arn:aws:s3:::b/x/alice/k")) is NA
    assert evaluate(policy, req("s3:GetObject", "arn:aws:s3:::b/*/alice/k", ANON)) is NA


def test_public_status() -> None:
    assert parse_policy(PUBLIC_READ).is_public
    assert not parse_policy(HOME_FOLDERS).is_public
    assert not parse_policy(TLS_ONLY).is_public  # a Deny grants nothing
    restricted = doc(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    assert not parse_policy(restricted).is_public
    assert parse_policy(restricted.replace("10.0.0.0/8", "0.0.0.0/0")).is_public


MALFORMED = [
    ("", "valid JSON"),
    ("[]", "first byte"),
    ("{not json", "valid JSON"),
    ('{"Version": "2012-10-17"}', "Statement"),
    ('{"Version": "2019-01-01", "Statement": []}', "version"),
    ('{"Statement": [], "Extra": 1}', "Unknown field 'Extra'"),
    (doc({"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "*"}), "Effect"),
    (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), "Principal"),
    (doc({"Effect": "Allow", "Principal": "*", "Resource": "*"}), "Action"),
    (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*"}), "Resource"),
    (
        doc({"Effect": "Allow", "Principal": "*", "Action": "ec2:RunInstances", "Resource": "*"}),
        "invalid action",
    ),
    (
        doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:ec2:::x"}),
        "invalid resource",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::other/*",
            }
        ),
        "invalid resource",
    ),
    (
        doc({"Effect": "Allow", "Principal": {"AWS": "al*"}, "Action": "s3:*", "Resource": "*"}),
        "wildcards",
    ),
    (
        doc({"Effect": "Allow", "Principal": {"Bogus": "x"}, "Action": "s3:*", "Resource": "*"}),
        "principal kind",
    ),
    (
        doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", "Foo": 1}),
        "unknown field",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringSorta": {"a": "b"}},
            }
        ),
        "operator",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}},
            }
        ),
        "not a number",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}},
            }
        ),
        "not a date",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.300"}},
            }
        ),
        "IP address",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "yes"}},
            }
        ),
        "true nor false",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Null": {"s3:x": "maybe"}},
            }
        ),
        "true or false",
    ),
    (
        doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"ForSomeValues:StringEquals": {"a": "b"}},
            }
        ),
        "qualifier",
    ),
    (
        '{"Statement": ['
        + ",".join(
            ['{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}'] * 400
        )
        + "]}",
        "no larger",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_policies_say_why(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=f"(?i){message}"):
        parse_policy(text.encode(), bucket="b")


def test_repeated_sids_are_accepted_as_s3_does() -> None:
    same = {"Sid": "a", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    assert len(parse_policy(doc(same, same)).statements) == 2


def test_identity_policy_has_no_principal() -> None:
    text = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    policy = parse_policy(text, require_principal=False)
    assert evaluate(policy, req("s3:GetObject", "arn:aws:s3:::b/k")) is ALLOW
    with pytest.raises(PolicyError, match="Principal"):
        parse_policy(text)


@pytest.mark.parametrize(
    ("operation", "version", "action"),
    [
        ("GetObject", None, "s3:GetObject"),
        ("GetObject", "v1", "s3:GetObjectVersion"),
        ("GetObject", "null", "s3:GetObject"),
        ("HeadObject", None, "s3:GetObject"),
        ("ListObjectsV2", None, "s3:ListBucket"),
        ("UploadPart", None, "s3:PutObject"),
        ("PutBucketPolicy", None, "s3:PutBucketPolicy"),
        ("DeletePublicAccessBlock", None, "s3:PutBucketPublicAccessBlock"),
    ],
)
def test_operation_actions(operation: str, version: str | None, action: str) -> None:
    assert action_for(operation, version_id=version) == action


def test_resource_arns() -> None:
    assert resource_arn("b", None) == "arn:aws:s3:::b"
    assert resource_arn("b", "a/b c") == "arn:aws:s3:::b/a/b c"
