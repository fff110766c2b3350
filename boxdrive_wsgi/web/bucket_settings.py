"""A bucket's access settings as stored: its policy, public access block, ownership.

Each lives in its own bucket configuration slot (``ObjectStore.get_bucket_config``):

- ``policy``: the policy document as the client sent it (validated when put); parsed
  once per process and document (an LRU cache keyed by the text), so a request pays
  one slot read, not a parse;
- ``publicAccessBlock``: JSON of the four flags (absent: all false);
- ``ownershipControls``: ``BucketOwnerEnforced``, ``BucketOwnerPreferred`` or
  ``ObjectWriter`` (absent: ObjectWriter, the behaviour of buckets before the setting).

A store without configuration slots has none of them: no policy, nothing blocked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache

from ..policy import Policy, PolicyError, parse_policy
from ..stores.base import NotSupported
from .context import S3Request

POLICY = "policy"
PUBLIC_ACCESS_BLOCK = "publicAccessBlock"
OWNERSHIP = "ownershipControls"
OBJECT_WRITER = "ObjectWriter"
BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
OWNERSHIPS = frozenset({OBJECT_WRITER, BUCKET_OWNER_PREFERRED, BUCKET_OWNER_ENFORCED})


def _get(s3: S3Request, bucket: str | None, slot: str) -> bytes | None:
    try:
        return s3.bucket_config(slot, bucket)
    except NotSupported:
        return None


@lru_cache(maxsize=256)
def parsed_policy(text: bytes) -> Policy | None:
    """A stored policy document, parsed once per process and text."""
    try:
        return parse_policy(text)
    except PolicyError:  # stored before a stricter check: it grants nothing
        return None


def load_policy(s3: S3Request, bucket: str | None = None) -> Policy | None:
    stored = _get(s3, bucket, POLICY)
    return None if stored is None else parsed_policy(stored)


@dataclass(frozen=True)
class PublicAccessBlock:
    BlockPublicAcls: bool = False
    IgnorePublicAcls: bool = False
    BlockPublicPolicy: bool = False
    RestrictPublicBuckets: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


NOTHING_BLOCKED = PublicAccessBlock()


def load_public_access_block(s3: S3Request, bucket: str | None = None) -> PublicAccessBlock | None:
    stored = _get(s3, bucket, PUBLIC_ACCESS_BLOCK)
    if stored is None:
        return None
    try:
        flags = json.loads(stored)
        return PublicAccessBlock(**{k: bool(flags.get(k, False)) for k in _FLAGS})
    except (ValueError, TypeError, AttributeError):
        return NOTHING_BLOCKED


_FLAGS = tuple(PublicAccessBlock.__dataclass_fields__)


def load_ownership(s3: S3Request, bucket: str | None = None) -> str:
    stored = _get(s3, bucket, OWNERSHIP)
    value = stored.decode(errors="replace") if stored else OBJECT_WRITER
    return value if value in OWNERSHIPS else OBJECT_WRITER
