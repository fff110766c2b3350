"""``boxdrive-wsgi lifecycle run``: one pass of every bucket's lifecycle rules, for a
cron job or a systemd timer. The store is the one the BOXDRIVE_* settings name (as
``serve`` opens it); one sweeper at a time per data directory (see lifecycle/runner.py)."""

from __future__ import annotations

import click

from ..application import share_uploads
from ..lifecycle import run_once
from ..settings import Settings
from ..stores.factory import store_from_settings


@click.group()
def lifecycle() -> None:
    """Lifecycle rules: apply them (expirations, noncurrent versions, uploads)."""


@lifecycle.command("run")
@click.option("--bucket", "buckets", multiple=True, help="Only this bucket (repeatable).")
@click.option(
    "--day-seconds",
    type=click.IntRange(min=1),
    default=None,
    help="Length of a lifecycle day (BOXDRIVE_LIFECYCLE_DAY_SECONDS; shorter for tests).",
)
def run(buckets: tuple[str, ...], day_seconds: int | None) -> None:
    """Apply the buckets' lifecycle rules once. Exits 1 if a bucket failed."""
    settings = Settings.from_env()
    if day_seconds is not None:
        settings = settings.replace(lifecycle_day_seconds=day_seconds)
    store = store_from_settings(settings)
    share_uploads(store, settings)
    try:
        report = run_once(store, settings, buckets=list(buckets) or None)
    finally:
        store.close()
    if report is None:
        click.echo("lifecycle: another sweeper is running on this data directory; skipped")
        return
    click.echo(f"lifecycle: {report.summary()}")
    for error in report.errors:
        click.echo(f"lifecycle: error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)
