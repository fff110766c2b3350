"""The aws cli (v1) moving a multipart object (> 8 MiB: its multipart threshold) up and
down through a real server over a BoxDrive store seen through our adapter. Downloads
check the ETag of the listing / HEAD and send it as If-Match on every ranged GET, so
they fail unless every view of the object shows one ETag."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import RunningServer, running_waitress

SIZE = 17 * 1024 * 1024 + 12_345  # three 8 MiB parts for the aws cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"BOXDRIVE_STORE": "tests.stores.boxdrive_shaped:make_adapter_store"}
    with running_waitress(tmp_path_factory.mktemp("boxdrive-front"), extra_env=env) as running:
        yield running


def aws_cli(server: RunningServer, home: Path, *args: str) -> str:
    config = home / "aws-config"
    config.write_text(
        f"[default]\nregion = {server.region}\ns3 =\n    addressing_style = path\n"
        "retry_mode = standard\nmax_attempts = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key,
        AWS_SECRET_ACCESS_KEY=server.secret_key,
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    argv = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_aws_s3_cp_and_sync_of_a_multipart_object(server: RunningServer, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    (tmp_path / "up").mkdir()
    source = tmp_path / "up" / "big.bin"
    source.write_bytes(data)
    aws_cli(server, tmp_path, "s3", "mb", "s3://shim")
    aws_cli(server, tmp_path, "s3", "cp", str(source), "s3://shim/dir/big.bin")

    aws_cli(server, tmp_path, "s3", "cp", "s3://shim/dir/big.bin", str(tmp_path / "cp.bin"))
    assert (tmp_path / "cp.bin").read_bytes() == data
    aws_cli(server, tmp_path, "s3", "sync", "s3://shim/dir/", str(tmp_path / "synced"))
    assert (tmp_path / "synced" / "big.bin").read_bytes() == data

    head = json.loads(
        aws_cli(
            server, tmp_path, "s3api", "head-object", "--bucket", "shim", "--key", "dir/big.bin"
        )
    )
    listed = json.loads(aws_cli(server, tmp_path, "s3api", "list-objects-v2", "--bucket", "shim"))
    assert head["ETag"].endswith('-3"'), "the aws cli uploads > 8 MiB in parts"
    assert [o["ETag"] for o in listed["Contents"]] == [head["ETag"]]
