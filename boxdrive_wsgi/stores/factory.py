"""Pick the store named by settings: filesystem, memory, or module:callable."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import ObjectStore

if TYPE_CHECKING:  # settings live above stores; stores never import the web layer
    from ..settings import Settings


def store_from_settings(settings: Settings) -> ObjectStore:
    kind = settings.store
    if kind == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if kind == "filesystem":
        from .filesystem import FilesystemStore

        return FilesystemStore(
            settings.data_dir,
            min_free_space=settings.min_free_space,
            space_reserve=settings.space_reserve,
        )
    if kind == "gitlab":
        from .gitlab import GitlabStore

        missing = [
            f"BOXDRIVE_{name.upper()}"
            for name in ("gitlab_url", "gitlab_token", "gitlab_project")
            if not getattr(settings, name)
        ]
        if missing:
            raise ValueError(f"the gitlab store needs {', '.join(missing)}")
        assert settings.gitlab_url and settings.gitlab_token and settings.gitlab_project
        return GitlabStore(
            settings.gitlab_url,
            settings.gitlab_token,
            settings.gitlab_project,
            settings.gitlab_branch,
            max_object_size=settings.gitlab_max_object_size,
        )
    if kind == "s3":
        from .s3 import S3Store

        return S3Store(
            endpoint_url=settings.s3_endpoint_url,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region or settings.region,
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
        )
    if ":" in kind:
        module_name, _, attribute = kind.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        store: object = factory()
        if not isinstance(store, ObjectStore):
            raise TypeError(f"{kind} returned {type(store).__name__}, not an ObjectStore")
        return store
    raise ValueError(
        f"unknown store {kind!r}: use filesystem, memory, gitlab, s3 or module:callable"
    )
