"""What a store can do, declared once (``ObjectStore.capabilities``) instead of found out
by calling it: the HTTP layer answers 501 NotImplemented up front for what a store
lacks, and never emulates a missing capability non-atomically."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """The defaults are what ``ObjectStore``'s own defaults provide."""

    #: put/copy/complete honour ``WriteOptions`` CREATE and UPDATE atomically. The
    #: contract asks it of every store; one that cannot (an upstream that ignores the
    #: headers) declares False, or raises NotSupported if it learns so only later.
    conditional_writes: bool = True
    #: ``delete_object_if`` checks and deletes atomically (the default cannot: 501).
    conditional_delete: bool = False
    #: multipart uploads are the store's own (``multipart_backend`` or the methods),
    #: not the staged default.
    native_multipart: bool = False
    #: ``get_object`` bodies may carry a ``path`` to a local file under this directory
    #: (absolute), which the server may send itself (sendfile, nginx X-Accel-Redirect).
    file_root: str | None = None
    #: buckets keep the owner given to create_bucket.
    owners: bool = True
    #: objects keep tags and ACLs (``update_object_attributes``; the default rewrites).
    tags: bool = True
    #: bucket configuration slots (``get_bucket_config``/``put_bucket_config``: bucket
    #: tagging, CORS, policy, ACL, versioning status).
    bucket_config: bool = False
    #: every process opening the store sees the same data (not an in-process store):
    #: the staged multipart default then keeps its uploads in a shared directory too.
    shared: bool = True
    #: bucket versioning (``set_bucket_versioning``, ``version_id`` arguments, delete
    #: markers, ``list_object_versions`` of every version). Without it a store knows
    #: only the null version: the defaults list current objects as null versions.
    versioning: bool = False
    #: read-only versions (a store whose history is kept for it, e.g. GitLab's branch
    #: history), without ``versioning``: ``list_object_versions`` lists past versions
    #: under the store's own ids (``is_version_id``), and get/head/copy source read them
    #: by ``version_id``; but buckets stay never versioned (``BucketInfo.versioning``
    #: None, writes return no version id), ``set_bucket_versioning`` and deletes or
    #: attribute updates by version id raise NotSupported (501 up front for requests).
    #: It MAY leave out of ``list_object_versions`` the keys absent now.
    version_reads: bool = False

    @property
    def file_bodies(self) -> bool:
        return self.file_root is not None
