"""Policy documents: parse and validate once, into compiled statements.

A bucket policy is JSON (at most 20 KiB, as S3 limits it)::

    {"Version": "2012-10-17",
     "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                    "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::photos/public/*",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}

Principals name this server's users (see ``policy.evaluate.principal_names``):
``"*"`` or ``{"AWS": "*"}`` is everyone, anonymous requests included;
``{"AWS": [...]}`` / ``{"CanonicalUser": ...}`` name users by canonical id, user name,
``arn:aws:iam::<canonical id>:root``, ``arn:aws:iam::<canonical id>:user/<name>`` or
``arn:aws:iam:::user/<name>``; ``{"Service": ...}`` names a service (none acts today).
Identity policies (a user's own) have no Principal: ``require_principal=False``.
Anything else — unknown fields, an Effect other than Allow/Deny, an action outside
``s3:``, a resource that is not an S3 ARN, a bad condition — raises PolicyError with
a message saying which statement and what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .conditions import Condition, PolicyError, parse_conditions
from .patterns import Pattern

#: S3's limit on a bucket policy's size.
MAX_POLICY_BYTES = 20 * 1024
VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
        "Resource", "NotResource", "Condition",
    }
)  # fmt: skip
_ACTION = re.compile(r"^(\*|s3:[A-Za-z0-9*?]+)$", re.IGNORECASE)
_SID = re.compile(r"^[A-Za-z0-9 _\-.:/+=@]*$")
ARN_PREFIX = "arn:aws:s3:::"
#: Principal kinds a bucket policy may name.
PRINCIPAL_KINDS = frozenset({"AWS", "CanonicalUser", "Service", "Federated"})


@dataclass(frozen=True)
class Principals:
    """Who a Principal/NotPrincipal names: everyone, or these names."""

    everyone: bool
    names: frozenset[str]

    def matches(self, names: frozenset[str]) -> bool:
        return self.everyone or not self.names.isdisjoint(names)


@dataclass(frozen=True)
class Statement:
    sid: str | None
    allow: bool
    #: None: no Principal element (an identity policy's statement, or NotPrincipal only)
    principal: Principals | None
    not_principal: Principals | None
    actions: tuple[Pattern, ...]
    not_action: bool
    resources: tuple[Pattern, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    @property
    def public(self) -> bool:
        """Does it allow everyone (``"*"``) without a condition narrowing who?"""
        return self.allow and self.principal is not None and self.principal.everyone


@dataclass(frozen=True)
class Policy:
    version: str
    id: str | None
    statements: tuple[Statement, ...]
    #: the document as the client sent it (GetBucketPolicy returns it unchanged)
    text: str

    @property
    def is_public(self) -> bool:
        """S3's notion for GetBucketPolicyStatus / BlockPublicPolicy: some Allow
        statement grants everyone access, with no condition fixing the caller to a
        source address range, account or the like."""
        return any(s.public and not _restricting(s.conditions) for s in self.statements)


#: Condition keys that, with a fixed value, make a statement non-public (AWS's list).
_RESTRICTING = frozenset(
    {
        "aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce",
        "aws:sourceaccount", "aws:sourceowner", "aws:principalaccount", "aws:userid",
        "aws:username", "aws:principalarn", "aws:principalorgid", "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
    }
)  # fmt: skip


def _restricting(conditions: tuple[Condition, ...]) -> bool:
    for c in conditions:
        if c.key not in _RESTRICTING or c.negated or c.null is not None or c.if_exists:
            continue
        if c.key == "aws:sourceip" and any(v.endswith("/0") for v in c.values):
            continue
        if any("*" in v for v in c.values):
            continue
        return True
    return False


def _strings(value: object, what: str, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where}: {what} must not be empty")
    for item in items:
        if not isinstance(item, str) or not item:
            raise PolicyError(f"{where}: {what} must be a string or a list of strings")
    return items  # type: ignore[return-value]


def _principals(value: object, where: str) -> Principals:
    if value == "*":
        return Principals(True, frozenset())
    if not isinstance(value, dict) or not value:
        raise PolicyError(f'{where}: Principal must be "*" or an object such as {{"AWS": [...]}}')
    names: set[str] = set()
    everyone = False
    for kind, entries in value.items():
        if kind not in PRINCIPAL_KINDS:
            raise PolicyError(f"{where}: invalid principal kind {kind!r}")
        for name in _strings(entries, f"Principal {kind}", where):
            if name == "*" and kind == "AWS":
                everyone = True
            elif "*" in name or "?" in name:
                raise PolicyError(f"{where}: invalid principal {name!r} (no wildcards)")
            else:
                names.add(f"service:{name}" if kind == "Service" else name)
    return Principals(everyone, frozenset(names))


def _resource(text: str, where: str, bucket: str | None) -> Pattern:
    if text != "*":
        if not text.startswith(ARN_PREFIX) or len(text) == len(ARN_PREFIX):
            raise PolicyError(f"{where}: Policy has invalid resource {text!r}")
        if bucket is not None:
            named = text[len(ARN_PREFIX) :].split("/", 1)[0]
            if "*" not in named and "?" not in named and "${" not in named and named != bucket:
                raise PolicyError(f"{where}: Policy has invalid resource {text!r}")
    return Pattern.compile(text)


def _statement(raw: object, index: int, bucket: str | None, require_principal: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"Statement {index}: must be an object")
    where = f"Statement {raw.get('Sid') or index!s}"
    unknown = set(raw) - _STATEMENT_FIELDS
    if unknown:
        raise PolicyError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    sid = raw.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not _SID.match(sid)):
        raise PolicyError(f"{where}: Sid must be a string of letters, digits and spaces")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny, not {effect!r}")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(f"{where}: Principal and NotPrincipal are exclusive")
    principal = not_principal = None
    if "Principal" in raw:
        principal = _principals(raw["Principal"], where)
    elif "NotPrincipal" in raw:
        not_principal = _principals(raw["NotPrincipal"], where)
    elif require_principal:
        raise PolicyError(f"{where}: Missing required field Principal")
    if not_principal is not None and effect == "Allow":
        raise PolicyError(f"{where}: NotPrincipal may only be used with Effect Deny")
    if not require_principal and (principal or not_principal):
        raise PolicyError(f"{where}: an identity policy has no Principal")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where}: exactly one of Action or NotAction is required")
    action_key = "Action" if "Action" in raw else "NotAction"
    actions = _strings(raw[action_key], action_key, where)
    for action in actions:
        if not _ACTION.match(action):
            raise PolicyError(f"{where}: Policy has invalid action {action!r}")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(f"{where}: exactly one of Resource or NotResource is required")
    resource_key = "Resource" if "Resource" in raw else "NotResource"
    resources = _strings(raw[resource_key], resource_key, where)
    conditions = parse_conditions(raw["Condition"]) if "Condition" in raw else ()
    return Statement(
        sid=sid,
        allow=effect == "Allow",
        principal=principal,
        not_principal=not_principal,
        actions=tuple(Pattern.compile(a, ignore_case=True) for a in actions),
        not_action=action_key == "NotAction",
        resources=tuple(_resource(r, where, bucket) for r in resources),
        not_resource=resource_key == "NotResource",
        conditions=conditions,
    )


def parse_policy(
    text: str | bytes, *, bucket: str | None = None, require_principal: bool = True
) -> Policy:
    """Validate a policy document. ``bucket``: a bucket policy's resources must name
    that bucket (wildcards aside). Raises PolicyError saying what is wrong."""
    if isinstance(text, bytes):
        if len(text) > MAX_POLICY_BYTES:
            raise PolicyError(f"Policies must be no larger than {MAX_POLICY_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError("Policies must be UTF-8 JSON") from None
    elif len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(f"Policies must be no larger than {MAX_POLICY_BYTES} bytes")
    if not text.strip():
        raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise PolicyError(f"Policies must be valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyError(f"Unknown field {sorted(unknown)[0]!r} in the policy")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise PolicyError(f"Invalid policy version {version!r} (use 2012-10-17)")
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError("Id must be a string")
    raw = document.get("Statement")
    if raw is None:
        raise PolicyError("Missing required field Statement")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError("Could not parse the policy: Statement is empty")
    statements = tuple(
        _statement(item, index, bucket, require_principal) for index, item in enumerate(items)
    )
    # Repeated Sids are accepted, as S3 and Ceph RGW accept them in bucket policies
    # (the s3-tests logging policies repeat one); only IAM insists they be unique.
    return Policy(version, policy_id, statements, text)
