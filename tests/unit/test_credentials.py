"""auth.credentials: generated keys, the users file, and never leaking a secret."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from boxdrive_wsgi.auth.credentials import (
    GENERATED_FILE,
    Credentials,
    Group,
    User,
    UsersFile,
    credentials_from_settings,
    generate_user,
    generated_credentials,
    read_users_and_groups,
    read_users_file,
    write_users_file,
)
from boxdrive_wsgi.settings import Settings

#: Secrets other S3 servers ship as defaults; none of them may ever work here.
WELL_KNOWN = {"minioadmin", "test", "admin", "secret", "password", "changeme", ""}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_keys_are_random() -> None:
    users = [generate_user() for _ in range(50)]
    assert len({u.access_key for u in users}) == 50
    assert len({u.secret_key for u in users}) == 50
    for u in users:
        assert len(u.access_key) == 20 and u.access_key.isalnum()
        assert len(u.secret_key) >= 40  # 30 random bytes, url-safe base64


def test_generated_file_is_private_and_reused(tmp_path: Path) -> None:
    first, created = generated_credentials(tmp_path)
    assert created
    path = tmp_path / GENERATED_FILE
    assert mode(path) == 0o600
    again, created_again = generated_credentials(tmp_path)
    assert not created_again
    assert (again.access_key, again.secret_key) == (first.access_key, first.secret_key)
    assert [p.name for p in tmp_path.iterdir()] == [GENERATED_FILE]  # no temp files left


def test_each_data_dir_gets_its_own_pair(tmp_path: Path) -> None:
    a, _ = generated_credentials(tmp_path / "a")
    b, _ = generated_credentials(tmp_path / "b")
    assert a.access_key != b.access_key and a.secret_key != b.secret_key


def _start_and_report(data_dir: str, go: Any, results: Any) -> None:
    go.wait(10)
    user, created = generated_credentials(data_dir)
    results.put((user.access_key, user.secret_key, created))


def test_processes_starting_at_once_agree_on_one_pair(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    go, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_start_and_report, args=(str(tmp_path), go, results)) for _ in range(12)
    ]
    for proc in procs:
        proc.start()
    go.set()
    reports = [results.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(10)
        assert proc.exitcode == 0
    assert len({(ak, sk) for ak, sk, _ in reports}) == 1
    assert sum(created for _, _, created in reports) == 1  # exactly one announces the secret
    on_disk = read_users_file(tmp_path / GENERATED_FILE)
    assert (on_disk[0].access_key, on_disk[0].secret_key) == reports[0][:2]
    assert mode(tmp_path / GENERATED_FILE) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [GENERATED_FILE]


def test_no_default_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing configured: a fresh random pair, announced once, never a well-known one.
    creds = credentials_from_settings(Settings(data_dir=str(tmp_path / "one")))
    (user,) = creds.users
    assert user.secret_key not in WELL_KNOWN and user.access_key not in WELL_KNOWN
    first_start = capsys.readouterr().err
    assert user.secret_key in first_start  # the one intended print of a secret
    other = credentials_from_settings(Settings(data_dir=str(tmp_path / "two"))).users[0]
    assert other.secret_key != user.secret_key
    capsys.readouterr()
    # A restart names the key but not the secret.
    again = credentials_from_settings(Settings(data_dir=str(tmp_path / "one"))).users[0]
    restart = capsys.readouterr().err
    assert again.access_key in restart and again.secret_key not in restart
    # Anonymous mode with nothing configured: no user at all, nothing written.
    anon = credentials_from_settings(Settings(data_dir=str(tmp_path / "anon"), anonymous=True))
    assert anon.users == [] and not (tmp_path / "anon").exists()
    for key in WELL_KNOWN:
        assert anon.lookup(key) is None


def test_configured_keys_are_used_and_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=str(tmp_path), access_key="AKCONFIGURED", secret_key="s3cr3t-xyz")
    creds = credentials_from_settings(settings)
    assert [u.access_key for u in creds.users] == ["AKCONFIGURED"]
    assert not (tmp_path / GENERATED_FILE).exists()
    assert "s3cr3t-xyz" not in capsys.readouterr().err


def test_half_a_key_pair_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both"):
        credentials_from_settings(Settings(data_dir=str(tmp_path), access_key="AK"))
    with pytest.raises(ValueError, match="both"):
        credentials_from_settings(Settings(data_dir=str(tmp_path), secret_key="sk"))


def test_users_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "users.json"
    users = [
        User("alice", "AKALICE", "alice-secret", display_name="Alice"),
        User("bob", "AKBOB", "bob-secret", id="b" * 64, email="bob@example.com"),
    ]
    write_users_file(path, users)
    assert mode(path) == 0o600
    assert read_users_file(path) == users
    settings = Settings(data_dir=str(tmp_path / "data"), users_file=str(path), access_key="AKX",
                        secret_key="x-secret")  # fmt: skip
    creds = credentials_from_settings(settings)
    assert [u.name for u in creds.users] == ["alice", "bob", "admin"]
    bob = creds.lookup("AKBOB")
    assert bob is not None and bob.identity.id == "b" * 64
    assert creds.display_name(users[0].identity.id) == "Alice"


def test_rewrite_keeps_mode_0600_even_if_loosened(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_users_file(path, [User("a", "AKA", "sa")])
    os.chmod(path, 0o644)
    write_users_file(path, [User("a", "AKA", "sa"), User("b", "AKB", "sb")])
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", "expected a JSON list"),
        ('"x"', "expected a JSON list"),
        ("[1]", "each user needs"),
        ('[{"name": "a", "access_key": "AK"}]', "each user needs"),
        ('[{"name": "a", "secret_key": "s"}]', "each user needs"),
        ('[{"name": "a", "access_key": "AK", "secret_key": ""}]', "secret_key must be"),
        ('[{"name": "a", "access_key": 5, "secret_key": "s"}]', "access_key must be"),
        ('[{"name": null, "access_key": "AK", "secret_key": "s"}]', "name must be"),
        ("[{", "Expecting"),  # json.JSONDecodeError is a ValueError
    ],
)
def test_users_file_validation(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_users_file(path)


def test_users_file_duplicate_access_key(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    entries = [{"name": n, "access_key": "AKSAME", "secret_key": n} for n in ("a", "b")]
    path.write_text(json.dumps(entries))
    with pytest.raises(ValueError, match="duplicate access key"):
        credentials_from_settings(Settings(data_dir=str(tmp_path), users_file=str(path)))


def test_users_file_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        credentials_from_settings(
            Settings(data_dir=str(tmp_path), users_file=str(tmp_path / "nope.json"))
        )


def test_users_file_ignores_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"name": "a", "access_key": "AK", "secret_key": "s", "x": 1}]))
    assert read_users_file(path) == [User("a", "AK", "s")]


def test_repr_hides_the_secret() -> None:
    user = User("alice", "AKALICE", "very-secret-value", display_name="A", email="a@x")
    for text in (repr(user), str(user), f"{user}", repr([user]), repr({"u": user})):
        assert "very-secret-value" not in text
        assert "AKALICE" in text
    creds = Credentials([user])
    assert "very-secret-value" not in repr(creds.users)


def test_identity_is_stable_and_secret_free() -> None:
    user = User("alice", "AKALICE", "very-secret-value")
    # The canonical id follows the name, so rotating a key keeps bucket ownership.
    assert user.identity.id == User("alice", "AKROTATED", "new-secret").identity.id
    assert user.identity.id != User("bob", "AKALICE", "very-secret-value").identity.id
    assert len(user.identity.id) == 64
    assert "very-secret-value" not in repr(user.identity)


def test_settings_repr_hides_every_secret() -> None:
    settings = Settings(
        access_key="AKSHOWN",
        secret_key="the-secret-key",
        gitlab_token="the-gitlab-token",
        s3_secret_key="the-upstream-secret",
    )
    text = repr(settings)
    assert "AKSHOWN" in text
    for secret in ("the-secret-key", "the-gitlab-token", "the-upstream-secret"):
        assert secret not in text and secret not in str(settings)


# -- the operator (admin) identity ---------------------------------------------------------------


def test_configured_and_generated_users_are_the_admin(tmp_path: Path) -> None:
    configured = credentials_from_settings(
        Settings(data_dir=str(tmp_path / "a"), access_key="AKADMIN", secret_key="s-admin")
    )
    assert [u.identity.admin for u in configured.users] == [True]
    generated = credentials_from_settings(Settings(data_dir=str(tmp_path / "b")))
    assert [u.identity.admin for u in generated.users] == [True]
    # The data dir the generated pair is kept in is created private.
    assert mode(tmp_path / "b") == 0o700


def test_users_file_admin_flag(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    users = [User("ops", "AKOPS", "ops-secret", admin=True), User("bob", "AKBOB", "bob-secret")]
    write_users_file(path, users)
    entries = json.loads(path.read_text())
    assert entries[0]["admin"] is True and "admin" not in entries[1]  # plain users unchanged
    assert read_users_file(path) == users
    creds = credentials_from_settings(Settings(data_dir=str(tmp_path), users_file=str(path)))
    assert [(u.name, u.identity.admin) for u in creds.users] == [("ops", True), ("bob", False)]
    assert "admin=True" in repr(users[0]) and "ops-secret" not in repr(users[0])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"admin": "yes"}, "admin must be true or false"),
        ({"admin": 1}, "admin must be true or false"),
        ({"id": "anonymous"}, "reserved"),  # would own what unsigned requests create
    ],
)
def test_users_file_admin_and_id_validation(
    tmp_path: Path, entry: dict[str, Any], message: str
) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"name": "a", "access_key": "AK", "secret_key": "s", **entry}]))
    with pytest.raises(ValueError, match=message):
        read_users_file(path)


# -- groups ------------------------------------------------------------------------------------

READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def test_groups_round_trip_in_the_object_format(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    users = [User("a", "AKA", "sa", groups=("readers",)), User("b", "AKB", "sb")]
    groups = [Group("readers", (json.dumps(READ_POLICY, separators=(",", ":")),))]
    write_users_file(path, users, groups)
    content = json.loads(path.read_text())
    assert content["groups"] == [{"name": "readers", "policies": [READ_POLICY]}]
    assert content["users"][0]["groups"] == ["readers"] and "groups" not in content["users"][1]
    assert read_users_and_groups(path) == UsersFile(users, groups)
    assert read_users_file(path) == users
    creds = credentials_from_settings(Settings(data_dir=str(tmp_path), users_file=str(path)))
    assert creds.groups == groups
    assert creds.policies_of(users[0]) == groups[0].policies


def test_a_file_without_groups_stays_a_list(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    old = [{"name": "a", "access_key": "AKA", "secret_key": "sa"}]
    path.write_text(json.dumps(old))  # as every file before groups
    assert read_users_and_groups(path) == UsersFile([User("a", "AKA", "sa")], [])
    write_users_file(path, read_users_file(path))
    assert isinstance(json.loads(path.read_text()), list)


def test_editing_users_keeps_the_files_groups(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_users_file(path, [User("a", "AKA", "sa", groups=("g",))], [Group("g")])
    write_users_file(path, [*read_users_file(path), User("b", "AKB", "sb")])  # groups=None
    assert read_users_and_groups(path).groups == [Group("g")]
    with pytest.raises(ValueError, match="unknown group 'g'"):
        write_users_file(path, read_users_file(path), [])  # never a file that would not load
    assert read_users_and_groups(path).groups == [Group("g")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"users": [], "groups": {}}, "groups must be a list"),
        ({"users": [], "groups": [{"policies": []}]}, "each group needs a name"),
        ({"users": [], "groups": [{"name": " "}]}, "each group needs a name"),
        ({"users": [], "groups": [{"name": "g"}, {"name": "g"}]}, "duplicate group 'g'"),
        ({"users": [], "groups": [{"name": "g", "policies": [{"x": 1}]}]}, "g: bad policy"),
        ({"users": [{"name": "a", "access_key": "AK", "secret_key": "s", "groups": ["h"]}]},
         "unknown group 'h'"),
        ({"users": [{"name": "a", "access_key": "AK", "secret_key": "s", "groups": "h"}]},
         "a: groups must be a list"),
        ({"groups": []}, "expected a JSON list"),
    ],
)  # fmt: skip
def test_groups_validation(tmp_path: Path, content: dict[str, Any], message: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message):
        read_users_file(path)
