"""``boxdrive-wsgi user add|list|remove|policy`` through click's CliRunner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from boxdrive_wsgi.auth.credentials import User, read_users_file, write_users_file
from boxdrive_wsgi.cli import main


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "users.json"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_add_generates_and_prints_the_secret_once(users_file: Path) -> None:
    result = run("user", "add", "alice", "--users-file", str(users_file))
    assert result.exit_code == 0, result.output
    (alice,) = read_users_file(users_file)
    assert alice.name == "alice"
    assert result.output.count(alice.secret_key) == 1
    assert alice.access_key in result.output
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    listed = run("user", "list", "--users-file", str(users_file))
    assert listed.exit_code == 0
    assert "alice" in listed.output and alice.access_key in listed.output
    assert alice.secret_key not in listed.output


def test_add_with_given_keys_does_not_echo_the_secret(users_file: Path) -> None:
    result = run(
        "user", "add", "bob", "--access-key", "AKBOB", "--secret-key", "bob-secret-1",
        "--users-file", str(users_file),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bob-secret-1" not in result.output
    assert read_users_file(users_file) == [User("bob", "AKBOB", "bob-secret-1")]


def test_users_file_from_the_environment(users_file: Path) -> None:
    env = {"BOXDRIVE_USERS_FILE": str(users_file)}
    assert run("user", "add", "a", env=env).exit_code == 0
    assert run("user", "add", "b", env=env).exit_code == 0
    listed = run("user", "list", env=env)
    assert [line.split()[0] for line in listed.output.splitlines()] == ["a", "b"]
    for u in read_users_file(users_file):
        assert u.secret_key not in listed.output


def test_add_refuses_duplicates(users_file: Path) -> None:
    write_users_file(users_file, [User("alice", "AKALICE", "s1")])
    runner = CliRunner()
    same_name = runner.invoke(main, ["user", "add", "alice", "--users-file", str(users_file)])
    assert same_name.exit_code != 0 and "already exists" in same_name.output
    same_key = runner.invoke(
        main, ["user", "add", "eve", "--access-key", "AKALICE", "--users-file", str(users_file)]
    )
    assert same_key.exit_code != 0 and "already in use" in same_key.output
    assert read_users_file(users_file) == [User("alice", "AKALICE", "s1")]


def test_remove_by_name_and_by_access_key(users_file: Path) -> None:
    write_users_file(
        users_file, [User("a", "AKA", "sa"), User("b", "AKB", "sb"), User("c", "AKC", "sc")]
    )
    by_name = run("user", "remove", "b", "--users-file", str(users_file))
    assert by_name.exit_code == 0 and "removed user b" in by_name.output
    by_key = run("user", "remove", "--access-key", "AKC", "--users-file", str(users_file))
    assert by_key.exit_code == 0 and "removed user c" in by_key.output
    assert "sb" not in by_name.output + by_key.output
    assert read_users_file(users_file) == [User("a", "AKA", "sa")]
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600


def test_remove_errors(users_file: Path) -> None:
    write_users_file(users_file, [User("a", "AKA", "sa")])
    runner = CliRunner()
    missing = runner.invoke(main, ["user", "remove", "zed", "--users-file", str(users_file)])
    assert missing.exit_code == 1 and "not found" in missing.output
    neither = runner.invoke(main, ["user", "remove", "--users-file", str(users_file)])
    assert neither.exit_code == 2 and "either NAME or --access-key" in neither.output
    both = runner.invoke(
        main, ["user", "remove", "a", "--access-key", "AKA", "--users-file", str(users_file)]
    )
    assert both.exit_code == 2
    assert read_users_file(users_file) == [User("a", "AKA", "sa")]


def test_list_empty_and_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["user", "list", "--users-file", str(tmp_path / "no.json")])
    assert result.exit_code == 0 and "no users" in result.output


def test_users_file_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOXDRIVE_USERS_FILE", raising=False)
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 2 and "--users-file" in result.output


def test_a_broken_users_file_is_reported_not_overwritten(users_file: Path) -> None:
    users_file.parent.mkdir(parents=True)
    users_file.write_text("[{")
    result = CliRunner().invoke(main, ["user", "add", "a", "--users-file", str(users_file)])
    assert result.exit_code == 1 and "cannot read" in result.output
    assert users_file.read_text() == "[{"


def test_server_accepts_users_added_by_the_cli(users_file: Path, tmp_path: Path) -> None:
    from boxdrive_wsgi.auth.credentials import credentials_from_settings
    from boxdrive_wsgi.settings import Settings

    run("user", "add", "alice", "--users-file", str(users_file))
    run("user", "add", "bob", "--users-file", str(users_file))
    settings = Settings(data_dir=str(tmp_path / "data"), users_file=str(users_file))
    creds = credentials_from_settings(settings)
    assert sorted(u.name for u in creds.users) == ["alice", "bob"]
    assert not (tmp_path / "data").exists()  # configured users: nothing generated


def test_add_admin(users_file: Path) -> None:
    assert run("user", "add", "ops", "--admin", "--users-file", str(users_file)).exit_code == 0
    assert run("user", "add", "bob", "--users-file", str(users_file)).exit_code == 0
    ops, bob = read_users_file(users_file)
    assert ops.admin and ops.identity.admin and not bob.admin
    listed = run("user", "list", "--users-file", str(users_file)).output.splitlines()
    assert listed[0].split()[-1] == "admin" and listed[1].split()[-1] == bob.access_key


def test_policy_sets_shows_and_clears_identity_policies(users_file: Path, tmp_path: Path) -> None:
    assert run("user", "add", "carol", "--users-file", str(users_file)).exit_code == 0
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::r/*"}],
    }
    policy_file = tmp_path / "read-only.json"
    policy_file.write_text(json.dumps(document))
    result = run("user", "policy", "carol", str(policy_file), "--users-file", str(users_file))
    assert result.exit_code == 0, result.output
    (carol,) = read_users_file(users_file)
    assert [json.loads(p) for p in carol.policies] == [document]
    shown = run("user", "policy", "carol", "--users-file", str(users_file))
    assert json.loads(shown.output) == [document]
    assert "1 policy" in run("user", "list", "--users-file", str(users_file)).output
    assert run("user", "policy", "carol", "--clear", "--users-file", str(users_file)).exit_code == 0
    assert read_users_file(users_file)[0].policies == ()


def test_policy_refuses_a_bad_policy_and_an_unknown_user(users_file: Path, tmp_path: Path) -> None:
    assert run("user", "add", "dave", "--users-file", str(users_file)).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]})
    )
    result = run("user", "policy", "dave", str(bad), "--users-file", str(users_file))
    assert result.exit_code != 0 and "invalid action" in result.output
    assert read_users_file(users_file)[0].policies == ()
    missing = run("user", "policy", "nobody", str(bad), "--users-file", str(users_file))
    assert missing.exit_code != 0 and "not found" in missing.output


def test_users_file_with_a_bad_policy_is_refused_naming_the_user(users_file: Path) -> None:
    users_file.parent.mkdir(parents=True, exist_ok=True)
    entry = {"name": "eve", "access_key": "AKEVE", "secret_key": "s", "policies": [{"x": 1}]}
    users_file.write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match="eve: bad policy"):
        read_users_file(users_file)
