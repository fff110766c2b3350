"""Bucket and key name rules, as S3 enforces them for new buckets."""

from __future__ import annotations

import ipaddress
import re

from .errors import S3Error

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1024


def is_valid_bucket_name(name: str) -> bool:
    if not _BUCKET.match(name):
        return False
    if ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def check_bucket_name(name: str) -> None:
    if not is_valid_bucket_name(name):
        raise S3Error("InvalidBucketName", extra={"BucketName": name})


def check_key(key: str) -> None:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError")
