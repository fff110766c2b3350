"""POST Object (browser form upload) policies: SigV4 signature and conditions.

Pure functions: the form's fields in, S3Error out. The policy is base64 JSON
``{"expiration": "...", "conditions": [...]}``; its signature is the SigV4 HMAC of
the base64 text under the signing key of the credential's date and region.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..protocol.errors import S3Error
from ..protocol.numbers import INT64_MAX, parse_bounded
from . import sigv4

#: The policy's expiration: ISO 8601 in UTC, with optional fractional seconds.
_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", re.ASCII)
#: Fields S3 does not require the policy to mention.
EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"})


@dataclass(frozen=True)
class PostCredential:
    access_key: str
    date: str
    region: str


def _denied(reason: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {reason}")


def _missing(name: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
        "the order of the fields.",
        extra={"ArgumentName": name, "ArgumentValue": ""},
    )


def parse_credential(fields: Mapping[str, str], region: str) -> PostCredential:
    """Check the x-amz-algorithm / -credential / -date / -signature fields."""
    for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
        if name not in fields:
            raise _missing(name)
    if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
        raise S3Error(
            "InvalidArgument",
            "Only AWS4-HMAC-SHA256 is supported for POST signatures.",
            extra={"ArgumentName": "x-amz-algorithm", "ArgumentValue": fields["x-amz-algorithm"]},
        )
    parts = fields["x-amz-credential"].split("/")
    if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request" or len(parts[1]) != 8:
        raise S3Error(
            "InvalidArgument",
            "The credential is mal-formed.",
            extra={"ArgumentName": "x-amz-credential"},
        )
    if parts[2] != region:
        raise S3Error(
            "InvalidArgument",
            f"the region '{parts[2]}' is wrong; expecting '{region}'",
            extra={"ArgumentName": "x-amz-credential"},
        )
    return PostCredential(parts[0], parts[1], parts[2])


def signature_matches(policy_b64: str, signature: str, secret: str, cred: PostCredential) -> bool:
    key = sigv4.signing_key(secret, cred.date, cred.region, "s3")
    return hmac.compare_digest(sigv4.sign(key, policy_b64), signature.lower())


def v2_signature_matches(policy_b64: str, signature: str, secret: str) -> bool:
    """Signature V2 forms (AWSAccessKeyId + signature, boto3's default for
    generate_presigned_post): base64 HMAC-SHA1 of the base64 policy."""
    digest = hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)


def decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' array.")
    if "expiration" not in document:
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
    return document


def _expiration(text: object) -> datetime:
    """S3 takes only ISO 8601 in UTC, ``2007-12-01T12:00:00.000Z`` (fraction optional);
    ``fromisoformat`` alone would also take dates, week dates, spaces and offsets."""
    if not isinstance(text, str):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.")
    invalid = S3Error(
        "InvalidPolicyDocument", f"Invalid Policy: Invalid 'expiration' value: '{text}'"
    )
    if not _EXPIRATION.fullmatch(text):
        raise invalid
    try:
        return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
    except ValueError:  # a day or hour that does not exist
        raise invalid from None


def _length_bound(value: object) -> int:
    """A content-length-range bound: a JSON number or a digit string."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if value >= 0 else ""
    else:
        text = value if isinstance(value, str) else ""
    bound = parse_bounded(text.strip(), 0, INT64_MAX)
    if bound is None:
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid content-length-range.")
    return bound


def check_policy(
    document: Mapping[str, Any], fields: Mapping[str, str], now: datetime
) -> tuple[int, int] | None:
    """Raise AccessDenied unless every condition holds and every field is covered.

    ``fields`` has lower-case names and includes ``bucket`` and the final ``key``.
    Returns the content-length-range ``(min, max)`` if the policy has one; the body
    is checked against it while it streams.
    """
    if _expiration(document["expiration"]) < now:
        raise _denied("Policy expired.")
    covered = {"bucket"}
    length_range: tuple[int, int] | None = None
    for condition in document["conditions"]:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, value),) = condition.items()
            condition = ["eq", f"${name}", value]
        if not isinstance(condition, list) or not condition:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition.")
        operator = str(condition[0]).lower()
        if operator == "content-length-range" and len(condition) == 3:
            length_range = (_length_bound(condition[1]), _length_bound(condition[2]))
            continue
        if operator not in ("eq", "starts-with") or len(condition) != 3:
            raise S3Error(
                "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition!r}."
            )
        field, expected = str(condition[1]), str(condition[2])
        if not field.startswith("$"):
            raise S3Error("InvalidPolicyDocument", f"Invalid Policy: Invalid field {field!r}.")
        name = field[1:].lower()
        covered.add(name)
        actual = fields.get(name, "")
        holds = actual == expected if operator == "eq" else actual.startswith(expected)
        if name == "content-type" and operator == "starts-with" and not holds:
            # S3 applies starts-with to each of a comma-separated list of types.
            holds = all(part.strip().startswith(expected) for part in actual.split(","))
        if not holds:
            raise _denied(f'Policy Condition failed: ["{operator}", "{field}", "{expected}"]')
    extra = [
        name
        for name in fields
        if name not in covered and name not in EXEMPT_FIELDS and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
    return length_range
