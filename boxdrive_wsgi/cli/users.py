"""``boxdrive-wsgi user add|list|remove``: manage the users file.

The users file (``BOXDRIVE_USERS_FILE`` or ``--users-file``) is a JSON list of
users with their secrets; it is rewritten atomically with mode 0600. ``add``
prints a generated secret once; nothing else ever prints a secret.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..auth.credentials import User, generate_user, read_users_file, write_users_file

users_file_option = click.option(
    "--users-file",
    envvar="BOXDRIVE_USERS_FILE",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The users file (BOXDRIVE_USERS_FILE).",
)


def _load(path: Path) -> list[User]:
    if not path.exists():
        return []
    try:
        return read_users_file(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


@click.group()
def user() -> None:
    """Manage the users who may sign requests (the users file)."""


@user.command("add")
@click.argument("name")
@click.option("--access-key", default=None, help="Access key (default: generated).")
@click.option(
    "--secret-key",
    default=None,
    help="Secret key (default: generated and printed once). Prefer the generated one: "
    "a secret on the command line ends up in shell history.",
)
@click.option(
    "--admin",
    is_flag=True,
    help="The operator: also owns the buckets without a recorded owner (README: Access).",
)
@users_file_option
def add(
    name: str, access_key: str | None, secret_key: str | None, admin: bool, users_file: Path
) -> None:
    """Add user NAME with a new key pair."""
    users = _load(users_file)
    if any(u.name == name for u in users):
        raise click.ClickException(f"user {name!r} already exists in {users_file}")
    generated = generate_user(name)
    new = User(
        name=name,
        access_key=access_key or generated.access_key,
        secret_key=secret_key or generated.secret_key,
        admin=admin,
    )
    if any(u.access_key == new.access_key for u in users):
        raise click.ClickException(f"access key {new.access_key} is already in use")
    write_users_file(users_file, [*users, new])
    click.echo(f"added {'admin' if admin else 'user'} {name} to {users_file}")
    click.echo(f"  access key: {new.access_key}")
    if secret_key is None:
        click.echo(f"  secret key: {new.secret_key}")
        click.echo("  (the secret key is shown only now; it is kept in the users file)")


@user.command("list")
@users_file_option
def list_users(users_file: Path) -> None:
    """List users: name and access key (never secrets)."""
    users = _load(users_file)
    if not users:
        click.echo(f"no users in {users_file}", err=True)
        return
    width = max(len(u.name) for u in users)
    for u in users:
        click.echo(f"{u.name:<{width}}  {u.access_key}{'  admin' if u.admin else ''}")


@user.command("remove")
@click.argument("name", required=False)
@click.option("--access-key", default=None, help="Remove the user with this access key.")
@users_file_option
def remove(name: str | None, access_key: str | None, users_file: Path) -> None:
    """Remove user NAME (or the user with --access-key)."""
    if (name is None) == (access_key is None):
        raise click.UsageError("give either NAME or --access-key")
    users = _load(users_file)
    kept = [u for u in users if u.name != name and u.access_key != access_key]
    if len(kept) == len(users):
        which = f"user {name!r}" if name is not None else f"access key {access_key}"
        raise click.ClickException(f"{which} not found in {users_file}")
    write_users_file(users_file, kept)
    for u in users:
        if u not in kept:
            click.echo(f"removed user {u.name} ({u.access_key}) from {users_file}")
