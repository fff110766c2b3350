"""Changes to a users-file list of users: add, remove, rotate keys. Pure: the caller
reads and writes the file (``read_users_file``/``write_users_file``), as the CLI does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .credentials import User, generate_user


class UserEditError(ValueError):
    """The change cannot be made (duplicate name, unknown user...); the message says why."""


def add_user(users: Sequence[User], name: str, *, admin: bool = False) -> tuple[list[User], User]:
    """``users`` plus ``name`` with a generated key pair; returns (new list, new user)."""
    name = name.strip()
    if not name:
        raise UserEditError("a user needs a name")
    if any(u.name == name for u in users):
        raise UserEditError(f"user {name!r} already exists")
    new = replace(generate_user(name), admin=admin)
    if any(u.access_key == new.access_key for u in users):  # 36**20: never, but be sure
        raise UserEditError("generated access key collides; try again")
    return [*users, new], new


def remove_user(users: Sequence[User], name: str) -> list[User]:
    kept = [u for u in users if u.name != name]
    if len(kept) == len(users):
        raise UserEditError(f"user {name!r} not found")
    return kept


def rotate_keys(users: Sequence[User], name: str) -> tuple[list[User], User]:
    """A new access key and secret for ``name``. Ownership stays: a user's canonical id
    is its ``id`` or derived from its name, never from its keys."""
    for index, user in enumerate(users):
        if user.name == name:
            fresh = generate_user(name)
            rotated = replace(user, access_key=fresh.access_key, secret_key=fresh.secret_key)
            if not user.id:  # keep the id the old keys had, whatever derives it later
                rotated = replace(rotated, id=user.identity.id)
            return [*users[:index], rotated, *users[index + 1 :]], rotated
    raise UserEditError(f"user {name!r} not found")
