"""Objects and bytes per bucket: from a store's own index when it keeps one
(``bucket_stats``, the filesystem store), else by walking the listing, up to a limit so
that a page never waits on a bucket of millions of keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..stores.base import ObjectStore

#: Keys counted per bucket when the store has no index to ask; past it: "at least".
WALK_LIMIT = 100_000
#: Keys per listing call of the walk.
_PAGE = 1000


@dataclass(frozen=True)
class Usage:
    objects: int
    bytes: int
    #: False when the walk stopped at WALK_LIMIT: the figures are lower bounds.
    complete: bool = True


def bucket_usage(store: ObjectStore, buckets: Iterable[str]) -> dict[str, Usage]:
    names = list(buckets)
    stats: Callable[[], list[tuple[str, int, int]]] | None = getattr(store, "bucket_stats", None)
    if callable(stats):
        known = {name: Usage(objects, size) for name, objects, size in stats()}
        if all(name in known for name in names):
            return {name: known[name] for name in names}
    return {name: _walk(store, name) for name in names}


def _walk(store: ObjectStore, bucket: str) -> Usage:
    objects = size = 0
    after = ""
    while objects < WALK_LIMIT:
        page = store.list_objects(
            bucket, start_after=after, max_keys=min(_PAGE, WALK_LIMIT - objects)
        )
        objects += len(page.objects)
        size += sum(o.size for o in page.objects)
        if not page.is_truncated or page.last is None:
            return Usage(objects, size)
        after = page.last
    return Usage(objects, size, complete=False)


def human_size(size: int) -> str:
    """1536 -> "1.5 KiB"; exact bytes stay available in the page's title attribute."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
