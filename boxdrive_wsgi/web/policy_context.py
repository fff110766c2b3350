"""The policy evaluator's view of a request: action, resource, principal, condition keys.

Condition keys are computed from the request when a policy asks for them, at most once
each (a policy on ``aws:SourceIp`` never makes the server read an object's tags):

- ``aws:SourceIp``: the client's address, as ``web.proxy`` restored it (the
  ``X-Forwarded-For`` of a trusted proxy, never of anyone else), ``aws:SecureTransport``
  (``https``, as a trusted proxy forwarded it), ``aws:CurrentTime``/``aws:EpochTime``,
  ``aws:username``/``aws:userid``/``aws:PrincipalType``, ``aws:Referer``, ``aws:UserAgent``;
- ``s3:prefix``, ``s3:delimiter``, ``s3:max-keys`` (the listing's query), ``s3:VersionId``;
- ``s3:x-amz-acl``, ``s3:x-amz-grant-*``, ``s3:x-amz-server-side-encryption``,
  ``s3:x-amz-server-side-encryption-aws-kms-key-id``,
  ``s3:x-amz-server-side-encryption-customer-algorithm``, ``s3:x-amz-copy-source``,
  ``s3:x-amz-metadata-directive``, ``s3:x-amz-storage-class``, ``s3:x-amz-content-sha256``
  (the request's headers);
- ``s3:ExistingObjectTag/<key>`` (the stored object's tags, one HeadObject),
  ``s3:RequestObjectTag/<key>`` and ``s3:RequestObjectTagKeys`` (``x-amz-tagging``);
- ``s3:signatureversion`` (``AWS4-HMAC-SHA256`` or ``AWS`` for SigV2) and ``s3:authType``
  (``REST-HEADER``, ``REST-QUERY-STRING``, ``POST``), absent for unsigned requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache

from flask import Request

from ..auth.identity import ANONYMOUS
from ..policy import Policy, RequestContext, parse_policy, principal_names
from ..policy.actions import action_for, resource_arn
from ..protocol.tagging import parse_tagging_header
from ..stores.base import StoreError
from .context import S3Request

_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "x-amz-object-ownership",
)
_LISTINGS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})


def _one(value: str | None) -> list[str] | None:
    return None if value is None else [value]


class ConditionKeys(Mapping[str, Sequence[str]]):
    """The request's condition keys (lower-cased names, tag keys as sent), lazily."""

    def __init__(self, s3: S3Request, user_name: str | None) -> None:
        self._s3 = s3
        self._user = user_name
        self._cache: dict[str, list[str] | None] = {}

    def __getitem__(self, key: str) -> Sequence[str]:
        if key not in self._cache:
            self._cache[key] = self._compute(key)
        found = self._cache[key]
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:  # the keys computed so far
        return iter(k for k, v in self._cache.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._cache.values() if v is not None)

    def _compute(self, key: str) -> list[str] | None:
        simple = _KEYS.get(key)
        if simple is not None:
            return simple(self)
        if key.startswith("s3:"):
            name = key[3:]
            if name in _HEADER_KEYS:
                return _one(self._s3.request.headers.get(name))
            if name.startswith("existingobjecttag/"):
                return _one(self._existing_tags().get(key.split("/", 1)[1]))
            if name.startswith("requestobjecttag/"):
                return _one(self._request_tags().get(key.split("/", 1)[1]))
        return None

    # ---- the keys

    def _identity(self) -> bool:
        return self._s3.identity.id != ANONYMOUS.id

    def _listing(self, name: str) -> list[str] | None:
        if self._s3.operation not in _LISTINGS:
            return None
        return _one(self._s3.request.args.get(name))

    def _signature(self) -> tuple[str, str] | None:
        return signature_of(self._s3.request, self._s3.operation)

    def _existing_tags(self) -> Mapping[str, str]:
        s3 = self._s3
        if s3.key is None or s3.bucket is None:
            return {}
        try:
            return s3.store.head_object(s3.bucket, s3.key).attributes.tags
        except StoreError:
            return {}

    def _request_tags(self) -> dict[str, str]:
        try:
            return parse_tagging_header(self._s3.request.headers.get("x-amz-tagging"))
        except Exception:  # a bad header is the handler's InvalidTag, not ours
            return {}

    def _request_tag_keys(self) -> list[str] | None:
        if "x-amz-tagging" not in self._s3.request.headers:
            return None
        return list(self._request_tags())


def signature_of(request: Request, operation: str) -> tuple[str, str] | None:
    """(signature version, auth type) of a signed request: ``AWS4-HMAC-SHA256`` or
    ``AWS`` (SigV2), by ``REST-HEADER`` or ``REST-QUERY-STRING``; None when unsigned
    (and for POST Object, signed by its form)."""
    if operation == "PostObject":
        return None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256"):
        return "AWS4-HMAC-SHA256", "REST-HEADER"
    if auth.startswith("AWS "):
        return "AWS", "REST-HEADER"
    if "X-Amz-Algorithm" in request.args:
        return "AWS4-HMAC-SHA256", "REST-QUERY-STRING"
    if "Signature" in request.args and "AWSAccessKeyId" in request.args:
        return "AWS", "REST-QUERY-STRING"
    return None


def _now_iso(_: ConditionKeys) -> list[str]:
    return [datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]


_KEYS: dict[str, Callable[[ConditionKeys], list[str] | None]] = {
    "aws:sourceip": lambda c: _one(c._s3.request.remote_addr),
    "aws:securetransport": lambda c: ["true" if c._s3.request.scheme == "https" else "false"],
    "aws:currenttime": _now_iso,
    "aws:epochtime": lambda c: [str(int(time.time()))],
    "aws:username": lambda c: _one(c._user) if c._identity() else None,
    "aws:userid": lambda c: [c._s3.identity.id] if c._identity() else None,
    "aws:principaltype": lambda c: ["User" if c._identity() else "Anonymous"],
    "aws:referer": lambda c: _one(c._s3.request.headers.get("Referer")),
    "aws:useragent": lambda c: _one(c._s3.request.headers.get("User-Agent")),
    "s3:prefix": lambda c: c._listing("prefix"),
    "s3:delimiter": lambda c: c._listing("delimiter"),
    "s3:max-keys": lambda c: c._listing("max-keys"),
    "s3:versionid": lambda c: _one(c._s3.request.args.get("versionId")),
    "s3:signatureversion": lambda c: [s[0]] if (s := c._signature()) else None,
    "s3:authtype": lambda c: (
        ["POST"] if c._s3.operation == "PostObject" else ([s[1]] if (s := c._signature()) else None)
    ),
    "s3:requestobjecttagkeys": lambda c: c._request_tag_keys(),
}


@lru_cache(maxsize=256)
def _identity_policy(text: str) -> Policy:
    return parse_policy(text, require_principal=False)  # validated when the file was read


def identity_policies(s3: S3Request) -> list[Policy]:
    """The caller's identity policies (the users file's ``policies``), if any."""
    access_key = s3.identity.access_key
    if s3.credentials is None or not access_key:
        return []
    user = s3.credentials.lookup(access_key)
    if user is None or user.identity.id != s3.identity.id:
        return []
    return [_identity_policy(text) for text in user.policies]


def user_name(s3: S3Request) -> str | None:
    """The users-file name of the caller (policies may name users by it)."""
    identity = s3.identity
    if identity.id == ANONYMOUS.id:
        return None
    if s3.credentials is not None and identity.access_key:
        user = s3.credentials.lookup(identity.access_key)
        if user is not None:
            return user.name
    return identity.display_name or None


def request_context(s3: S3Request) -> RequestContext:
    """What the evaluator needs to decide ``s3.operation`` for ``s3.identity``."""
    name = user_name(s3)
    anonymous = s3.identity.id == ANONYMOUS.id
    principals = frozenset() if anonymous else principal_names(s3.identity.id, name)
    version = s3.request.args.get("versionId") if s3.key is not None else None
    return RequestContext(
        action=action_for(s3.operation, version_id=version),
        # DeleteObjects names its keys in the body: as a whole it acts on every key
        # (``bucket/*``); operations.batch checks each key again where a policy exists.
        resource=resource_arn(s3.bucket, "*" if s3.operation == "DeleteObjects" else s3.key),
        principals=principals,
        keys=ConditionKeys(s3, name),
    )
