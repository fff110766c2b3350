"""``boxdrive-wsgi user group ...`` and ``user add --group`` through click's CliRunner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from boxdrive_wsgi.auth.credentials import read_users_and_groups, read_users_file
from boxdrive_wsgi.cli import main

REPORTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/reports/*"}
    ],
}


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "users.json"


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "reports.json"
    path.write_text(json.dumps(REPORTS))
    return path


def run(users_file: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, [*args, "--users-file", str(users_file)], catch_exceptions=False
    )


def ok(users_file: Path, *args: str) -> str:
    result = run(users_file, *args)
    assert result.exit_code == 0, result.output
    return result.output


def fails(users_file: Path, *args: str) -> str:
    result = run(users_file, *args)
    assert result.exit_code != 0, result.output
    return result.output


def test_create_join_list_and_policies(users_file: Path, policy_file: Path) -> None:
    ok(users_file, "user", "group", "create", "readers", str(policy_file))
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    ok(users_file, "user", "add", "alice", "--group", "readers")
    ok(users_file, "user", "add", "bob")
    ok(users_file, "user", "group", "add", "readers", "bob")
    content = read_users_and_groups(users_file)
    assert [(u.name, u.groups) for u in content.users] == [
        ("alice", ("readers",)),
        ("bob", ("readers",)),
    ]
    (readers,) = content.groups
    assert [json.loads(p) for p in readers.policies] == [REPORTS]
    listed = ok(users_file, "user", "group", "list")
    assert listed.split() == ["readers", "1", "policy", "members:", "alice,bob"]
    assert "groups: readers" in ok(users_file, "user", "list")
    assert json.loads(ok(users_file, "user", "group", "policy", "readers")) == [REPORTS]
    ok(users_file, "user", "group", "remove", "readers", "alice")
    assert read_users_file(users_file)[0].groups == ()
    ok(users_file, "user", "group", "policy", "readers", "--clear")
    assert read_users_and_groups(users_file).groups[0].policies == ()
    assert "readers has no policies" in ok(users_file, "user", "group", "policy", "readers")
    ok(users_file, "user", "group", "policy", "readers", str(policy_file))
    assert read_users_and_groups(users_file).groups[0].policies != ()


def test_delete_takes_the_members_out(users_file: Path) -> None:
    ok(users_file, "user", "group", "create", "g")
    ok(users_file, "user", "add", "carol", "--group", "g")
    assert "carol left it" in ok(users_file, "user", "group", "delete", "g")
    content = read_users_and_groups(users_file)
    assert content.groups == [] and content.users[0].groups == ()
    assert isinstance(json.loads(users_file.read_text()), list)  # the plain format again


def test_user_commands_keep_the_groups(users_file: Path, policy_file: Path) -> None:
    ok(users_file, "user", "group", "create", "g", str(policy_file))
    ok(users_file, "user", "add", "dave", "--group", "g")
    ok(users_file, "user", "add", "erin")
    ok(users_file, "user", "policy", "erin", str(policy_file))
    ok(users_file, "user", "remove", "erin")
    content = read_users_and_groups(users_file)
    assert [g.name for g in content.groups] == ["g"]
    assert [(u.name, u.groups) for u in content.users] == [("dave", ("g",))]


def test_refusals(users_file: Path, tmp_path: Path) -> None:
    assert "group 'nope' not found" in fails(users_file, "user", "add", "x", "--group", "nope")
    assert not users_file.exists()
    ok(users_file, "user", "group", "create", "g")
    assert "already exists" in fails(users_file, "user", "group", "create", "g")
    assert "not found" in fails(users_file, "user", "group", "add", "g", "nobody")
    assert "not found" in fails(users_file, "user", "group", "add", "h", "nobody")
    ok(users_file, "user", "add", "frank", "--group", "g")
    assert "already in group" in fails(users_file, "user", "group", "add", "g", "frank")
    ok(users_file, "user", "group", "remove", "g", "frank")
    assert "not in group" in fails(users_file, "user", "group", "remove", "g", "frank")
    assert "not found" in fails(users_file, "user", "group", "delete", "h")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*"}]}))
    assert "invalid action" in fails(users_file, "user", "group", "policy", "g", str(bad))
    assert "invalid action" in fails(users_file, "user", "group", "create", "k", str(bad))
    assert [g.name for g in read_users_and_groups(users_file).groups] == ["g"]
    assert "not both" in fails(users_file, "user", "group", "policy", "g", str(bad), "--clear")
