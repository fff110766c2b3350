"""Who may do what: every access decision, and the stored ACLs it is made from.

A request's identity comes from ``web.authentication``; this module decides whether
it may run the operation, in this order (README "Access"):

1. the site's ``authorize`` hook, if it answers (True/False is final);
1b. the caller's identity policies (users file: its own and its groups'), if it has
   any: an explicit Deny in any of them refuses;
2. ListBuckets/CreateBucket act on no bucket: any signed user, anonymous only in
   anonymous mode (and only where the identity policies, if any, Allow);
3. the bucket policy (``policy`` package; condition keys from ``web.policy_context``):
   an explicit Deny refuses, the bucket owner included (the owner may still
   Get/Put/DeleteBucketPolicy, so a policy never locks it out);
4. a caller without identity policies: the bucket owner may do anything else; else an
   Allow of the bucket policy (unless the public access block's RestrictPublicBuckets
   drops a public policy's grants to non-owners); else step 6. But an object another
   user owns (ObjectWriter) is the bucket owner's to read only by that object's ACL
   (or a policy Allow): its ACL here (``OBJECT_ACL_OPERATIONS``, with a HeadObject), its
   data, tags and attributes in the handler, on the object the handler's own lookup
   found (``check_object_read``; ``S3Request.owner_read_pending`` says it is asked);
5. a caller with identity policies is an IAM user of its own account: in its own
   bucket an Allow of its policies or of the bucket policy is enough (not its ACLs);
   in another user's bucket its policies must Allow and so must the bucket's side
   (the bucket policy, or step 6), as IAM decides across accounts;
6. the grants of S3 ACLs (public grants ignored under IgnorePublicAcls, no ACL at all
   under the BucketOwnerEnforced ownership);
7. a read of a missing key by whom the policy lets list the bucket goes on to its 404
   (S3 tells "no such key" only to whom may list; ``s3:prefix`` is asked about the key).

An unsigned request acts as ANONYMOUS, one principal under the same rules as any
user: it is served where the bucket's owner made something public (an ACL grant to
AllUsers, a policy statement for ``"*"``); with anonymous mode on it may also list
and create buckets, and owns those it creates. A bucket with no recorded owner is
the operator's (an admin identity).

The ACL model (grants, canned ACLs, documents, which permission an operation needs)
is pure, in ``protocol.acl``; here it meets the store (where ACLs are kept) and the
request (the ACL its headers ask for). Bucket ACLs live in the bucket configuration
slot ``acl``; object ACLs travel with the object (``ObjectAttributes.acl``, its
writer in ``ObjectAttributes.owner``). Nothing stored means the default: the owner
has FULL_CONTROL. Policies, the public access block and ownership controls are kept
as ``web.bucket_settings`` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth.identity import ANONYMOUS, acts_as_owner
from ..policy import Decision, Policy, evaluate, evaluate_all
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
from .bucket_settings import (
    BUCKET_OWNER_ENFORCED,
    BUCKET_OWNER_PREFERRED,
    load_ownership,
    load_policy,
    load_public_access_block,
)
from .context import S3Request
from .policy_context import identity_policies, listing_context, request_context
from .versions import version_of_request

#: A site's own authorization: the request context (identity, operation, bucket,
#: key) -> allow?, or None to apply the default policy (owners and ACL grants).
Authorizer = Callable[[S3Request], bool | None]

#: Operations any authenticated identity may call: they act on no existing bucket.
UNSCOPED_OPERATIONS = frozenset({"ListBuckets", "CreateBucket"})
#: The bucket configuration slot holding a bucket's ACL (protocol.acl JSON).
ACL = "acl"
#: What a bucket owner may do even where its own policy denies it (as in S3).
POLICY_OPERATIONS = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"})
#: What the bucket owner may do to an object another user owns only where the object's
#: ACL grants it (READ_ACP, WRITE_ACP), as in S3: decided here, with a HeadObject.
OBJECT_ACL_OPERATIONS = frozenset({"GetObjectAcl", "PutObjectAcl"})
#: Reads of the same kind (the object's ACL must grant READ), decided by the handler
#: with ``check_object_read`` on the object its own store lookup found: no HeadObject
#: more on the bucket owner's every read. S3's ACLs name no permission for tags;
#: GetObjectTagging asks for READ here (a grant of the data covers its tags).
OWNER_CHECKED_READS = frozenset(
    {"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging"}
)


@dataclass
class AccessControl:
    anonymous: bool = False
    hook: Authorizer | None = None

    def authorize(self, s3: S3Request) -> None:
        """Raise AccessDenied unless ``s3.identity`` may run ``s3.operation``; then
        refuse the ACL a write asks for where the bucket does not take it."""
        self._authorize(s3)
        if s3.operation in HEADER_ACL_WRITES and s3.bucket is not None:
            check_acl_headers(s3)

    def _authorize(self, s3: S3Request) -> None:
        operation = s3.operation
        if self.hook is not None:
            decision = self.hook(s3)
            if decision is not None:
                if not decision:
                    raise S3Error("AccessDenied")
                return
        limits = identity_policies(s3)
        context = request_context(s3) if limits else None
        # None: no identity policies, the caller answers for itself as today
        own = evaluate_all(limits, context) if context is not None else None
        if own is Decision.DENY:
            raise S3Error("AccessDenied")  # an explicit Deny of its own or a group's policy
        identity = s3.identity
        if s3.bucket is None or operation in UNSCOPED_OPERATIONS:
            if identity.id == ANONYMOUS.id and not self.anonymous:
                # S3: no listing or creating buckets without credentials
                raise S3Error("AccessDenied", "Anonymous access is not enabled on this server.")
            if own is not None and own is not Decision.ALLOW:
                raise S3Error("AccessDenied")  # no bucket policy can allow these
            return
        owner = s3.bucket_owner()
        mode = self.anonymous
        # Signing never gives less than not signing: what ANONYMOUS owns (anonymous mode)
        # every caller may use, and grants to AllUsers hold for signed callers too.
        is_owner = acts_as_owner(identity, owner, anonymous_mode=mode) or acts_as_owner(
            ANONYMOUS, owner, anonymous_mode=mode
        )
        if is_owner and operation in OBJECT_ACL_OPERATIONS and _owned_by_another(s3, owner):
            is_owner = False  # S3: only the object's ACL says who may read or change it
        policy = load_policy(s3)
        verdict = Decision.NOT_APPLICABLE
        if policy is not None:
            verdict = evaluate(policy, context or request_context(s3))
            if verdict is Decision.DENY and not (is_owner and operation in POLICY_OPERATIONS):
                raise S3Error("AccessDenied")
        # RestrictPublicBuckets limits a public policy to the owner's own (README)
        by_policy = (
            policy is not None
            and verdict is Decision.ALLOW
            and (is_owner or not _restricted(s3, policy))
        )
        # the bucket owner's read of an object is its own only if the object is too:
        # the handler asks check_object_read once it has the object (a policy Allow
        # stands for the object's ACL, as for GetObjectAcl above)
        owner_read = is_owner and not by_policy and operation in OWNER_CHECKED_READS
        if own is None:  # as S3 treats an account's root: its buckets, then the grants
            if is_owner or by_policy:
                s3.owner_read_pending = owner_read
                return
        elif is_owner:  # as IAM within one account: either side's Allow is enough
            if own is Decision.ALLOW or by_policy:
                s3.owner_read_pending = owner_read
                return
            raise S3Error("AccessDenied")  # its ACLs grant the owner; not past its policies
        else:  # as IAM across accounts: its own policies and the bucket's side must allow
            if own is not Decision.ALLOW:
                raise S3Error("AccessDenied")
            if by_policy:
                return
        if owner is None or not _granted(s3, owner, operation):
            if policy is not None and _may_tell_missing(s3, policy):
                return  # the handler answers 404
            raise S3Error("AccessDenied")
        s3.acl_required = True  # an ACL alone allowed it (the server access log says so)


#: Operations that take an ACL from x-amz-acl / x-amz-grant-* headers.
HEADER_ACL_WRITES = frozenset(
    {"PutObject", "CopyObject", "CreateMultipartUpload", "PutBucketAcl", "PutObjectAcl"}
)
#: The one ACL a bucket with BucketOwnerEnforced ownership accepts.
OWNER_FULL_CONTROL = "bucket-owner-full-control"
PUBLIC_CANNED = frozenset({"public-read", "public-read-write", "authenticated-read"})
_GRANT_HEADERS = tuple(f"x-amz-grant-{p}" for p in ("read", "write", "read-acp", "write-acp"))
_GRANT_HEADERS += ("x-amz-grant-full-control",)


def _headers_ask_public(s3: S3Request) -> bool:
    headers = s3.request.headers
    if (headers.get("x-amz-acl") or "").strip() in PUBLIC_CANNED:
        return True
    return any(
        group in (headers.get(name) or "")
        for name in _GRANT_HEADERS
        for group in (acl.ALL_USERS, acl.AUTHENTICATED_USERS)
    )


def check_acl_headers(s3: S3Request) -> None:
    """S3's refusals of an ACL in a write's headers (PutBucketAcl/PutObjectAcl with a
    body are checked again on the parsed ACL, ``check_acl_write``)."""
    headers = s3.request.headers
    check_acl_request(
        s3,
        canned=headers.get("x-amz-acl"),
        grants=any(name in headers for name in _GRANT_HEADERS),
        public=_headers_ask_public(s3),
    )


def check_acl_request(s3: S3Request, *, canned: str | None, grants: bool, public: bool) -> None:
    """ACLs disabled by BucketOwnerEnforced: 400 AccessControlListNotSupported (only
    bucket-owner-full-control passes); public ones under BlockPublicAcls: 403."""
    asks = canned is not None or grants
    owner_only = canned is not None and canned.strip() == OWNER_FULL_CONTROL and not grants
    acl_operation = s3.operation in ("PutBucketAcl", "PutObjectAcl")
    if (acl_operation or asks) and not owner_only and load_ownership(s3) == BUCKET_OWNER_ENFORCED:
        raise S3Error("AccessControlListNotSupported")
    if asks and public:
        block = load_public_access_block(s3)
        if block is not None and block.BlockPublicAcls:
            raise S3Error("AccessDenied", "BlockPublicAcls is on: public ACLs are refused")


def check_acl_write(s3: S3Request, policy: AccessControlPolicy) -> None:
    """A parsed ACL about to be stored: public under BlockPublicAcls is AccessDenied."""
    if policy.is_public:
        block = load_public_access_block(s3)
        if block is not None and block.BlockPublicAcls:
            raise S3Error("AccessDenied", "BlockPublicAcls is on: public ACLs are refused")


def object_owner(s3: S3Request, canned: str | None = None, writer: str | None = None) -> str:
    """Who owns an object this request writes, as S3 assigns it: the writer, except
    the bucket owner under BucketOwnerEnforced, and under BucketOwnerPreferred when
    the write asks for bucket-owner-full-control (``canned``: default x-amz-acl)."""
    writer = writer or s3.identity.id
    if canned is None:
        canned = s3.request.headers.get("x-amz-acl")
    ownership = load_ownership(s3)
    if ownership == BUCKET_OWNER_ENFORCED or (
        ownership == BUCKET_OWNER_PREFERRED and (canned or "").strip() == OWNER_FULL_CONTROL
    ):
        return s3.bucket_owner() or writer
    return writer


def has_policy(s3: S3Request) -> bool:
    return load_policy(s3) is not None


def may(s3: S3Request, operation: str, key: str | None) -> bool:
    """Would ``operation`` on ``key`` of the request's bucket be allowed (DeleteObjects
    asks for each of its keys)?"""
    try:
        s3.check_access(operation, s3.bucket_name, key)
    except S3Error as error:
        if error.code != "AccessDenied":
            raise
        return False
    return True


def check_object_read(s3: S3Request, info: ObjectInfo) -> None:
    """The bucket owner's GetObject/HeadObject/GetObjectAttributes/GetObjectTagging of
    ``info`` (the object the handler's store lookup found, before any byte of it is
    sent): AccessDenied if another user owns it and its ACL grants the caller no READ,
    as S3 refuses it. Only where ``authorize`` let the caller in as the bucket owner
    (``S3Request.owner_read_pending``); free when the caller owns the object."""
    if not s3.owner_read_pending or not _another_owns(s3, info, s3.bucket_owner()):
        return
    policy = _effective(s3, object_policy(info, s3.bucket_owner() or s3.identity.id))
    user_id = None if s3.identity.id == ANONYMOUS.id else s3.identity.id
    if not policy.allows(user_id, acl.READ, authenticated=user_id is not None):
        raise S3Error("AccessDenied")
    s3.acl_required = True  # the object's ACL allowed it (the server access log says so)


def _owned_by_another(s3: S3Request, bucket_owner: str | None) -> bool:
    """Is the object the request names owned by another user (``_another_owns``)?"""
    if s3.key is None or bucket_owner == ANONYMOUS.id:
        return False
    try:
        info = s3.store.head_object(
            s3.bucket_name, s3.key, version_id=s3.checked_version or version_of_request(s3)
        )
    except (NoSuchKey, NoSuchVersion, VersionIsDeleteMarker):
        return False  # the handler answers NoSuchKey to the bucket owner
    return _another_owns(s3, info, bucket_owner)


def _another_owns(s3: S3Request, info: ObjectInfo, bucket_owner: str | None) -> bool:
    """Is ``info`` owned by another user than the caller and the bucket owner (an
    ObjectWriter's object)? Never under BucketOwnerEnforced, where the bucket owner owns
    every object, nor in buckets of the ``anonymous`` principal, which anonymous mode
    shares with every caller; nor for an object written unsigned (its ACL names no one
    who could sign for it: the bucket owner keeps it). The writer is compared first:
    the common case reads no bucket configuration."""
    writer = info.attributes.owner
    if writer is None or writer in (s3.identity.id, bucket_owner, ANONYMOUS.id):
        return False
    if bucket_owner == ANONYMOUS.id:
        return False
    return load_ownership(s3) != BUCKET_OWNER_ENFORCED


def _effective(s3: S3Request, policy: AccessControlPolicy) -> AccessControlPolicy:
    """``policy`` as it grants: without its public grants under IgnorePublicAcls."""
    if not policy.is_public:
        return policy
    block = load_public_access_block(s3)
    return policy.without_public() if block is not None and block.IgnorePublicAcls else policy


def _restricted(s3: S3Request, policy: Policy) -> bool:
    """RestrictPublicBuckets: a public policy grants nothing to other accounts."""
    if not policy.is_public:
        return False
    block = load_public_access_block(s3)
    return block is not None and block.RestrictPublicBuckets


#: Reads of a key that S3 answers 404, not 403, when the key is missing and the caller
#: may list the bucket.
_MISSING_TOLD = frozenset({"GetObject", "HeadObject", "GetObjectAttributes"})


def _may_tell_missing(s3: S3Request, policy: Policy) -> bool:
    """A read of a key that does not exist, by a caller the bucket policy lets list
    the bucket (``s3:ListBucket``, ``s3:prefix`` asked about the key): S3 tells it
    "no such key" (404) where it tells everyone else "access denied"."""
    if s3.key is None or s3.operation not in _MISSING_TOLD or _restricted(s3, policy):
        return False
    if evaluate(policy, listing_context(s3, s3.key)) is not Decision.ALLOW:
        return False
    version = s3.checked_version or version_of_request(s3)
    try:
        s3.store.head_object(s3.bucket_name, s3.key, version_id=version)
    except (NoSuchKey, NoSuchVersion, VersionIsDeleteMarker):
        return True
    return False  # it exists: listing it gives no right to read it


def _granted(s3: S3Request, bucket_owner: str, operation: str) -> bool:
    """Does an ACL let ``s3.identity`` (not the bucket owner) run ``operation``?
    Object reads need the object's own ACL (the bucket's does not grant them)."""
    bucket = s3.bucket_name
    user_id = None if s3.identity.id == ANONYMOUS.id else s3.identity.id
    authenticated = user_id is not None
    if load_ownership(s3, bucket) == BUCKET_OWNER_ENFORCED:
        return False  # ACLs are disabled: they grant nothing

    def bucket_allows(permission: str) -> bool:
        policy = _effective(s3, bucket_policy(s3, bucket, bucket_owner))
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
        policy = _effective(s3, object_policy(info, bucket_owner))
        needed = acl.OBJECT_PERMISSIONS[operation]
        return policy.allows(user_id, needed, authenticated=authenticated)
    permission = acl.BUCKET_PERMISSIONS.get(operation)
    return permission is not None and bucket_allows(permission)


def bucket_policy(s3: S3Request, bucket: str, owner: str) -> AccessControlPolicy:
    """``bucket``'s ACL as stored (the default when none is, or the store keeps none)."""
    try:
        stored = s3.bucket_config(ACL, bucket)
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


def shown_object_policy(s3: S3Request, info: ObjectInfo, bucket_owner: str) -> AccessControlPolicy:
    """The ACL GetObjectAcl shows and PutObjectAcl replaces: under BucketOwnerEnforced
    the bucket owner owns every object, those written before it too (as in S3)."""
    if load_ownership(s3) == BUCKET_OWNER_ENFORCED:
        return AccessControlPolicy.from_json(None, bucket_owner)
    return object_policy(info, bucket_owner)


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
