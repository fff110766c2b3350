"""Stores: where objects live. See ``base`` for the contract."""

from .base import (
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    IncompleteBody,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NotSupported,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    ObjectPage,
    ObjectStore,
    PreconditionFailed,
    StoreError,
)
from .filesystem import FilesystemStore
from .memory import MemoryStore

__all__ = [
    "BucketAlreadyExists",
    "BucketInfo",
    "BucketNotEmpty",
    "ByteRange",
    "FilesystemStore",
    "IncompleteBody",
    "InvalidRange",
    "MemoryStore",
    "NoSuchBucket",
    "NoSuchKey",
    "NotSupported",
    "ObjectAttributes",
    "ObjectBody",
    "ObjectInfo",
    "ObjectPage",
    "ObjectStore",
    "PreconditionFailed",
    "StoreError",
]
