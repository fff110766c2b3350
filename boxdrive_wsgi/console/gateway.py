"""What the console does with the store, each step authorized as the S3 API authorizes it.

Every method names the S3 operation it stands for and asks the same AccessControl (and
the site's ``authorize`` hook, if any) before it touches the store, so that a console
user sees and does exactly what their keys may do over S3. Bytes never pass through
here: uploads, downloads and share links are presigned URLs to the S3 API itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import request

from ..auth import presign
from ..auth.credentials import Credentials
from ..auth.identity import Identity, acts_as_owner
from ..encryption.sse import plain_info
from ..protocol.errors import S3Error
from ..protocol.names import check_bucket_name, check_key
from ..settings import Settings
from ..stores.base import BucketInfo, ObjectInfo, ObjectPage, ObjectStore
from ..web.access import AccessControl
from ..web.context import S3Request

#: Keys per page of the object browser.
PAGE_SIZE = 100


@dataclass
class Gateway:
    store: ObjectStore
    settings: Settings
    access: AccessControl
    credentials: Credentials
    #: where the S3 blueprint is mounted in this app ("" at the root, "/s3"...).
    s3_prefix: str = ""

    def check(
        self, identity: Identity, operation: str, bucket: str | None = None, key: str | None = None
    ) -> None:
        """Raise S3Error AccessDenied unless S3 would let ``identity`` run ``operation``."""
        s3 = S3Request(
            request=request._get_current_object(),  # type: ignore[attr-defined]
            store=self.store,
            settings=self.settings,
            bucket=bucket,
            key=key,
            identity=identity,
            request_id=secrets.token_hex(8).upper(),
            operation=operation,
            credentials=self.credentials,
            authorizer=self.access.authorize,
        )
        self.access.authorize(s3)

    def allowed(
        self, identity: Identity, operation: str, bucket: str, key: str | None = None
    ) -> bool:
        try:
            self.check(identity, operation, bucket, key)
        except S3Error:
            return False
        return True

    # -- buckets

    def buckets(self, identity: Identity) -> list[BucketInfo]:
        """ListBuckets: the caller's own buckets, as S3 answers it."""
        self.check(identity, "ListBuckets")
        mode = self.settings.anonymous
        return [
            b
            for b in self.store.list_buckets()
            if acts_as_owner(identity, b.owner, anonymous_mode=mode)
        ]

    def create_bucket(self, identity: Identity, name: str) -> None:
        check_bucket_name(name)
        self.check(identity, "CreateBucket", name)
        self.store.create_bucket(name, owner=identity.id)

    def delete_bucket(self, identity: Identity, name: str) -> None:
        self.check(identity, "DeleteBucket", name)
        self.store.delete_bucket(name)

    # -- objects

    def page(
        self, identity: Identity, bucket: str, prefix: str, start_after: str, size: int = PAGE_SIZE
    ) -> ObjectPage:
        """One page of ListObjectsV2 with delimiter "/" (folders as common prefixes)."""
        self.check(identity, "ListObjectsV2", bucket)
        page = self.store.list_objects(
            bucket, prefix=prefix, delimiter="/", start_after=start_after, max_keys=size
        )
        return replace(page, objects=[plain_info(o) for o in page.objects])

    def head(self, identity: Identity, bucket: str, key: str) -> ObjectInfo:
        self.check(identity, "HeadObject", bucket, key)
        return plain_info(self.store.head_object(bucket, key))  # encrypted: plaintext size

    def tags(self, identity: Identity, info: ObjectInfo) -> dict[str, str] | None:
        """The object's tags, or None when GetObjectTagging is not the caller's to run."""
        if not self.allowed(identity, "GetObjectTagging", info.bucket, info.key):
            return None
        return dict(info.attributes.tags)

    def delete(self, identity: Identity, bucket: str, keys: Iterable[str]) -> int:
        """DeleteObject for one key, DeleteObjects for several; returns how many."""
        wanted = list(dict.fromkeys(keys))
        self.check(identity, "DeleteObject" if len(wanted) == 1 else "DeleteObjects", bucket)
        for key in wanted:
            self.store.delete_object(bucket, key)
        return len(wanted)

    # -- presigned URLs to the S3 API

    def presigned(
        self,
        identity: Identity,
        method: str,
        bucket: str,
        key: str,
        *,
        expires: int = 3600,
        query: Iterable[tuple[str, str]] = (),
    ) -> str:
        """A URL signed with the caller's own keys: the S3 API authorizes its use."""
        check_key(key)
        user = self.credentials.lookup(identity.access_key or "")
        if user is None:
            raise S3Error("AccessDenied", "This login has no keys to sign with.")
        script_root = request.script_root
        return presign.presign(
            method,
            scheme=request.scheme,
            host=request.host,
            path=f"{script_root}{self.s3_prefix}/{bucket}/{key}",
            access_key=user.access_key,
            secret_key=user.secret_key,
            region=self.settings.region,
            expires=expires,
            now=datetime.now(UTC),
            query=query,
        )
