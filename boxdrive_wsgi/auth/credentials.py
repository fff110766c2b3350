"""Users and their keys: from settings, a users file, or generated on first start.

There is no well-known default secret. With no credentials configured, the
first start generates a random key pair, keeps it in the data dir (mode 0600)
and prints it; every later start (and every other worker process) reads the
same file.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..policy import PolicyError, parse_policy
from .identity import ANONYMOUS, Identity

if TYPE_CHECKING:  # settings sit above auth; auth stays free of the web layer
    from ..settings import Settings

GENERATED_FILE = "credentials.json"
#: A directory this module creates (the data dir, the users file's) is the owner's alone.
PRIVATE_DIR_MODE = 0o700
_ACCESS_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class User:
    name: str
    access_key: str
    secret_key: str
    id: str = ""
    display_name: str = ""
    email: str = ""
    #: the operator (see Identity.admin): BOXDRIVE_ACCESS_KEY's user, the generated one,
    #: and users-file entries with ``"admin": true``.
    admin: bool = False
    #: identity policies (JSON documents without Principal): when a user has any (its own
    #: or its groups'), they decide with the bucket's side (README: Access).
    policies: tuple[str, ...] = ()
    #: the names of the groups (``Group``) the user is a member of
    groups: tuple[str, ...] = ()

    @cached_property  # asked on every request this user signs; a User never changes
    def identity(self) -> Identity:
        named = Identity.named(self.name, self.access_key)
        return Identity(
            id=self.id or named.id,
            display_name=self.display_name or self.name,
            access_key=self.access_key,
            admin=self.admin,
        )

    def __repr__(self) -> str:  # never print a secret by accident
        admin = ", admin=True" if self.admin else ""
        return f"User(name={self.name!r}, access_key={self.access_key!r}{admin})"


@dataclass(frozen=True)
class Group:
    """A users-file group: its members (``User.groups``) get its identity policies."""

    name: str
    policies: tuple[str, ...] = ()


_TEXT_FIELDS = frozenset(f.name for f in fields(User)) - {"admin", "policies", "groups"}


@dataclass(frozen=True)
class _Index:
    """Users by access key and groups by name: swapped as one by ``reload``."""

    by_key: dict[str, User]
    groups: dict[str, Group]


def _index(users: Iterable[User], groups: Iterable[Group]) -> _Index:
    by_key: dict[str, User] = {}
    for user in users:
        if user.access_key in by_key:
            raise ValueError(f"duplicate access key for user {user.name!r}")
        by_key[user.access_key] = user
    by_name: dict[str, Group] = {}
    for group in groups:
        if group.name in by_name:
            raise ValueError(f"duplicate group {group.name!r}")
        by_name[group.name] = group
    for user in by_key.values():
        unknown = [name for name in user.groups if name not in by_name]
        if unknown:
            raise ValueError(f"user {user.name!r} is in unknown group {unknown[0]!r}")
    return _Index(by_key, by_name)


class Credentials:
    """Look users up by access key; the identity policies they get from their groups."""

    def __init__(self, users: Iterable[User], groups: Iterable[Group] = ()) -> None:
        self._index = _index(users, groups)

    def reload(self, users: Iterable[User], groups: Iterable[Group] = ()) -> None:
        """Swap in another set of users and groups at once (the console's user admin).
        Other processes serving the same users file see the change when they restart."""
        self._index = _index(users, groups)

    def lookup(self, access_key: str) -> User | None:
        return self._index.by_key.get(access_key)

    def policies_of(self, user: User) -> tuple[str, ...]:
        """``user``'s identity policies: its own, then each of its groups' in order."""
        groups = self._index.groups
        return user.policies + tuple(
            text for name in user.groups if name in groups for text in groups[name].policies
        )

    @property
    def users(self) -> list[User]:
        return list(self._index.by_key.values())

    @property
    def groups(self) -> list[Group]:
        return list(self._index.groups.values())

    def display_name(self, owner_id: str) -> str | None:
        for user in self._index.by_key.values():
            if user.identity.id == owner_id:
                return user.identity.display_name
        return None


def generate_user(name: str = "admin") -> User:
    access_key = "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(20))
    return User(name=name, access_key=access_key, secret_key=secrets.token_urlsafe(30))


@dataclass(frozen=True)
class UsersFile:
    """What a users file holds: users and the groups they may be members of."""

    users: list[User]
    groups: list[Group]


def read_users_file(path: str | os.PathLike[str]) -> list[User]:
    return read_users_and_groups(path).users


def read_users_and_groups(path: str | os.PathLike[str]) -> UsersFile:
    """A users file: a JSON list of users (the format of files without groups), or an
    object ``{"users": [...], "groups": [{"name": ..., "policies": [...]}, ...]}``."""
    with open(path, encoding="utf-8") as handle:
        content = json.load(handle)
    groups: list[Group] = []
    entries = content
    if isinstance(content, dict) and isinstance(content.get("users"), list):
        entries = content["users"]
        groups = _groups(path, content.get("groups", []))
    if not isinstance(entries, list):
        raise ValueError(
            f"{path}: expected a JSON list of users, or an object with users and groups"
        )
    users = _users(path, entries)
    try:
        _index(users, groups)  # unknown groups, duplicate group names
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return UsersFile(users, groups)


def _groups(path: str | os.PathLike[str], raw: object) -> list[Group]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: groups must be a list of groups")
    groups = []
    for entry in raw:
        if not isinstance(entry, dict) or not _is_name(entry.get("name")):
            raise ValueError(f"{path}: each group needs a name (a non-empty string)")
        groups.append(Group(entry["name"], _policies(path, entry)))
    return groups


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _users(path: str | os.PathLike[str], entries: list[object]) -> list[User]:
    users = []
    for entry in entries:
        if not isinstance(entry, dict) or not {"name", "access_key", "secret_key"} <= set(entry):
            raise ValueError(f"{path}: each user needs name, access_key and secret_key")
        for required in ("name", "access_key", "secret_key"):
            if not isinstance(entry[required], str) or not entry[required].strip():
                raise ValueError(f"{path}: {required} must be a non-empty string")
        users.append(_user_from_entry(path, entry))
    return users


def _user_from_entry(path: str | os.PathLike[str], entry: dict[str, object]) -> User:
    admin = entry.get("admin", False)
    if not isinstance(admin, bool):
        raise ValueError(f"{path}: admin must be true or false")
    known = {k: str(v) for k, v in entry.items() if k in _TEXT_FIELDS}
    if known.get("id") == ANONYMOUS.id:  # would own what unsigned requests create
        raise ValueError(f"{path}: the id {ANONYMOUS.id!r} is reserved")
    groups = entry.get("groups", [])
    if not isinstance(groups, list) or not all(_is_name(g) for g in groups):
        raise ValueError(f"{path}: {entry['name']}: groups must be a list of group names")
    return User(**known, admin=admin, policies=_policies(path, entry), groups=tuple(groups))


def _policies(path: str | os.PathLike[str], entry: dict[str, object]) -> tuple[str, ...]:
    """A user's or group's ``"policies"``: a list of policy documents (objects),
    validated now so that a bad one stops the server at start, naming whose it is and
    what is wrong."""
    raw = entry.get("policies", [])
    if not isinstance(raw, list):
        raise ValueError(f"{path}: {entry['name']}: policies must be a list of policies")
    texts = []
    for document in raw:
        text = json.dumps(document, separators=(",", ":"))
        try:
            parse_policy(text, require_principal=False)
        except PolicyError as error:
            raise ValueError(f"{path}: {entry['name']}: bad policy: {error}") from None
        texts.append(text)
    return tuple(texts)


def write_users_file(
    path: str | os.PathLike[str], users: Iterable[User], groups: Iterable[Group] | None = None
) -> None:
    """Write atomically with mode 0600: the file holds secrets. ``groups`` None keeps
    the groups the file has (an edit of its users leaves them alone). Without groups
    the file is the plain list of users it always was."""
    target = Path(path)
    if groups is None:
        groups = read_users_and_groups(target).groups if target.exists() else []
    users, groups = list(users), list(groups)
    _index(users, groups)  # never write a file that would not load
    target.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    content: object = [_entry(u) for u in users]
    if groups:
        content = {"users": content, "groups": [_group_entry(g) for g in groups]}
    data = json.dumps(content, indent=2).encode()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, target)


def _entry(user: User) -> dict[str, object]:
    entry: dict[str, object] = asdict(user)
    if not user.admin:
        del entry["admin"]  # files stay as they were for plain users
    del entry["policies"], entry["groups"]
    if user.policies:
        entry["policies"] = [json.loads(text) for text in user.policies]
    if user.groups:
        entry["groups"] = list(user.groups)
    return entry


def _group_entry(group: Group) -> dict[str, object]:
    return {"name": group.name, "policies": [json.loads(text) for text in group.policies]}


def generated_credentials(data_dir: str | os.PathLike[str]) -> tuple[User, bool]:
    """The generated user kept in ``data_dir``, creating it if absent.

    Returns ``(user, created)``. Safe when several processes start at once: the
    file is created with a hard link, which fails if another process won.
    """
    target = Path(data_dir) / GENERATED_FILE
    if not target.exists():
        target.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        candidate = target.with_name(f".{GENERATED_FILE}.{secrets.token_hex(4)}.tmp")
        write_users_file(candidate, [generate_user()])
        try:
            os.link(candidate, target)
            created = True
        except FileExistsError:
            created = False
        finally:
            os.unlink(candidate)
    else:
        created = False
    users = read_users_file(target)
    if len(users) != 1:
        raise ValueError(f"{target}: expected exactly one generated user")
    return users[0], created


def announce(user: User, path: Path, created: bool) -> None:
    """Tell the operator which keys to use; the secret only when just generated."""
    if created:
        message = (
            f"boxdrive-wsgi: generated credentials (kept in {path}, mode 0600)\n"
            f"  access key: {user.access_key}\n  secret key: {user.secret_key}\n"
        )
    else:
        message = f"boxdrive-wsgi: access key {user.access_key} (secret key in {path})\n"
    sys.stderr.write(message)


def credentials_from_settings(settings: Settings) -> Credentials:
    """All configured users; generates one in the data dir when none is configured
    and anonymous access is off."""
    users: list[User] = []
    groups: list[Group] = []
    if settings.users_file:
        content = read_users_and_groups(settings.users_file)
        users, groups = content.users, content.groups
    if bool(settings.access_key) != bool(settings.secret_key):
        raise ValueError("set both BOXDRIVE_ACCESS_KEY and BOXDRIVE_SECRET_KEY, or neither")
    if settings.access_key and settings.secret_key:
        users.append(
            User(
                name="admin",
                access_key=settings.access_key,
                secret_key=settings.secret_key,
                admin=True,
            )
        )
    if not users and not settings.anonymous:
        user, created = generated_credentials(settings.data_dir)
        announce(user, Path(settings.data_dir) / GENERATED_FILE, created)
        users.append(replace(user, admin=True))
    return Credentials(users, groups)
