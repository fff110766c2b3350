"""A store whose package is not installed stops the server at start-up with one line naming
the extra, under every server; never a server that starts, says healthy and answers 500.

The missing package is simulated with an import blocker (tests/import_blocker.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..import_blocker import without_modules
from .deploy import ROOT
from .servers import free_port, server_env

STORES = {
    "s3": ({"BOXDRIVE_STORE": "s3"}, "boto3"),
    "gitlab": (
        {
            "BOXDRIVE_STORE": "gitlab",
            "BOXDRIVE_GITLAB_URL": "http://127.0.0.1:9",
            "BOXDRIVE_GITLAB_TOKEN": "token",
            "BOXDRIVE_GITLAB_PROJECT": "group/project",
        },
        "gitlab",
    ),
}


def server_argv(server: str, port: int) -> list[str]:
    if server == "cli":
        return [sys.executable, "-m", "boxdrive_wsgi.cli", "serve", "--port", str(port)]
    if server == "waitress":
        waitress = shutil.which("waitress-serve")
        assert waitress, "waitress-serve is installed with waitress"
        return [waitress, f"--listen=127.0.0.1:{port}", "boxdrive_wsgi:app"]
    return [
        *(sys.executable, "-m", "gunicorn", "-c", "python:boxdrive_wsgi.gunicorn_conf"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1", "boxdrive_wsgi.wsgi:app"),
    ]


@pytest.mark.parametrize("server", ["cli", "waitress", "gunicorn"])
@pytest.mark.parametrize("store", sorted(STORES))
def test_server_stops_with_one_line(server: str, store: str, tmp_path: Path) -> None:
    settings, module = STORES[store]
    env = without_modules(server_env(tmp_path / "data", extra=settings), tmp_path, [module])
    done = subprocess.run(
        server_argv(server, free_port()),
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    line = f"BOXDRIVE_STORE={store} needs the Python module {module!r}"
    found = [text for text in output.splitlines() if line in text]
    assert found, output
    assert f"pip install 'boxdrive-wsgi[{store}]'" in found[0]
