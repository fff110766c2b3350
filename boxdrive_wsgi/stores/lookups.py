"""``LazyBucketInfo``: a bucket's lookup whose costly parts are asked for only when read.

A remote store answers ``head_bucket`` on every request, but most requests read only
the owner from it: an upstream S3's versioning status (GetBucketVersioning) or the
names of a bucket's configuration slots (one listing) cost a round trip each that a
GetObject or PutObject never needs. Such a part is fetched on its first read and kept
with the lookup, which the HTTP layer holds for one request (``S3Request.bucket_info``),
so a request asks at most once, and none that does not need it asks at all.

It is still a ``BucketInfo`` (the same fields, reads and ``dataclasses.replace``); an
error fetching a part is raised where the part is read, as the eager lookup raised it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from .model import BucketInfo


class LazyBucketInfo(BucketInfo):
    def __init__(
        self,
        name: str,
        created: datetime,
        owner: str | None = None,
        versioning: str | None = None,
        config_names: frozenset[str] | None = None,
        *,
        versioning_of: Callable[[], str | None] | None = None,
        config_names_of: Callable[[], frozenset[str] | None] | None = None,
    ) -> None:
        super().__init__(name, created, owner, versioning, config_names)
        # A loader replaces the value the dataclass stored: the instance's own entry
        # would hide the cached property below, which then fetches on first read.
        if versioning_of is not None:
            del self.__dict__["versioning"]
            self.__dict__["_versioning_of"] = versioning_of
        if config_names_of is not None:
            del self.__dict__["config_names"]
            self.__dict__["_config_names_of"] = config_names_of

    @cached_property
    def versioning(self) -> str | None:
        found: str | None = self.__dict__["_versioning_of"]()
        return found

    @cached_property
    def config_names(self) -> frozenset[str] | None:
        found: frozenset[str] | None = self.__dict__["_config_names_of"]()
        return found

    def __eq__(self, other: object) -> bool:
        # the dataclass's own compares only with its exact class
        if not isinstance(other, BucketInfo):
            return NotImplemented
        return _fields(self) == _fields(other)

    def __hash__(self) -> int:
        return hash(_fields(self))


def _fields(info: BucketInfo) -> tuple[object, ...]:
    return (info.name, info.created, info.owner, info.versioning, info.config_names)
