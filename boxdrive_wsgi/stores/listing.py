"""Delimiter roll-up and pagination shared by stores.

A store supplies ``seek(lower, inclusive)``: an iterator over its objects whose
keys start with the prefix and are ``> lower`` (or ``>= lower``), in key order.
Python compares ``str`` by code point, which is the same order as UTF-8 bytes.
``paginate`` walks it, rolls keys into common prefixes and, on each new common
prefix, seeks past every key the prefix covers, so a page costs O(max_keys)
seeks and rows, not O(bucket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .model import ObjectInfo, ObjectPage

Seek = Callable[[str, bool], Iterator[ObjectInfo]]


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    for i in range(len(prefix) - 1, -1, -1):
        if ord(prefix[i]) < 0x10FFFF:
            return prefix[:i] + chr(ord(prefix[i]) + 1)
    return None


def paginate(
    seek: Seek,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
) -> ObjectPage:
    if max_keys <= 0:
        return ObjectPage(objects=[], common_prefixes=[], is_truncated=False)
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: str | None = None
    lower, inclusive = start_after, False
    if prefix > lower:
        lower, inclusive = prefix, True
    if delimiter:
        covering = _common_prefix(start_after, prefix, delimiter)
        if covering is not None:
            # start_after lies inside a common prefix already returned: skip it all.
            successor = prefix_successor(covering)
            if successor is None:
                return ObjectPage(objects=[], common_prefixes=[], is_truncated=False)
            lower, inclusive = max((lower, inclusive), (successor, True))
    rows = seek(lower, inclusive)
    count = 0
    while True:
        info = next(rows, None)
        if info is None:
            return ObjectPage(objects, prefixes, is_truncated=False, last=last)
        if not info.key.startswith(prefix):
            return ObjectPage(objects, prefixes, is_truncated=False, last=last)
        if count == max_keys:
            return ObjectPage(objects, prefixes, is_truncated=True, last=last)
        common = _common_prefix(info.key, prefix, delimiter) if delimiter else None
        if common is None:
            objects.append(info)
            last = info.key
            count += 1
            continue
        prefixes.append(common)
        last = common
        count += 1
        successor = prefix_successor(common)
        if successor is None:
            return ObjectPage(objects, prefixes, is_truncated=False, last=last)
        close = getattr(rows, "close", None)
        if close is not None:
            close()
        rows = seek(successor, True)


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not key.startswith(prefix):
        return None
    at = key.find(delimiter, len(prefix))
    if at < 0:
        return None
    return key[: at + len(delimiter)]
