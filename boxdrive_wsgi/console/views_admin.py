"""The operator's pages: health, usage per bucket and per user, users and their keys
(the users file, as ``boxdrive-wsgi user`` edits it), and the data dir's fsck report."""

from __future__ import annotations

import shutil
from collections import defaultdict
from importlib import metadata

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ..auth.credentials import User, credentials_from_settings, read_users_file, write_users_file
from ..auth.identity import Identity
from ..auth.user_edits import UserEditError, add_user, remove_user, rotate_keys
from ..protocol.errors import S3Error
from ..stores.filesystem import FilesystemStore
from ..stores.filesystem.fsck import Fsck, Problem
from .state import ConsoleState, page, require_identity, session
from .usage import Usage, bucket_usage

FSCK_OLDER_THAN = 3600.0
FSCK_UPLOADS_OLDER_THAN = 7 * 86400.0


def register(blueprint: Blueprint, state: ConsoleState) -> None:
    def operator() -> Identity:
        me = require_identity()
        if not me.admin:
            raise S3Error("AccessDenied", "The admin pages are the operator's.")
        return me

    @blueprint.get("/admin", endpoint="admin")
    def overview() -> tuple[str, int]:
        operator()
        store = state.gateway.store
        buckets = store.list_buckets()
        usage = bucket_usage(store, [b.name for b in buckets])
        per_owner: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for bucket in buckets:
            owner = _owner_name(state, bucket.owner)
            totals = per_owner[owner]
            totals[0] += 1
            totals[1] += usage[bucket.name].objects
            totals[2] += usage[bucket.name].bytes
        return page(
            "admin.html",
            health=_health(state),
            buckets=[(b, _owner_name(state, b.owner), usage[b.name]) for b in buckets],
            per_owner=sorted(per_owner.items()),
            total=Usage(
                sum(u.objects for u in usage.values()), sum(u.bytes for u in usage.values())
            ),
        )

    @blueprint.get("/admin/users", endpoint="admin_users")
    def users() -> tuple[str, int]:
        me = operator()
        return _users_page(state, me)

    @blueprint.post("/admin/users", endpoint="admin_users_change")
    def change_users() -> Response | tuple[str, int]:
        me = operator()
        path = state.settings.users_file
        if not path:
            raise S3Error("InvalidRequest", "No users file is configured (BOXDRIVE_USERS_FILE).")
        action = request.form.get("action", "")
        name = request.form.get("name", "").strip()
        current = read_users_file(path)
        mine = any(u.name == name and u.access_key == me.access_key for u in current)
        shown: User | None = None
        try:
            if action == "add":
                current, shown = add_user(current, name, admin=request.form.get("admin") == "on")
            elif action == "remove":
                if any(u.name == name and u.access_key == me.access_key for u in current):
                    raise UserEditError("You cannot remove the user you are logged in as.")
                current = remove_user(current, name)
            elif action == "rotate":
                current, shown = rotate_keys(current, name)
            else:
                raise UserEditError(f"unknown action {action!r}")
        except UserEditError as error:
            session().flash(str(error), "error")
            return _users_page(state, me, status=400)
        write_users_file(path, current)
        fresh = credentials_from_settings(state.settings)
        state.credentials.reload(fresh.users, fresh.groups)  # the file's groups too
        if shown is None:
            session().flash(f"User {name} removed.", "success")
            return _users_page(state, me)
        if action == "rotate" and mine:
            session().log_in(shown.access_key)  # one's own new keys: stay logged in
        # The one page that shows a secret: right after it was made, never again.
        return page("admin_keys.html", user=shown, rotated=action == "rotate")

    @blueprint.route("/admin/fsck", methods=["GET", "POST"], endpoint="admin_fsck")
    def fsck() -> tuple[str, int]:
        operator()
        store = state.raw_store
        if not isinstance(store, FilesystemStore):
            return page("admin_fsck.html", supported=False, problems=None)
        if request.method == "GET":
            return page("admin_fsck.html", supported=True, problems=None)
        return page("admin_fsck.html", supported=True, problems=_check(store))


def _users_page(state: ConsoleState, me: Identity, status: int = 200) -> tuple[str, int]:
    path = state.settings.users_file
    in_file = read_users_file(path) if path else []
    file_keys = {u.access_key for u in in_file}
    others = [u for u in state.credentials.users if u.access_key not in file_keys]
    return page(
        "admin_users.html",
        status,
        users_file=path,
        users=in_file,
        others=others,
        me_key=me.access_key,
    )


def _owner_name(state: ConsoleState, owner: str | None) -> str:
    if owner is None:
        return "(operator)"
    return state.credentials.display_name(owner) or owner


def _health(state: ConsoleState) -> dict[str, str]:
    store = state.gateway.store
    facts = {
        "version": _version(),
        "store": type(state.raw_store).__name__,
        "region": state.settings.region,
    }
    try:
        store.list_buckets()
        full = store.storage_full()
        facts["status"] = "not ready: storage full" if full else "ready"
    except Exception as error:  # the readiness probe's rule: any failure means not ready
        facts["status"] = f"not ready: {type(error).__name__}"
    raw = state.raw_store
    if isinstance(raw, FilesystemStore):
        disk = shutil.disk_usage(raw.root)
        facts["disk free"] = f"{disk.free / 2**30:.1f} GiB of {disk.total / 2**30:.1f} GiB"
    facts["users"] = str(len(state.credentials.users))
    return facts


def _check(store: FilesystemStore) -> list[Problem]:
    """The fsck report, read-only: the console never removes what it finds."""
    checker = Fsck(store, older_than=FSCK_OLDER_THAN, uploads_older_than=FSCK_UPLOADS_OLDER_THAN)
    problems = list(checker.temp_files())
    for directory in checker.content_dirs():
        problems += checker.orphans_in(directory)
    problems += [p for _, p in checker.missing_content() if p is not None]
    problems += checker.abandoned_uploads()
    problems += checker.orphan_parts()
    return problems


def _version() -> str:
    try:
        return metadata.version("boxdrive-wsgi")
    except metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"
