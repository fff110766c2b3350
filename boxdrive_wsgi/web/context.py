"""The per-request context every operation receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from flask import Request, Response
from werkzeug.datastructures import MultiDict

from ..auth.chunked import ChunkSigner
from ..auth.credentials import Credentials
from ..auth.identity import Identity
from ..protocol.errors import S3Error
from ..protocol.xml import Children, render
from ..settings import Settings
from ..stores.base import BucketInfo, ObjectStore

#: The bucket owner a client expects (S3's ExpectedBucketOwner); a mismatch is refused.
EXPECTED_OWNER = "x-amz-expected-bucket-owner"
#: The same for the source bucket of a copy (ExpectedSourceBucketOwner).
EXPECTED_SOURCE_OWNER = "x-amz-source-expected-bucket-owner"


@dataclass(frozen=True)
class KeyOutcome:
    """What a request that acts on many keys (DeleteObjects) did to one of them."""

    key: str
    #: the version removed, or the delete marker made; None: none named
    version_id: str | None
    #: S3's error code when it failed; None: done
    error_code: str | None = None


@dataclass
class S3Request:
    request: Request
    store: ObjectStore
    settings: Settings
    bucket: str | None
    key: str | None
    identity: Identity
    request_id: str
    #: the S3 operation name (GetObject, ListBuckets, ...).
    operation: str = ""
    #: verifies aws-chunked chunk signatures of a signed streaming upload.
    chunk_signer: ChunkSigner | None = None
    #: the users, to name owners in listings.
    credentials: Credentials | None = None
    #: the access policy (raises AccessDenied), for operations that authorize more
    #: than their own target: CopyObject reads its source, POST Object authenticates
    #: by its form.
    authorizer: Callable[[S3Request], None] | None = None
    #: The buckets this request has looked up, by name. The access check looks the
    #: bucket up for its owner; the handler reuses that answer (the owner of a new
    #: object's ACL, ExpectedBucketOwner, listings) rather than asking the store again.
    #: Per request, so every worker process sees the store as it is now; shared with
    #: the copies check_access makes (a copy's source bucket is looked up once too).
    looked_up: dict[str, BucketInfo] = field(default_factory=dict, repr=False)
    #: Set by the access check when an ACL grant, not ownership or a policy, allowed
    #: the request (S3's "aclRequired" in server access logs).
    acl_required: bool = False
    #: Set by the access check when it let the caller in as the bucket owner to read an
    #: object: the handler asks ``web.access.check_object_read`` about the object it
    #: finds (another user's needs its ACL's READ). Not shared with check_access copies.
    owner_read_pending: bool = False
    #: The bucket configuration documents this request has read, by (bucket, slot).
    configs_read: dict[tuple[str, str], bytes | None] = field(default_factory=dict, repr=False)
    #: The object version an access check is about when the request's own ``?versionId=``
    #: does not name it (the source version of a copy); None: the request's.
    checked_version: str | None = None
    #: DeleteObjects: each key's outcome, in the order of the request (the server access
    #: log has one BATCH.DELETE.OBJECT record per key). Shared by the copies
    #: ``check_access`` makes.
    key_outcomes: list[KeyOutcome] = field(default_factory=list, repr=False)

    def check_access(
        self,
        operation: str,
        bucket: str,
        key: str | None = None,
        identity: Identity | None = None,
        version_id: str | None = None,
    ) -> S3Request:
        """Authorize ``operation`` on ``bucket``/``key`` (its version ``version_id``, as the
        store names it) as this request's identity (or ``identity``), with the same policy
        (and site hook) as the request itself. Returns the request checked (what the
        check found, e.g. ``owner_read_pending``, is on it)."""
        if self.authorizer is None:
            raise S3Error("AccessDenied")
        checked = replace(
            self,
            operation=operation,
            bucket=bucket,
            key=key,
            identity=identity or self.identity,
            checked_version=version_id,
            owner_read_pending=False,
        )
        self.authorizer(checked)
        return checked

    def check_expected_owner(self, bucket: str, header: str = EXPECTED_OWNER) -> None:
        """AccessDenied if the request names an expected owner of ``bucket`` (in
        ``header``) and the bucket's recorded owner is another, or none is recorded."""
        expected = self.request.headers.get(header)
        if expected is not None and self.bucket_owner(bucket) != expected.strip():
            raise S3Error("AccessDenied")

    def bucket_info(self, bucket: str | None = None) -> BucketInfo:
        """``bucket`` (default: the request's) as the store describes it, asked once per
        request. Raises NoSuchBucket as ``head_bucket`` does."""
        name = self.bucket_name if bucket is None else bucket
        info = self.looked_up.get(name)
        if info is None:
            info = self.looked_up[name] = self.store.head_bucket(name)
        return info

    def bucket_config(self, name: str, bucket: str | None = None) -> bytes | None:
        """The configuration document ``name`` of ``bucket`` (default: the request's),
        read at most once per request, and not at all when the bucket's lookup says the
        slot is empty (``BucketInfo.config_names``). Raises as ``get_bucket_config``
        (NoSuchBucket, NotSupported). A slot written through ``put_bucket_config`` reads
        back as written; one written to the store directly is not read back."""
        bucket_name = self.bucket_name if bucket is None else bucket
        slot = (bucket_name, name)
        if slot in self.configs_read:
            return self.configs_read[slot]
        names = self.bucket_info(bucket_name).config_names
        value = None
        if names is None or name in names:
            value = self.store.get_bucket_config(bucket_name, name)
        self.configs_read[slot] = value
        return value

    def put_bucket_config(self, name: str, value: bytes | None) -> None:
        """Write (None: remove) the request's bucket's slot ``name``, so what reads it later
        in this request (the CORS headers of a PutBucketCors answer) sees the new one."""
        self.store.put_bucket_config(self.bucket_name, name, value)
        self.configs_read[(self.bucket_name, name)] = value

    def bucket_owner(self, bucket: str | None = None) -> str | None:
        """The recorded owner of ``bucket`` (default: the request's), if any."""
        return self.bucket_info(bucket).owner

    def check_copy_source(self, bucket: str, key: str, version_id: str | None = None) -> S3Request:
        """May this request read the source of a copy (the version ``version_id``, or the
        latest)? It is a GetObject on it (the same policy decides, with that version's
        ACL), and its bucket must be the owner the client expects. Returns that GetObject,
        for ``web.access.check_object_read`` on the source the copy finds."""
        checked = self.check_access("GetObject", bucket, key, version_id=version_id)
        self.check_expected_owner(bucket, EXPECTED_SOURCE_OWNER)
        return checked

    @property
    def query(self) -> MultiDict[str, str]:
        return self.request.args

    @property
    def resource(self) -> str:
        path = "/"
        if self.bucket:
            path += self.bucket
            if self.key is not None:
                path += "/" + self.key
        return path

    @property
    def bucket_name(self) -> str:
        if self.bucket is None:  # dispatch guarantees a bucket for bucket/object routes
            raise S3Error("InvalidRequest", "a bucket is required")
        return self.bucket

    @property
    def object_key(self) -> str:
        if self.key is None:
            raise S3Error("InvalidRequest", "a key is required")
        return self.key

    def display_name(self, owner_id: str | None) -> str:
        if owner_id == self.identity.id:
            return self.identity.display_name
        known = self.credentials.display_name(owner_id) if self.credentials and owner_id else None
        return known or owner_id or ""


def xml_response(root: str, children: Children, status: int = 200) -> Response:
    return Response(render(root, children), status=status, content_type="application/xml")


def empty_response(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response without a body. Headers are kept as given: a HEAD answer carries
    the object's Content-Length, which Response(b"") would reset to 0."""
    return Response(None, status=status, headers=headers)


def url_quote(value: str) -> str:
    """encoding-type=url: S3 percent-encodes keys like this (slashes kept)."""
    return quote(value, safe="/")
