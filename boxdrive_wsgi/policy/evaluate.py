"""Evaluate a policy against one request: Allow, Deny or NotApplicable. Pure.

A statement applies when its principal, action, resource and every condition match
the request. Any applicable Deny makes the decision Deny; else any applicable Allow
makes it Allow; else the policy says nothing (NotApplicable), and the caller goes on
to ownership and ACLs. How the access layer combines this with owners, ACLs, the
public access block and a site's hook is ``web.access``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .conditions import Context
from .document import Policy, Statement


class Decision(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NOT_APPLICABLE = "NotApplicable"


#: The name of a service principal in ``RequestContext.principals``.
def service_principal(name: str) -> str:
    return f"service:{name}"


def principal_names(canonical_id: str, user_name: str | None) -> frozenset[str]:
    """Every way a policy may name this server's user: canonical id, user name, and
    the IAM ARNs ``arn:aws:iam::<id>:root``, ``arn:aws:iam::<id>:user/<name>`` and
    ``arn:aws:iam:::user/<name>``. The anonymous principal has no name: only
    ``"*"`` matches it."""
    names = {canonical_id, f"arn:aws:iam::{canonical_id}:root"}
    if user_name:
        names |= {
            user_name,
            f"arn:aws:iam::{canonical_id}:user/{user_name}",
            f"arn:aws:iam:::user/{user_name}",
        }
    return frozenset(names)


@dataclass(frozen=True)
class RequestContext:
    #: e.g. ``s3:GetObject``
    action: str
    #: e.g. ``arn:aws:s3:::photos/2024/cat.jpg`` or ``arn:aws:s3:::photos``
    resource: str
    #: the names the caller answers to (``principal_names``); empty for anonymous
    principals: frozenset[str]
    #: condition keys (lower-cased) -> values; may compute them lazily
    keys: Context


def _applies(statement: Statement, request: RequestContext) -> bool:
    if statement.principal is not None and not statement.principal.matches(request.principals):
        return False
    if statement.not_principal is not None and statement.not_principal.matches(request.principals):
        return False
    action = any(p.matches(request.action) for p in statement.actions)
    if action == statement.not_action:
        return False
    resource = any(p.matches(request.resource, request.keys) for p in statement.resources)
    if resource == statement.not_resource:
        return False
    return all(c.holds(request.keys) for c in statement.conditions)


def evaluate(policy: Policy, request: RequestContext) -> Decision:
    allowed = False
    for statement in policy.statements:
        if (statement.allow and allowed) or not _applies(statement, request):
            continue
        if not statement.allow:
            return Decision.DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.NOT_APPLICABLE


def evaluate_all(policies: list[Policy], request: RequestContext) -> Decision:
    """Several policies (a bucket's and the caller's identity policies) as one."""
    decision = Decision.NOT_APPLICABLE
    for policy in policies:
        result = evaluate(policy, request)
        if result is Decision.DENY:
            return result
        if result is Decision.ALLOW:
            decision = result
    return decision
