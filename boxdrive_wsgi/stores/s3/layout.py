"""Where S3Store's buckets and keys live upstream: the one mapping every part of the
store (objects, multipart, copies, versions, reserved keys) writes its upstream names
with, so none of them reaches into another for it.

* 1:1 (``bucket`` None): our bucket ``b`` is upstream bucket ``b``, our key ``k`` its key
  ``k``; the keys under ``owners.RESERVED_PREFIX`` are ours (the owner record, probes).
* prefix (``bucket`` the upstream bucket): objects at ``<prefix><b>/<k>``, the bucket's
  marker at ``<prefix><b>``, configuration documents at ``<prefix>.config/<b>/<name>``
  (bucket names never start with a dot, so neither collides with a bucket's keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import owners


@dataclass(frozen=True)
class Layout:
    #: the one upstream bucket of the prefix layout; None: 1:1.
    bucket: str | None = None
    #: where our buckets start in it (prefix layout only).
    prefix: str = ""

    @property
    def one_to_one(self) -> bool:
        return self.bucket is None

    def upstream_bucket(self, bucket: str) -> str:
        """The upstream bucket holding our ``bucket``."""
        return self.bucket or bucket

    def base(self, bucket: str) -> str:
        """The upstream key prefix of our ``bucket``'s objects ("" in 1:1)."""
        return f"{self.prefix}{bucket}/" if self.bucket else ""

    def key(self, bucket: str, key: str) -> str:
        """The upstream key of our ``key`` in ``bucket``."""
        return self.base(bucket) + key

    def where(self, bucket: str, key: str) -> dict[str, str]:
        """``Bucket=`` and ``Key=`` of an upstream call on our object."""
        return {"Bucket": self.upstream_bucket(bucket), "Key": self.key(bucket, key)}

    def marker(self, bucket: str) -> str:
        """The key of a bucket's marker object (prefix layout)."""
        return f"{self.prefix}{bucket}"

    def config_key(self, bucket: str, name: str = "") -> str:
        """The key of a bucket's configuration document ``name`` (prefix layout); with
        no name, the prefix of them all."""
        return f"{self.prefix}.config/{bucket}/{name}"

    def probe_location(self, bucket: str) -> tuple[str, str]:
        """Upstream bucket and key prefix where the conditional-write probe may write."""
        if self.bucket:
            return self.bucket, f"{self.prefix}.probe/"
        return bucket, owners.PROBE_PREFIX

    def reserved(self, key: str) -> bool:
        """A key of ours in a 1:1 bucket (the owner record, probes): no client may touch
        it. ``key`` is upstream's, which in 1:1 is the client's too."""
        return self.bucket is None and owners.is_reserved(key)
