"""``boxdrive-wsgi user group create|delete|list|add|remove|policy``: the users file's
groups. A group has identity policies; its members get them on top of their own
(README: Access). Members are named on the users (``User.groups``), so removing a user
leaves no stale membership behind.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..auth.credentials import Group, UsersFile, write_users_file
from .users import (
    count_policies,
    load_users_file,
    new_policies,
    read_policy_file,
    users_file_option,
)


def _group(content: UsersFile, name: str, users_file: Path) -> Group:
    found = next((g for g in content.groups if g.name == name), None)
    if found is None:
        raise click.ClickException(f"group {name!r} not found in {users_file}")
    return found


def _member_names(content: UsersFile, name: str) -> list[str]:
    return [u.name for u in content.users if name in u.groups]


@click.group("group")
def group() -> None:
    """Manage groups: identity policies their members share."""


@group.command("create")
@click.argument("name")
@click.argument("policy_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@users_file_option
def create(name: str, policy_file: Path | None, users_file: Path) -> None:
    """Create group NAME, with the policies of POLICY_FILE (one policy document or a
    JSON list of them) if given."""
    name = name.strip()
    if not name:
        raise click.UsageError("a group needs a name")
    content = load_users_file(users_file)
    if any(g.name == name for g in content.groups):
        raise click.ClickException(f"group {name!r} already exists in {users_file}")
    policies = read_policy_file(policy_file) if policy_file is not None else ()
    write_users_file(users_file, content.users, [*content.groups, Group(name, policies)])
    click.echo(f"created group {name} ({count_policies(len(policies))}) in {users_file}")


@group.command("delete")
@click.argument("name")
@users_file_option
def delete(name: str, users_file: Path) -> None:
    """Delete group NAME; its members leave it (and lose its policies)."""
    content = load_users_file(users_file)
    _group(content, name, users_file)
    members = _member_names(content, name)
    users = [replace(u, groups=tuple(g for g in u.groups if g != name)) for u in content.users]
    write_users_file(users_file, users, [g for g in content.groups if g.name != name])
    left = f"; {', '.join(members)} left it" if members else ""
    click.echo(f"deleted group {name} from {users_file}{left}")


@group.command("list")
@users_file_option
def list_groups(users_file: Path) -> None:
    """List groups: name, number of policies, members."""
    content = load_users_file(users_file)
    if not content.groups:
        click.echo(f"no groups in {users_file}", err=True)
        return
    width = max(len(g.name) for g in content.groups)
    for g in content.groups:
        members = ",".join(_member_names(content, g.name)) or "-"
        click.echo(f"{g.name:<{width}}  {count_policies(len(g.policies))}  members: {members}")


def _membership(group_name: str, user_name: str, users_file: Path, *, join: bool) -> None:
    content = load_users_file(users_file)
    _group(content, group_name, users_file)
    user = next((u for u in content.users if u.name == user_name), None)
    if user is None:
        raise click.ClickException(f"user {user_name!r} not found in {users_file}")
    if (group_name in user.groups) == join:
        state = "already" if join else "not"
        raise click.ClickException(f"user {user_name!r} is {state} in group {group_name!r}")
    groups = (
        (*user.groups, group_name) if join else tuple(g for g in user.groups if g != group_name)
    )
    users = [replace(u, groups=groups) if u is user else u for u in content.users]
    write_users_file(users_file, users, content.groups)
    click.echo(f"{user_name} {'joined' if join else 'left'} group {group_name}")


@group.command("add")
@click.argument("group_name", metavar="GROUP")
@click.argument("user_name", metavar="USER")
@users_file_option
def add_member(group_name: str, user_name: str, users_file: Path) -> None:
    """Make USER a member of GROUP."""
    _membership(group_name, user_name, users_file, join=True)


@group.command("remove")
@click.argument("group_name", metavar="GROUP")
@click.argument("user_name", metavar="USER")
@users_file_option
def remove_member(group_name: str, user_name: str, users_file: Path) -> None:
    """Take USER out of GROUP."""
    _membership(group_name, user_name, users_file, join=False)


@group.command("policy")
@click.argument("name")
@click.argument("policy_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clear", is_flag=True, help="Remove the group's policies.")
@users_file_option
def policy(name: str, policy_file: Path | None, clear: bool, users_file: Path) -> None:
    """Show, set (from POLICY_FILE) or --clear the identity policies of group NAME."""
    content = load_users_file(users_file)
    found = _group(content, name, users_file)
    texts = new_policies(name, found.policies, policy_file, clear)
    if texts is None:
        return
    groups = [replace(g, policies=texts) if g is found else g for g in content.groups]
    write_users_file(users_file, content.users, groups)
    click.echo(f"{name}: {count_policies(len(texts))} in {users_file}")
