"""Several users, anonymous mode and generated credentials, each on its own waitress server:
bucket owners only, ListBuckets per user, the aws cli with credentials, and where secrets
may (first start with generated keys) and may not (everything else) appear in the log."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from boxdrive_wsgi.auth.credentials import GENERATED_FILE, User, write_users_file

from . import raw
from .conftest import make_client, unique_bucket_name
from .servers import RunningServer, running_waitress
from .test_auth import assert_missing, error_code

ALICE = User("alice", "AKALICE0000000000001", "alice-secret-" + os.urandom(8).hex())
BOB = User("bob", "AKBOB000000000000002", "bob-secret-" + os.urandom(8).hex())
NO_KEYS = {"BOXDRIVE_ACCESS_KEY": "", "BOXDRIVE_SECRET_KEY": ""}


def as_user(server: RunningServer, user: User) -> RunningServer:
    return replace(server, access_key=user.access_key, secret_key=user.secret_key)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose only users are alice and bob, from a users file."""
    conf = tmp_path_factory.mktemp("conf")
    users_file = conf / "users.json"
    write_users_file(users_file, [ALICE, BOB])
    env = {**NO_KEYS, "BOXDRIVE_USERS_FILE": str(users_file)}
    with running_waitress(tmp_path_factory.mktemp("team-data"), extra_env=env, log_dir=conf) as srv:
        yield srv


def test_owners_only(team: RunningServer) -> None:
    alice = make_client(as_user(team, ALICE))
    bob = make_client(as_user(team, BOB))
    a_bucket, b_bucket = unique_bucket_name("alice"), unique_bucket_name("bob")
    alice.create_bucket(Bucket=a_bucket)
    bob.create_bucket(Bucket=b_bucket)
    alice.put_object(Bucket=a_bucket, Key="private", Body=b"alice's")

    for call in (
        lambda: bob.get_object(Bucket=a_bucket, Key="private"),
        lambda: bob.list_objects_v2(Bucket=a_bucket),
        lambda: bob.put_object(Bucket=a_bucket, Key="intruder", Body=b"x"),
        lambda: bob.delete_object(Bucket=a_bucket, Key="private"),
        lambda: bob.delete_bucket(Bucket=a_bucket),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        bob.head_bucket(Bucket=a_bucket)
    assert error_code(exc) == ("403", 403)
    with pytest.raises(ClientError) as exc:
        bob.create_bucket(Bucket=a_bucket)
    assert error_code(exc) == ("BucketAlreadyExists", 409)
    # Re-creating one's own bucket: 200 in us-east-1, as in S3.
    assert alice.create_bucket(Bucket=a_bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200

    assert alice.get_object(Bucket=a_bucket, Key="private")["Body"].read() == b"alice's"
    assert_missing(alice, a_bucket, "intruder")
    alice_sees = alice.list_buckets()
    bob_sees = bob.list_buckets()
    assert [b["Name"] for b in alice_sees["Buckets"]] == [a_bucket]
    assert [b["Name"] for b in bob_sees["Buckets"]] == [b_bucket]
    assert alice_sees["Owner"]["DisplayName"] == "alice"
    assert bob_sees["Owner"]["DisplayName"] == "bob"
    assert alice_sees["Owner"]["ID"] != bob_sees["Owner"]["ID"]


def test_only_users_from_the_file(team: RunningServer) -> None:
    # BOXDRIVE_ACCESS_KEY is unset and nothing was generated: only alice and bob exist.
    assert not (team.data_dir / GENERATED_FILE).exists()
    with pytest.raises(ClientError) as exc:
        make_client(replace(team, access_key="AKADMIN", secret_key="x")).list_buckets()
    assert error_code(exc) == ("InvalidAccessKeyId", 403)
    with pytest.raises(ClientError) as exc:
        make_client(replace(as_user(team, ALICE), secret_key=BOB.secret_key)).list_buckets()
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)


def test_team_log_has_no_secrets(team: RunningServer) -> None:
    bad = make_client(replace(as_user(team, ALICE), secret_key="wrong"))
    with pytest.raises(ClientError):
        bad.list_buckets()
    log = team.log()
    assert "Serving on" in log
    assert ALICE.secret_key not in log and BOB.secret_key not in log


# -- the aws cli -----------------------------------------------------------------------------

needs_awscli = pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None, reason="awscli is not installed"
)


def aws_cli(
    server: RunningServer, user: User, tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    config = tmp_path / f"aws-config-{user.name}"
    config.write_text(
        f"[default]\nregion = {server.region}\ns3 =\n    addressing_style = path\n"
        "    signature_version = s3v4\nretry_mode = standard\nmax_attempts = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "BOTO_CONFIG"}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": user.access_key,
            "AWS_SECRET_ACCESS_KEY": user.secret_key,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    return run


@needs_awscli
def test_aws_cli_with_credentials(team: RunningServer, tmp_path: Path) -> None:
    alice = aws_cli(team, ALICE, tmp_path)
    bob = aws_cli(team, BOB, tmp_path)
    intruder = aws_cli(team, replace(ALICE, secret_key="wrong"), tmp_path)
    bucket = unique_bucket_name("cli")
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(100_000))

    assert alice("s3", "mb", f"s3://{bucket}").returncode == 0
    done = alice("s3", "cp", str(src), f"s3://{bucket}/f.bin")
    assert done.returncode == 0, done.stderr
    listing = alice("s3", "ls", f"s3://{bucket}/")
    assert "f.bin" in listing.stdout

    presigned = alice("s3", "presign", f"s3://{bucket}/f.bin", "--expires-in", "300")
    assert presigned.returncode == 0, presigned.stderr
    got = requests.get(presigned.stdout.strip(), timeout=30)
    assert got.status_code == 200 and got.content == src.read_bytes()

    denied = bob("s3", "ls", f"s3://{bucket}/")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    assert bucket not in bob("s3", "ls").stdout
    forged = intruder("s3", "ls", f"s3://{bucket}/")
    assert forged.returncode != 0 and "SignatureDoesNotMatch" in forged.stderr

    head = alice("s3api", "head-object", "--bucket", bucket, "--key", "f.bin", "--output", "json")
    assert json.loads(head.stdout)["ContentLength"] == 100_000
    assert alice("s3", "rb", f"s3://{bucket}", "--force").returncode == 0


# -- anonymous mode ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"BOXDRIVE_ANONYMOUS": "1"}
    with running_waitress(tmp_path_factory.mktemp("anon-data"), extra_env=env) as srv:
        yield srv


def test_anonymous_mode_serves_unsigned_requests(open_server: RunningServer) -> None:
    anon = make_client(open_server, signature_version=UNSIGNED)
    bucket = unique_bucket_name("anon")
    anon.create_bucket(Bucket=bucket)
    anon.put_object(Bucket=bucket, Key="k", Body=b"open")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"open"
    assert bucket in [b["Name"] for b in anon.list_buckets()["Buckets"]]
    plain = requests.get(f"{open_server.endpoint}/{bucket}/k", timeout=10)
    assert plain.status_code == 200 and plain.content == b"open"
    # Signed requests still work (what anyone may do unsigned, a user may do signed), and a
    # request that carries a signature must verify.
    signed = make_client(open_server)
    assert signed.get_object(Bucket=bucket, Key="k")["Body"].read() == b"open"
    forged = make_client(replace(open_server, secret_key="wrong"))
    with pytest.raises(ClientError) as exc:
        forged.get_object(Bucket=bucket, Key="k")
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    anon.delete_object(Bucket=bucket, Key="k")
    anon.delete_bucket(Bucket=bucket)


# -- generated credentials ------------------------------------------------------------------------

_ANNOUNCED = re.compile(r"access key: (\S+)\n\s*secret key: (\S+)")


def test_generated_credentials_first_start_and_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_waitress(data_dir, extra_env=NO_KEYS, log_dir=tmp_path) as first:
        match = _ANNOUNCED.search(first.log())
        assert match, first.log()  # the intended exception: the new secret is shown once
        access_key, secret_key = match.groups()
        user = replace(first, access_key=access_key, secret_key=secret_key)
        s3 = make_client(user)
        s3.create_bucket(Bucket="generated")
        s3.put_object(Bucket="generated", Key="k", Body=b"v")
        resp = requests.get(f"{first.endpoint}/generated/k", timeout=10)
        assert resp.status_code == 403 and raw.error_fields(resp)["Code"] == "AccessDenied"
    stored = json.loads((data_dir / GENERATED_FILE).read_text())
    assert stored[0]["access_key"] == access_key and stored[0]["secret_key"] == secret_key
    assert (data_dir / GENERATED_FILE).stat().st_mode & 0o777 == 0o600

    (tmp_path / "again").mkdir()
    with running_waitress(data_dir, extra_env=NO_KEYS, log_dir=tmp_path / "again") as second:
        s3 = make_client(replace(second, access_key=access_key, secret_key=secret_key))
        assert s3.get_object(Bucket="generated", Key="k")["Body"].read() == b"v"
        with pytest.raises(ClientError):
            make_client(replace(second, access_key=access_key, secret_key="x")).list_buckets()
        log = second.log()
        assert access_key in log  # the restart names the key ...
        assert secret_key not in log  # ... but never prints the secret again
