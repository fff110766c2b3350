"""Who may do what: every access decision, and the stored ACLs it is made from.

A request's identity comes from ``web.authentication``; this module decides whether
it may run the operation: a site's hook first, else bucket owners and the grants of
S3 ACLs. An unsigned request acts as ANONYMOUS, one principal under the same rules
as any user: it is served where an ACL grants AllUsers the permission; with
anonymous mode on it may also list and create buckets, and owns those it creates. A
bucket with no recorded owner is the operator's (an admin identity).

The ACL model (grants, canned ACLs, documents, which permission an operation needs)
is pure, in ``protocol.acl``; here it meets the store (where ACLs are kept) and the
request (the ACL its headers ask for). Bucket ACLs live in the bucket configuration
slot ``acl``; object ACLs travel with the object (``ObjectAttributes.acl``, its
writer in ``ObjectAttributes.owner``). Nothing stored means the default: the owner
has FULL_CONTROL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth.identity import ANONYMOUS, acts_as_owner
from ..protocol import acl
from ..protocol.acl import AccessControlPolicy, Directory, policy_from_headers, stored_acl
from ..protocol.errors import S3Error
from ..stores.base import (
    NoSuchKey,
    NoSuchVersion,
    NotSupported,
    ObjectInfo,
    ObjectStore,
    VersionIsDeleteMarker,
)
from .context import S3Request
from .versions import version_of_request

#: A site's own authorization: the request context (identity, operation, bucket,
#: key) -> allow?, or None to apply the default policy (owners and ACL grants).
Authorizer = Callable[[S3Request], bool | None]

#: Operations any authenticated identity may call: they act on no existing bucket.
UNSCOPED_OPERATIONS = frozenset({"ListBuckets", "CreateBucket"})
#: The bucket configuration slot holding a bucket's ACL (protocol.acl JSON).
ACL = "acl"


@dataclass
class AccessControl:
    anonymous: bool = False
    hook: Authorizer | None = None

    def authorize(self, s3: S3Request) -> None:
        """Raise AccessDenied unless ``s3.identity`` may run ``s3.operation``."""
        operation = s3.operation
        if self.hook is not None:
            decision = self.hook(s3)
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
        owner = s3.bucket_owner()
        mode = self.anonymous
        # Signing never gives less than not signing: what ANONYMOUS owns (anonymous mode)
        # every caller may use, and grants to AllUsers hold for signed callers too.
        if acts_as_owner(identity, owner, anonymous_mode=mode) or acts_as_owner(
            ANONYMOUS, owner, anonymous_mode=mode
        ):
            return
        if owner is None or not _granted(s3, owner, operation):
            raise S3Error("AccessDenied")


def _granted(s3: S3Request, bucket_owner: str, operation: str) -> bool:
    """Does an ACL let ``s3.identity`` (not the bucket owner) run ``operation``?
    Object reads need the object's own ACL (the bucket's does not grant them)."""
    bucket = s3.bucket_name
    user_id = None if s3.identity.id == ANONYMOUS.id else s3.identity.id
    authenticated = user_id is not None

    def bucket_allows(permission: str) -> bool:
        policy = bucket_policy(s3.store, bucket, bucket_owner)
        return policy.allows(user_id, permission, authenticated=authenticated)

    if operation in acl.OBJECT_PERMISSIONS and s3.key is not None:
        # the ACL of the version checked (a copy's source) or named (?versionId=), else
        # of the latest
        version = s3.checked_version or version_of_request(s3)
        try:
            info = s3.store.head_object(bucket, s3.key, version_id=version)
        except (NoSuchKey, NoSuchVersion, VersionIsDeleteMarker):
            # Tell "no such key" only to whom may list the bucket, as S3 does.
            return bucket_allows(acl.READ)
        policy = object_policy(info, bucket_owner)
        needed = acl.OBJECT_PERMISSIONS[operation]
        return policy.allows(user_id, needed, authenticated=authenticated)
    permission = acl.BUCKET_PERMISSIONS.get(operation)
    return permission is not None and bucket_allows(permission)


def bucket_policy(store: ObjectStore, bucket: str, owner: str) -> AccessControlPolicy:
    """``bucket``'s ACL as stored (the default when none is, or the store keeps none)."""
    try:
        stored = store.get_bucket_config(bucket, ACL)
    except NotSupported:
        stored = None
    return AccessControlPolicy.from_json(stored, owner)


def set_bucket_policy(store: ObjectStore, bucket: str, policy: AccessControlPolicy) -> None:
    value = stored_acl(policy)
    try:
        store.put_bucket_config(bucket, ACL, None if value is None else value.encode())
    except NotSupported:
        if value is not None:
            raise


def object_policy(info: ObjectInfo, bucket_owner: str) -> AccessControlPolicy:
    """An object's ACL; its owner is its writer (the bucket owner for older objects)."""
    owner = info.attributes.owner or bucket_owner
    return AccessControlPolicy.from_json(info.attributes.acl, owner)


def directory(s3: S3Request) -> Directory:
    """The users an ACL may name: by canonical id, or by the e-mail they were given."""
    users = s3.credentials.users if s3.credentials is not None else []
    ids = {user.identity.id for user in users} | {s3.identity.id}
    emails = {user.email.lower(): user.identity.id for user in users if user.email}
    return Directory(is_user=ids.__contains__, id_for_email=lambda e: emails.get(e.lower()))


def requested_policy(
    s3: S3Request, owner: str, bucket_owner: str | None = None
) -> AccessControlPolicy | None:
    """The ACL the request's x-amz-acl / x-amz-grant-* headers ask for, if any."""
    headers = {name.lower(): value for name, value in s3.request.headers.items()}
    return policy_from_headers(headers, owner, directory(s3), bucket_owner=bucket_owner)
