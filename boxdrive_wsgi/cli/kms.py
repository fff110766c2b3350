"""``boxdrive-wsgi kms create|list`` and ``sse-master rotate|list``: the local KMS
keyring and the SSE-S3 master keys in the data dir (ids only are ever printed)."""

from __future__ import annotations

import click

from ..encryption.keys import master_keyring
from ..encryption.kms import local_kms
from .admin import data_dir_option


@click.group()
def kms() -> None:
    """Manage the local KMS: named keys for SSE-KMS (aws:kms)."""


@kms.command("create")
@click.argument("name")
@data_dir_option
def kms_create(name: str, data_dir: str) -> None:
    """Create the key NAME (clients name it in x-amz-server-side-encryption-aws-kms-key-id)."""
    try:
        local_kms(data_dir).keyring.add(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(name)


@kms.command("list")
@data_dir_option
def kms_list(data_dir: str) -> None:
    """List the key ids."""
    for key_id in local_kms(data_dir).keyring.ids():
        click.echo(key_id)


@click.group("sse-master")
def sse_master() -> None:
    """Manage SSE-S3 master keys kept in the data dir."""


@sse_master.command("rotate")
@data_dir_option
def master_rotate(data_dir: str) -> None:
    """Add a new master key, current from now on (old ones still decrypt)."""
    click.echo(master_keyring(data_dir, None, None).add())


@sse_master.command("list")
@data_dir_option
def master_list(data_dir: str) -> None:
    """List the master key ids (the last is current)."""
    for key_id in master_keyring(data_dir, None, None).ids():
        click.echo(key_id)
