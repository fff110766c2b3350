"""Who may do what: authenticate a request (SigV4 or a site's hook) and authorize
the operation (a site's hook, else bucket owners and the grants of S3 ACLs).

An unsigned request acts as ANONYMOUS, one principal under the same rules as any
user: it is served where an ACL grants AllUsers the permission; with anonymous mode
on it may also list and create buckets, and owns those it creates. A bucket with no
recorded owner is the operator's (an admin identity). The pure parts live in
``auth/`` and ``protocol/acl``; this module reads the Flask request and wires them
together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Request

from .auth import sigv2, sigv4
from .auth.chunked import ChunkSigner
from .auth.credentials import Credentials
from .auth.identity import ANONYMOUS, Identity, acts_as_owner
from .context import S3Request
from .protocol import acl
from .protocol.errors import S3Error
from .stores.base import NoSuchKey

#: A site's own authentication: map a request (e.g. its session) to an identity,
#: or return None to fall back to S3 signatures.
Authenticator = Callable[[Request], Identity | None]
#: A site's own authorization: the request context (identity, operation, bucket,
#: key) -> allow?,
#: or None to apply the default policy (bucket owners only).
Authorizer = Callable[[S3Request], bool | None]

#: Operations any authenticated identity may call: they act on no existing bucket.
UNSCOPED_OPERATIONS = frozenset({"ListBuckets", "CreateBucket"})


@dataclass
class AccessControl:
    credentials: Credentials
    region: str
    anonymous: bool = False
    authenticate_hook: Authenticator | None = None
    authorize_hook: Authorizer | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def authenticate(
        self, request: Request, virtual_bucket: str | None = None
    ) -> tuple[Identity, ChunkSigner | None]:
        """The identity a request acts as, and the signer for its aws-chunked body.

        ``virtual_bucket`` is the bucket named by the Host header, if any.
        """
        if self.authenticate_hook is not None:
            identity = self.authenticate_hook(request)
            if identity is not None:
                return identity, None
        path = wire_path(request.environ, request.script_root + request.path)
        query = request.environ.get("QUERY_STRING", "")
        headers = {name.lower(): value for name, value in request.headers.items()}
        if sigv2.is_v2(headers, request.args):
            # botocore signs SigV2 resources without the endpoint's path (a mount
            # prefix such as /s3); accept that form as well as the full path.
            claims = [
                sigv2.parse_v2(
                    request.method,
                    f"/{virtual_bucket}{resource}" if virtual_bucket else resource,
                    query,
                    headers,
                )
                for resource in dict.fromkeys((path, _unprefixed(path, request)))
            ]
            signed = tuple(s for claim in claims for s in claim.strings_to_sign)
            return self._verified_user_v2(replace(claims[0], strings_to_sign=signed))
        claim = sigv4.parse_request_auth(request.method, path, query, headers)
        if claim is None:
            # Anonymous: authorization decides (public grants, or an open server).
            return ANONYMOUS, None
        user = self.credentials.lookup(claim.access_key)
        if user is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": claim.access_key})
        sigv4.verify(claim, user.secret_key, self.clock(), region=self.region)
        signer = sigv4.chunk_signer(claim, user.secret_key) if claim.streaming else None
        return user.identity, signer

    def _verified_user_v2(self, claim: sigv2.V2Request) -> tuple[Identity, None]:
        user = self.credentials.lookup(claim.access_key)
        if user is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": claim.access_key})
        sigv2.verify(claim, user.secret_key, self.clock())
        return user.identity, None

    def authorize(self, s3: S3Request) -> None:
        """Raise AccessDenied unless ``s3.identity`` may run ``s3.operation``."""
        operation = s3.operation
        if self.authorize_hook is not None:
            decision = self.authorize_hook(s3)
            if decision is not None:
                if not decision:
                    raise S3Error("AccessDenied")
                return
        identity = s3.identity
        if s3.bucket is None or operation in UNSCOPED_OPERATIONS:
            if identity.id == ANONYMOUS.id and not self.anonymous:
                # S3: no listing or creating buckets without credentials
                raise S3Error("AccessDenied", "Anonymous access is not enabled on this server.")
            return
        owner = s3.store.head_bucket(s3.bucket).owner
        mode = self.anonymous
        # Signing never gives less than not signing: what ANONYMOUS owns (anonymous mode)
        # every caller may use, and grants to AllUsers hold for signed callers too.
        if acts_as_owner(identity, owner, anonymous_mode=mode) or acts_as_owner(
            ANONYMOUS, owner, anonymous_mode=mode
        ):
            return
        if owner is None or not _granted(s3, owner, operation):
            raise S3Error("AccessDenied")


#: Operations on a bucket its ACL may grant to others: operation -> permission.
BUCKET_PERMISSIONS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "ListObjects",
            "ListObjectsV2",
            "ListObjectVersions",
            "ListMultipartUploads",
            "HeadBucket",
        ),
        acl.READ,
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
        acl.WRITE,
    ),
    "GetBucketAcl": acl.READ_ACP,
    "PutBucketAcl": acl.WRITE_ACP,
}
#: Operations on an object its ACL may grant to others: operation -> permission.
OBJECT_PERMISSIONS: Mapping[str, str] = {
    "GetObject": acl.READ,
    "HeadObject": acl.READ,
    "GetObjectAttributes": acl.READ,
    "GetObjectAcl": acl.READ_ACP,
    "PutObjectAcl": acl.WRITE_ACP,
}


def _granted(s3: S3Request, bucket_owner: str, operation: str) -> bool:
    """Does an ACL let ``s3.identity`` (not the bucket owner) run ``operation``?
    Bucket configuration other than its ACL stays the owner's alone; object reads
    need the object's own ACL (the bucket's does not grant them)."""
    from .operations.acl import bucket_policy, object_policy  # operations sit above access

    bucket = s3.bucket_name
    user_id = None if s3.identity.id == ANONYMOUS.id else s3.identity.id
    authenticated = user_id is not None

    def bucket_allows(permission: str) -> bool:
        policy = bucket_policy(s3.store, bucket, bucket_owner)
        return policy.allows(user_id, permission, authenticated=authenticated)

    if operation in OBJECT_PERMISSIONS and s3.key is not None:
        try:
            info = s3.store.head_object(bucket, s3.key)
        except NoSuchKey:
            # Tell "no such key" only to whom may list the bucket, as S3 does.
            return bucket_allows(acl.READ)
        policy = object_policy(info, bucket_owner)
        return policy.allows(user_id, OBJECT_PERMISSIONS[operation], authenticated=authenticated)
    permission = BUCKET_PERMISSIONS.get(operation)
    return permission is not None and bucket_allows(permission)


def _unprefixed(path: str, request: Request) -> str:
    """``path`` (as sent) without the blueprint's url_prefix and the script root."""
    full = request.script_root + request.path
    local = "/" + str((request.view_args or {}).get("path", ""))
    prefix = full[: len(full) - len(local)] if full.endswith(local) else ""
    quoted = quote(prefix, safe="/-_.~")
    if prefix and path.startswith(quoted):
        return path[len(quoted) :] or "/"
    return path


def wire_path(environ: Mapping[str, Any], decoded: str) -> str:
    """The request path as the client sent it (percent-encoded), which is what it
    signed. Servers keep it in REQUEST_URI (waitress, uwsgi) or RAW_URI
    (gunicorn); without either, re-encode the decoded path."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return quote(decoded, safe="/-_.~")
    if "://" in raw:  # absolute-form request target: drop scheme and authority
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path = str(raw).split("?", 1)[0]
    # WSGI strings carry bytes as latin-1; non-ASCII bytes on the wire are UTF-8.
    return path.encode("latin-1").decode("utf-8", "surrogateescape")
