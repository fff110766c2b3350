"""The policy evaluator's cost per request, on a 20-statement bucket policy.

    PYTHONPATH=. python3 bench/policy_eval.py

Statements mix what real policies hold: per-user home folders with variables,
conditions on addresses, TLS, prefixes and tags, wildcard actions, a Deny at the end.
The request matches late (the worst case: every statement is looked at). The
issue's target: under 50 µs per evaluation.
"""

from __future__ import annotations

import json
import timeit

from boxdrive_wsgi.policy import RequestContext, evaluate, parse_policy, principal_names

TARGET_US = 50.0


def _statements() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(19):
        out.append(
            {
                "Sid": f"S{i}",
                "Effect": "Allow",
                "Principal": {"AWS": [f"user{i}", f"arn:aws:iam:::user/other{i}"]},
                "Action": ["s3:Get*", "s3:List*", f"s3:PutObject{'Tagging' if i % 2 else ''}"],
                "Resource": [
                    f"arn:aws:s3:::bench/team{i}/*",
                    "arn:aws:s3:::bench/home/${aws:username}/*",
                ],
                "Condition": {
                    "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
                    "Bool": {"aws:SecureTransport": "true"},
                    "StringEqualsIfExists": {"s3:x-amz-acl": ["private", "bucket-owner-read"]},
                },
            }
        )
    out.append(
        {
            "Sid": "DenyInsecure",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::bench", "arn:aws:s3:::bench/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    return out


def main() -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": _statements()}))
    assert len(policy.statements) == 20
    request = RequestContext(
        action="s3:GetObject",
        resource="arn:aws:s3:::bench/home/user18/report.pdf",
        principals=principal_names("c" * 64, "user18"),
        keys={
            "aws:username": ["user18"],
            "aws:sourceip": ["10.1.2.3"],
            "aws:securetransport": ["true"],
        },
    )
    print("decision:", evaluate(policy, request).value)
    runs = 20000
    best = min(timeit.repeat(lambda: evaluate(policy, request), number=runs, repeat=5))
    per_us = best / runs * 1e6
    parse_us = min(timeit.repeat(lambda: parse_policy(policy.text), number=50, repeat=3)) / 50 * 1e6
    print(f"evaluate, 20 statements: {per_us:.1f} µs (target < {TARGET_US:.0f} µs)")
    print(f"parse + validate the same policy: {parse_us:.0f} µs")


if __name__ == "__main__":
    main()
