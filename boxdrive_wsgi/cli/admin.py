"""``boxdrive-wsgi fsck`` and ``boxdrive-wsgi stats`` for the filesystem store."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

import click

from ..stores.filesystem import DB_NAME, FilesystemStore
from ..stores.filesystem.fsck import Fsck, Problem

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    envvar="BOXDRIVE_DATA_DIR",
    default="./data",
    show_default=True,
    help="Filesystem store root (BOXDRIVE_DATA_DIR).",
)


def _open(data_dir: str) -> FilesystemStore:
    if not os.path.isfile(os.path.join(data_dir, DB_NAME)):
        raise click.ClickException(f"{data_dir}: no filesystem store here ({DB_NAME} missing)")
    return FilesystemStore(data_dir)


def _progress(items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
    """A progress bar on a terminal; on a pipe, a line every 10% (and the label)."""
    if sys.stderr.isatty():
        with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
            yield from bar
        return
    click.echo(f"fsck: {label}...", err=True)
    step = max(1, (length or 0) // 10)
    for done, item in enumerate(items, 1):
        if length and length >= 1000 and done % step == 0:
            click.echo(f"fsck: {label}: {done}/{length}", err=True)
        yield item


@click.command()
@data_dir_option
@click.option("--repair", is_flag=True, help="Remove what is found (else only report).")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="Only files untouched for this many seconds (protects uploads in progress).",
)
@click.option(
    "--uploads-older-than",
    type=click.FloatRange(min=0),
    default=7 * 86400.0,
    show_default=True,
    help="Multipart uploads initiated this many seconds ago count as abandoned.",
)
def fsck(data_dir: str, repair: bool, older_than: float, uploads_older_than: float) -> None:
    """Check a filesystem store: stale temp files, orphan content and part files,
    abandoned multipart uploads, missing content. Exits 1 if problems remain."""
    store = _open(data_dir)
    checker = Fsck(store, older_than=older_than, uploads_older_than=uploads_older_than)
    found = repaired = 0
    remaining: list[Problem] = []

    def handle(problem: Problem) -> None:
        nonlocal found, repaired
        found += 1
        if repair and problem.repairable and checker.repair(problem):
            repaired += 1
            click.echo(f"removed {problem.describe()}")
        else:
            remaining.append(problem)
            click.echo(problem.describe())

    try:
        for problem in checker.temp_files():
            handle(problem)
        for directory in _progress(checker.content_dirs(), "content files"):
            for problem in list(checker.orphans_in(directory)):
                handle(problem)
        for _, missing in _progress(
            checker.missing_content(), "index entries", length=checker.object_count()
        ):
            if missing is not None:
                handle(missing)
        for problem in list(checker.abandoned_uploads()):
            handle(problem)
        for problem in list(checker.orphan_parts()):
            handle(problem)
    finally:
        store.close()
    click.echo(
        f"fsck: {found} problem(s) found, {repaired} repaired, {len(remaining)} remaining",
        err=True,
    )
    if remaining:
        if not repair and any(p.repairable for p in remaining):
            click.echo("fsck: run with --repair to remove them", err=True)
        sys.exit(1)


@click.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def stats(data_dir: str, as_json: bool) -> None:
    """Buckets, objects and bytes per bucket and in total (from the index)."""
    store = _open(data_dir)
    try:
        rows = store.bucket_stats()
    finally:
        store.close()
    total_objects = sum(r[1] for r in rows)
    total_bytes = sum(r[2] for r in rows)
    if as_json:
        doc = {
            "buckets": [{"name": n, "objects": o, "bytes": b} for n, o, b in rows],
            "total": {"buckets": len(rows), "objects": total_objects, "bytes": total_bytes},
        }
        click.echo(json.dumps(doc, indent=2))
        return
    width = max([len("BUCKET"), *(len(n) for n, _, _ in rows)])
    click.echo(f"{'BUCKET':<{width}}  {'OBJECTS':>12}  {'BYTES':>16}")
    for name, objects, size in rows:
        click.echo(f"{name:<{width}}  {objects:>12}  {size:>16}")
    click.echo(f"{'TOTAL':<{width}}  {total_objects:>12}  {total_bytes:>16}")
    click.echo(f"{len(rows)} bucket(s)")
