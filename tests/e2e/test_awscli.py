"""The aws cli (v1, from PyPI) against the server: s3 cp both ways, s3 ls, s3api head-object."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None, reason="awscli is not installed"
)


@pytest.fixture
def aws(server, tmp_path: Path):
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\n"
        f"region = {server.region}\n"
        "s3 =\n"
        "    addressing_style = path\n"
        "retry_mode = standard\n"
        "max_attempts = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "BOTO_CONFIG"}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": server.access_key,
            "AWS_SECRET_ACCESS_KEY": server.secret_key,
            "AWS_DEFAULT_REGION": server.region,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
    )

    def run(*args: str) -> str:
        argv = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, *args]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{args}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    return run


def test_aws_s3_cp_ls_head(aws, s3, bucket, tmp_path: Path):
    src = tmp_path / "hello.txt"
    data = os.urandom(300_000)
    src.write_bytes(data)

    aws("s3", "cp", str(src), f"s3://{bucket}/dir/hello.txt", "--content-type", "text/plain")
    assert s3.get_object(Bucket=bucket, Key="dir/hello.txt")["Body"].read() == data

    listing = aws("s3", "ls", f"s3://{bucket}/dir/")
    assert "hello.txt" in listing
    assert str(len(data)) in listing
    top = aws("s3", "ls", f"s3://{bucket}/")
    assert "PRE dir/" in top
    buckets = aws("s3", "ls")
    assert bucket in buckets

    head = json.loads(
        aws(
            "s3api", "head-object", "--bucket", bucket, "--key", "dir/hello.txt", "--output", "json"
        )
    )
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert head["ContentType"] == "text/plain"

    dst = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{bucket}/dir/hello.txt", str(dst))
    assert dst.read_bytes() == data


def test_aws_s3_cp_recursive_and_rm(aws, s3, bucket, tmp_path: Path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    aws("s3", "cp", str(tree), f"s3://{bucket}/t/", "--recursive")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["t/a.txt", "t/sub/b.txt"]
    aws("s3", "rm", f"s3://{bucket}/t/", "--recursive")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_aws_versioning(aws, s3, bucket, tmp_path: Path):
    """s3api put-bucket-versioning, list-object-versions, get-object --version-id, and a
    delete undone by removing its marker, as a user of the cli would do it."""

    def api(*args: str) -> dict[str, Any]:
        out = aws("s3api", *args, "--bucket", bucket, "--output", "json")
        return json.loads(out) if out.strip() else {}

    api("put-bucket-versioning", "--versioning-configuration", "Status=Enabled")
    assert api("get-bucket-versioning")["Status"] == "Enabled"
    src = tmp_path / "f"
    ids = []
    for content in (b"first", b"second"):
        src.write_bytes(content)
        ids.append(api("put-object", "--key", "f", "--body", str(src))["VersionId"])
    listed = api("list-object-versions")
    assert [v["VersionId"] for v in listed["Versions"]] == ids[::-1]
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False]
    out = tmp_path / "old"
    got = json.loads(
        aws(
            "s3api", "get-object", "--bucket", bucket, "--key", "f",
            "--version-id", ids[0], str(out), "--output", "json",
        )
    )  # fmt: skip
    assert got["VersionId"] == ids[0] and out.read_bytes() == b"first"

    aws("s3", "rm", f"s3://{bucket}/f")  # a delete marker: the key looks gone
    assert "f" not in aws("s3", "ls", f"s3://{bucket}/")
    markers = api("list-object-versions")["DeleteMarkers"]
    assert len(markers) == 1 and markers[0]["IsLatest"] is True
    api("delete-object", "--key", "f", "--version-id", markers[0]["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="f")["Body"].read() == b"second"


def test_aws_object_lock_and_lifecycle(aws, s3, bucket, tmp_path: Path):
    """s3api put/get-bucket-lifecycle-configuration; a legal hold set with the cli keeps
    a version from being deleted, until it is lifted."""

    def api(*args: str) -> dict[str, Any]:
        out = aws("s3api", *args, "--output", "json")
        return json.loads(out) if out.strip() else {}

    rules = {"Rules": [{"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                        "Expiration": {"Days": 7}}]}  # fmt: skip
    api("put-bucket-lifecycle-configuration", "--bucket", bucket,
        "--lifecycle-configuration", json.dumps(rules))  # fmt: skip
    assert api("get-bucket-lifecycle-configuration", "--bucket", bucket) == rules
    locked = bucket + "-lock"
    api("create-bucket", "--bucket", locked, "--object-lock-enabled-for-bucket")
    try:
        src = tmp_path / "f"
        src.write_bytes(b"kept")
        version = api("put-object", "--bucket", locked, "--key", "f", "--body", str(src))
        vid = version["VersionId"]
        api("put-object-legal-hold", "--bucket", locked, "--key", "f",
            "--legal-hold", "Status=ON")  # fmt: skip
        held = api("get-object-legal-hold", "--bucket", locked, "--key", "f")
        assert held == {"LegalHold": {"Status": "ON"}}
        with pytest.raises(AssertionError, match="AccessDenied"):
            aws("s3api", "delete-object", "--bucket", locked, "--key", "f", "--version-id", vid)
        api("put-object-legal-hold", "--bucket", locked, "--key", "f",
            "--legal-hold", "Status=OFF")  # fmt: skip
        api("delete-object", "--bucket", locked, "--key", "f", "--version-id", vid)
    finally:
        s3.delete_bucket(Bucket=locked)
