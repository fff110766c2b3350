"""``boxdrive-wsgi user add|list|remove|policy``: manage the users file (its groups:
``cli.groups``).

The users file (``BOXDRIVE_USERS_FILE`` or ``--users-file``) is a JSON list of
users with their secrets; it is rewritten atomically with mode 0600. ``add``
prints a generated secret once; nothing else ever prints a secret.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from ..auth.credentials import (
    User,
    UsersFile,
    generate_user,
    read_users_and_groups,
    write_users_file,
)
from ..policy import PolicyError, parse_policy

users_file_option = click.option(
    "--users-file",
    envvar="BOXDRIVE_USERS_FILE",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The users file (BOXDRIVE_USERS_FILE).",
)


def load_users_file(path: Path) -> UsersFile:
    if not path.exists():
        return UsersFile([], [])
    try:
        return read_users_and_groups(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


def _load(path: Path) -> list[User]:
    return load_users_file(path).users


def read_policy_file(policy_file: Path) -> tuple[str, ...]:
    """POLICY_FILE's documents (one policy, or a JSON list of them), validated, compact."""
    try:
        loaded = json.loads(policy_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {policy_file}: {exc}") from exc
    documents = loaded if isinstance(loaded, list) else [loaded]
    for document in documents:
        try:
            parse_policy(json.dumps(document), require_principal=False)
        except PolicyError as exc:
            raise click.ClickException(f"{policy_file}: {exc}") from exc
    return tuple(json.dumps(d, separators=(",", ":")) for d in documents)


def new_policies(
    owner: str, current: tuple[str, ...], policy_file: Path | None, clear: bool
) -> tuple[str, ...] | None:
    """``policy NAME [POLICY_FILE] [--clear]``: the policies to set, or None once the
    current ones are shown (neither POLICY_FILE nor --clear)."""
    if clear and policy_file is not None:
        raise click.UsageError("give POLICY_FILE or --clear, not both")
    if policy_file is not None:
        return read_policy_file(policy_file)
    if clear:
        return ()
    documents = [json.loads(text) for text in current]
    click.echo(json.dumps(documents, indent=2) if documents else f"{owner} has no policies")
    return None


def count_policies(count: int) -> str:
    return f"{count} polic{'y' if count == 1 else 'ies'}"


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
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="Make the user a member of this group (repeatable; `user group create` first).",
)
@users_file_option
def add(
    name: str,
    access_key: str | None,
    secret_key: str | None,
    admin: bool,
    groups: tuple[str, ...],
    users_file: Path,
) -> None:
    """Add user NAME with a new key pair."""
    content = load_users_file(users_file)
    users = content.users
    known = {g.name for g in content.groups}
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise click.ClickException(f"group {unknown[0]!r} not found in {users_file}")
    if any(u.name == name for u in users):
        raise click.ClickException(f"user {name!r} already exists in {users_file}")
    generated = generate_user(name)
    new = User(
        name=name,
        access_key=access_key or generated.access_key,
        secret_key=secret_key or generated.secret_key,
        admin=admin,
        groups=tuple(dict.fromkeys(groups)),
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
        policies = f"  {count_policies(len(u.policies))}" if u.policies else ""
        groups = f"  groups: {','.join(u.groups)}" if u.groups else ""
        admin = "  admin" if u.admin else ""
        click.echo(f"{u.name:<{width}}  {u.access_key}{admin}{policies}{groups}")


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


@user.command("policy")
@click.argument("name")
@click.argument("policy_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clear", is_flag=True, help="Remove the user's policies.")
@users_file_option
def policy(name: str, policy_file: Path | None, clear: bool, users_file: Path) -> None:
    """Show, set (from POLICY_FILE: one policy document or a JSON list of them) or
    --clear the identity policies of user NAME (its groups' apply too: ``user group``).
    How they combine with ownership, ACLs and bucket policies: README, Access."""
    users = _load(users_file)
    found = next((u for u in users if u.name == name), None)
    if found is None:
        raise click.ClickException(f"user {name!r} not found in {users_file}")
    texts = new_policies(name, found.policies, policy_file, clear)
    if texts is None:
        return
    updated = [replace(u, policies=texts) if u.name == name else u for u in users]
    write_users_file(users_file, updated)
    click.echo(f"{name}: {count_policies(len(texts))} in {users_file}")
