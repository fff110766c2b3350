"""deploy/docker/Dockerfile without a container engine: its CMD runs with its ENV (in the
source tree, which is what WORKDIR /app holds), its HEALTHCHECK command succeeds against it,
and what it COPYs exists. ``hadolint`` lints it where installed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .deploy import DEPLOY, ROOT, wait_ready
from .servers import free_port, server_env, start_server

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, args = line.partition(" ")
            result.append((name.upper(), args.strip()))
    return result


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in instructions():
        if name == "ENV":
            for item in shlex.split(args):
                name_, _, value = item.partition("=")
                env[name_] = value
    return env


def test_copied_sources_exist() -> None:
    for name, args in instructions():
        if name == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_cmd_and_healthcheck(tmp_path: Path) -> None:
    found = dict(instructions())
    cmd = json.loads(found["CMD"])
    # The settings shipped in the package: nothing from the source tree beyond the install.
    assert cmd[:3] == ["gunicorn", "-c", "python:boxdrive_wsgi.gunicorn_conf"]
    image_env = dockerfile_env()
    port = free_port()
    bind_host, _, image_port = image_env["GUNICORN_BIND"].rpartition(":")
    assert bind_host == "0.0.0.0" and found["EXPOSE"] == image_port
    env = server_env(tmp_path / "data")
    env.update(image_env)
    # The image's values, but a free port and a temporary /data.
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", BOXDRIVE_DATA_DIR=str(tmp_path / "data"))
    argv = [sys.executable, "-m", *cmd]  # the gunicorn of this interpreter
    server = start_server(argv, env, port=port, log_dir=tmp_path, cwd=str(ROOT))
    try:
        wait_ready(server.endpoint)
        health = found["HEALTHCHECK"].split(" CMD ", 1)[1].replace(f":{image_port}/", f":{port}/")
        health_argv = [sys.executable if a == "python" else a for a in shlex.split(health)]
        done = subprocess.run(health_argv, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    assert "Booting worker" in server.log()


def test_image_installs_every_runtime_extra() -> None:
    """The S3 and GitLab stores, metrics and OpenTelemetry work in the image: its pip install
    names every extra pyproject.toml declares except the test tools and the contract kit."""
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    installs = [args for name, args in instructions() if name == "RUN" and "pip install" in args]
    assert len(installs) == 1
    match = re.search(r"""["']?\.\[([a-z0-9,_-]+)\]["']?""", installs[0])
    assert match, installs[0]
    # Not the dev-only extras, nor [testing] (pytest, for store authors' tests): a server image.
    assert set(match.group(1).split(",")) == extras - {"test", "bench", "testing"}


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (optional linter)")
    done = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stdout + done.stderr
