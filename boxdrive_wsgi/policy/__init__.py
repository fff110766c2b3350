"""The IAM policy language as S3 uses it: parse, validate, evaluate. Sans-IO: no
store, no HTTP; the access layer (``web.access``) builds the request context."""

from .conditions import PolicyError
from .document import Policy, Statement, parse_policy
from .evaluate import Decision, RequestContext, evaluate, evaluate_all, principal_names

__all__ = [
    "Decision",
    "Policy",
    "PolicyError",
    "RequestContext",
    "Statement",
    "evaluate",
    "evaluate_all",
    "parse_policy",
    "principal_names",
]
