"""Version ids and the paging of ListObjectVersions, shared by the stores.

A versioning store supplies two iterators (``seek`` as ``listing.paginate`` takes it, but
over every version and delete marker of the keys, by key then newest first; and
``after``: the versions of one key older than a given version). ``paginate_versions``
turns them into a ``VersionPage`` at O(page) cost, with the key and version-id markers
of S3's ListObjectVersions.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import replace

from .errors import NoSuchKey, NoSuchVersion
from .listing import Seek, paginate
from .model import NULL_VERSION, ObjectInfo, ObjectPage, VersionPage

#: Versions of ``key`` older than version ``version_id`` (newest first); empty if the
#: key has no such version.
After = Callable[[str, str], Iterator[ObjectInfo]]

#: Characters of the ids this package's stores make (URL-safe base64).
_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_")
ID_LENGTH = 32


def new_version_id() -> str:
    """A fresh opaque version id: 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def is_version_id(value: str) -> bool:
    """True for "null" and for ids of the shape ``new_version_id`` makes."""
    return value == NULL_VERSION or (len(value) == ID_LENGTH and all(c in _ID_CHARS for c in value))


def require_null(bucket: str, key: str, version_id: str | None) -> None:
    """For stores without versions: only the null version (or none named) exists."""
    if version_id is not None and version_id != NULL_VERSION:
        raise NoSuchVersion(bucket, key, version_id)


def guard_before(
    guard: Callable[[ObjectInfo], None] | None, head: Callable[[], ObjectInfo]
) -> None:
    """For stores that cannot run a delete's guard atomically: call it right before,
    with the object ``head`` finds (none: nothing to guard)."""
    if guard is None:
        return
    try:
        current = head()
    except NoSuchKey:
        return
    guard(current)


def paginate_versions(
    seek: Seek,
    after: After,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    version_id_marker: str,
    max_keys: int,
) -> VersionPage:
    """One page of versions: after every version of ``key_marker``, or with
    ``version_id_marker`` after that version of it; each version, marker and common
    prefix counts once toward ``max_keys``."""

    def rows(lower: str, inclusive: bool) -> Iterator[ObjectInfo]:
        if version_id_marker and key_marker and lower == key_marker and not inclusive:
            yield from after(key_marker, version_id_marker)
        yield from seek(lower, inclusive)

    page = paginate(
        rows if version_id_marker else seek,
        prefix=prefix,
        delimiter=delimiter,
        start_after=key_marker,
        max_keys=max_keys,
    )
    return version_page(page)


def version_page(page: ObjectPage) -> VersionPage:
    """An ObjectPage whose objects are versions, with the markers of its last entry."""
    if not page.is_truncated or page.last is None:
        return VersionPage(page.objects, page.common_prefixes, page.is_truncated)
    if page.common_prefixes and page.common_prefixes[-1] == page.last:
        return VersionPage(page.objects, page.common_prefixes, True, page.last, None)
    return VersionPage(
        page.objects, page.common_prefixes, True, page.last, page.objects[-1].version_id
    )


def as_null_versions(page: ObjectPage) -> VersionPage:
    """A listing of current objects as their null versions (stores without versions)."""
    objects = [replace(o, version_id=NULL_VERSION, is_latest=True) for o in page.objects]
    return version_page(replace(page, objects=objects))
