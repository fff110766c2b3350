"""Pick the store named by settings: filesystem, memory, gitlab, s3 or module:callable.

A store whose packages are not installed fails here, when the app is built, with one
line naming the extra to install: never a server that starts, reports healthy and
answers 500 to every request.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .base import ObjectStore

if TYPE_CHECKING:  # settings live above stores; stores never import the web layer
    from ..settings import Settings

#: The third-party modules a store kind imports, and the extra (pyproject) that installs them.
STORE_EXTRAS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "s3": ("s3", ("boto3", "botocore")),
    "gitlab": ("gitlab", ("gitlab", "requests")),
}


class MissingDependency(ImportError):
    """A configured store needs a package that is not installed (an ImportError, so
    servers that load the app report it as a failed import and stop)."""


def require_store_packages(kind: str) -> None:
    """Import what store ``kind`` needs, or raise MissingDependency in one line."""
    extra, modules = STORE_EXTRAS.get(kind, ("", ()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise MissingDependency(
                f"BOXDRIVE_STORE={kind} needs the Python module {module!r}, which cannot be"
                f" imported ({error}): pip install 'boxdrive-wsgi[{extra}]'",
                name=module,
            ) from error


def store_from_settings(settings: Settings) -> ObjectStore:
    """The store ``settings`` name. Every kind but memory (whose objects live in one
    process anyway) gets the shared ``multipart_dir`` for the staged multipart default,
    so every worker process sees every upload; stores with native multipart ignore it."""
    kind = settings.store
    require_store_packages(kind)
    if kind == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    store = _build(kind, settings)
    if store.multipart_dir is None:
        store.multipart_dir = settings.multipart_dir or os.path.join(settings.data_dir, "multipart")
    return store


def _build(kind: str, settings: Settings) -> ObjectStore:
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
