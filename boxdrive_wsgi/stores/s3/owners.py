"""Bucket owners of S3Store's 1:1 mode: one small record object in each upstream bucket.

Why an object and not bucket tagging: the record must be shared by every app process
and node (so it lives upstream, not in a local index), and claiming a bucket must be
atomic: two nodes creating one name at once (AWS us-east-1 answers 200 to both) must not
both become its owner. A record object written with ``If-None-Match: *`` gives that
(the first claim wins, the other gets 412); PutBucketTagging has no condition (last
writer wins), replaces whatever tags an operator set, and is missing on some
S3-compatible servers (Garage). The price is one reserved key prefix per bucket
(``RESERVED_PREFIX``): the store hides it from listings, answers NoSuchKey for reads,
ignores deletes and refuses writes there, so no client can forge or remove a record.

A bucket created outside boxdrive has no record: its owner is None, which the access
rule serves to the operator (admin) only, the safe default. Creating such a bucket
through boxdrive does not claim it (the store checks that it does not exist first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Keys under this prefix of an upstream bucket are boxdrive's own (1:1 mode).
RESERVED_PREFIX = ".boxdrive/"
#: The owner record of an upstream bucket (1:1 mode): ``{"owner": ..., "created": ...}``.
OWNER_RECORD = RESERVED_PREFIX + "bucket.json"
#: Where the conditional-write probe writes its temporary key (1:1 mode).
PROBE_PREFIX = RESERVED_PREFIX + "probe-"


def is_reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIX)


def record_body(owner: str | None, created_epoch: int) -> bytes:
    return json.dumps({"owner": owner, "created": created_epoch}, ensure_ascii=True).encode()


def parse_record(data: bytes) -> Mapping[str, Any]:
    """The record's fields; an unreadable record reads as no owner (admin only)."""
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def record_owner(record: Mapping[str, Any]) -> str | None:
    owner = record.get("owner")
    return owner if isinstance(owner, str) else None


#: What S3Store reads as the owner record of a bucket that does not exist.
GONE: Mapping[str, Any] = {"gone": True}
