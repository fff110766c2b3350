"""ListObjectVersions cost at two bucket sizes (issue 14: a 1k page in a bucket of 100k
versions costs at most 1.5x the same page with 1k versions).

The versions are written straight into the filesystem store's index (10 per key, the
newest in ``objects``, the rest in ``versions``) by the helper of
tests/stores/test_filesystem_versions.py: 100k fsynced puts would take far longer and a
listing never opens content files.
Each page starts after a random key (seeded), through the store API (no HTTP).

    PYTHONPATH=$PWD python bench/list_versions.py [--sizes 1000,100000] [--pages 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package

from boxdrive_wsgi.stores.filesystem import FilesystemStore
from tests.stores.test_filesystem_versions import fill_versions

BUCKET = "versions"
PER_KEY = 10


def seed(root: Path, versions: int) -> FilesystemStore:
    store = FilesystemStore(root)
    store.create_bucket(BUCKET)
    store.set_bucket_versioning(BUCKET, "Enabled")
    fill_versions(root, versions // PER_KEY, PER_KEY, BUCKET)
    return store


def one_page(store: FilesystemStore, versions: int, rng: random.Random, size: int) -> float:
    """CPU seconds (of this process: robust to a busy machine) of one page of ``size``
    versions starting after a random key."""
    keys = versions // PER_KEY
    last = max(0, keys - size // PER_KEY - 1)
    marker = f"k{rng.randrange(last + 1):06d}" if last else ""
    start = time.process_time()
    page = store.list_object_versions(BUCKET, key_marker=marker, max_keys=size)
    spent = time.process_time() - start
    assert len(page.versions) == min(size, versions), len(page.versions)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    times: dict[int, list[float]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {size: seed(Path(tmp) / str(size), size) for size in sizes}
        try:
            rng = random.Random(14)
            for round_ in range(args.pages + 5):  # interleaved: noise hits every size alike
                for size, store in stores.items():
                    spent = one_page(store, size, rng, args.page_size)
                    if round_ >= 5:  # the first rounds warm the page cache
                        times[size].append(spent)
        finally:
            for store in stores.values():
                store.close()
    medians = {size: statistics.median(t) for size, t in times.items()}
    report: dict[str, float] = {
        f"median_page_cpu_ms@{size}": round(m * 1000, 2) for size, m in medians.items()
    }
    report["ratio"] = round(medians[sizes[-1]] / medians[sizes[0]], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
