"""Real S3 upstreams for the S3 store: moto's server (always) and Ceph RGW (a cluster
started by deploy/ceph/local-cluster when Ceph is installed). Each starts once per test
process, on first use, and stops at exit.

RGW: when the Ceph packages are missing, the lane is skipped with the reason, unless
``CI`` is set (CI installs them: a skip there would hide a lane that never ran). When they
are installed but the cluster does not come up, the lane fails, with the cluster's logs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CLUSTER = ROOT / "deploy" / "ceph" / "local-cluster"
#: The contract's multipart tests use 1 KiB parts; both upstreams can be told to allow them.
MIN_PART = 1024
CEPH_TOOLS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool")


@dataclass(frozen=True)
class Upstream:
    """An S3 endpoint and the credentials of a user on it."""

    name: str
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self, **config: Any) -> Any:
        return s3_client(self.endpoint, (self.access_key, self.secret_key), attempts=2, **config)


def s3_client(endpoint: str, keys: tuple[str, str], *, attempts: int = 1, **config: Any) -> Any:
    """A path-style boto3 S3 client; ``attempts`` 1: no retry (a retry hides a failure)."""
    options: dict[str, Any] = {
        "s3": {"addressing_style": "path"},
        "retries": {"total_max_attempts": attempts, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 30,
    }
    options.update(config)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        region_name="us-east-1",
        config=Config(**options),
    )


_lock = threading.Lock()
_started: dict[tuple[str, str], Upstream] = {}
_failed: dict[str, str] = {}


def _wait_answers(url: str, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _start_moto() -> Upstream:
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="boxdrive-moto-"))
    log = (log_dir / "moto.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(MIN_PART)},
    )
    log.close()
    atexit.register(_stop_process, proc, log_dir)
    _wait_answers(f"http://127.0.0.1:{port}/", proc, 60)
    return Upstream("moto", f"http://127.0.0.1:{port}", "moto-access-key", "moto-secret-key")


def _stop_process(proc: subprocess.Popen[bytes], log_dir: Path) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(log_dir, ignore_errors=True)


def ceph_installed() -> bool:
    return all(shutil.which(tool) for tool in CEPH_TOOLS)


def cluster_env(cluster_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CEPH_DIR": str(cluster_dir),
        "CEPH_MON_PORT": str(free_port()),
        "CEPH_RGW_PORT": str(free_port()),
        "CEPH_RGW_MIN_PART_SIZE": str(MIN_PART),
    }


def _start_cluster() -> tuple[Upstream, dict[str, str]]:
    cluster_dir = Path(tempfile.mkdtemp(prefix="boxdrive-ceph-")) / "cluster"
    env = cluster_env(cluster_dir)
    atexit.register(_stop_cluster, env)
    done = subprocess.run(
        [str(LOCAL_CLUSTER), "start"], env=env, capture_output=True, text=True, timeout=240
    )
    if done.returncode != 0:
        raise RuntimeError(f"local-cluster start failed ({done.returncode}):\n{done.stderr}")
    exports = subprocess.run(
        [str(LOCAL_CLUSTER), "env"], env=env, capture_output=True, text=True, check=True
    ).stdout
    values = dict(
        line.removeprefix("export ").split("=", 1) for line in exports.splitlines() if "=" in line
    )
    env["CEPH_CONF"] = values["CEPH_CONF"]
    upstream = Upstream(
        "rgw",
        values["BOXDRIVE_RGW_ENDPOINT"],
        values["BOXDRIVE_RGW_ACCESS_KEY"],
        values["BOXDRIVE_RGW_SECRET_KEY"],
    )
    return upstream, env


def _rgw_user(cluster: Upstream, env: dict[str, str], tenant: str) -> Upstream:
    """Another RGW user: its own list of buckets (bucket names stay global)."""
    access, secret = f"{tenant}-access", f"{tenant}-secret-key-for-tests"
    subprocess.run(
        [
            "radosgw-admin",
            "-c",
            env["CEPH_CONF"],
            "user",
            "create",
            f"--uid={tenant}",
            f"--display-name={tenant}",
            f"--access-key={access}",
            f"--secret-key={secret}",
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return Upstream("rgw", cluster.endpoint, access, secret)


def _stop_cluster(env: dict[str, str]) -> None:
    subprocess.run([str(LOCAL_CLUSTER), "stop"], env=env, capture_output=True, timeout=60)
    shutil.rmtree(Path(env["CEPH_DIR"]).parent, ignore_errors=True)


def require_rgw_packages() -> None:
    """Skip (outside CI) or fail (in CI) when Ceph is not installed. CI that tried to
    install it and could not says why in BOXDRIVE_CEPH_UNAVAILABLE (.ci/run): a skip."""
    if ceph_installed():
        return
    missing = [tool for tool in CEPH_TOOLS if not shutil.which(tool)]
    message = (
        f"Ceph is not installed (missing {', '.join(missing)}:"
        " apt-get install ceph-mon ceph-osd radosgw)"
    )
    unavailable = os.environ.get("BOXDRIVE_CEPH_UNAVAILABLE")
    if unavailable:
        pytest.skip(f"{message}: {unavailable}")
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the RGW lane")
    pytest.skip(message)


def get(name: str, tenant: str = "default") -> Upstream:
    """The running upstream ``name`` ("moto" or "rgw"), started on first use, as seen by
    ``tenant``: a user with its own bucket list (moto: a server of its own; RGW: a user
    of the one cluster). A start that failed once fails every later test at once."""
    if name == "rgw":
        require_rgw_packages()
    with _lock:
        if name in _failed:
            pytest.fail(f"{name} did not start: {_failed[name]}")
        if (name, tenant) not in _started:
            try:
                _started[name, tenant] = _start(name, tenant)
            except Exception as exc:
                _failed[name] = str(exc)
                pytest.fail(f"{name} did not start: {exc}")
        return _started[name, tenant]


def _start(name: str, tenant: str) -> Upstream:
    if name == "moto":
        return _start_moto()
    if not _cluster:
        _cluster.append(_start_cluster())
    cluster, env = _cluster[0]
    return cluster if tenant == "default" else _rgw_user(cluster, env, tenant)


def rgw_env() -> dict[str, str] | None:
    """The environment (CEPH_CONF, ...) of the running cluster, if one was started."""
    return _cluster[0][1] if _cluster else None


_cluster: list[tuple[Upstream, dict[str, str]]] = []
UPSTREAMS = ("moto", "rgw")
