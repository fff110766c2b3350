"""The package entry point: importing creates nothing; ``boxdrive_wsgi:app`` is an app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(code: str, cwd: Path, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BOXDRIVE_")}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    return result.stdout.strip()


def test_import_creates_nothing(tmp_path: Path) -> None:
    run("import boxdrive_wsgi, boxdrive_wsgi.stores.filesystem", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_app_attribute_is_a_lazily_built_flask_app(tmp_path: Path) -> None:
    out = run(
        "import boxdrive_wsgi, flask; app = boxdrive_wsgi.app; "
        "print(isinstance(app, flask.Flask), app is boxdrive_wsgi.app)",
        tmp_path,
        BOXDRIVE_DATA_DIR=str(tmp_path / "store"),
        BOXDRIVE_ACCESS_KEY="AKIDEXAMPLE",
        BOXDRIVE_SECRET_KEY="secret",
    )
    assert out == "True True"


def test_entry_point_resolves_as_waitress_does(tmp_path: Path) -> None:
    out = run(
        "import pkgutil, flask; "
        "print(isinstance(pkgutil.resolve_name('boxdrive_wsgi:app'), flask.Flask))",
        tmp_path,
        BOXDRIVE_DATA_DIR=str(tmp_path / "store"),
        BOXDRIVE_ACCESS_KEY="AKIDEXAMPLE",
        BOXDRIVE_SECRET_KEY="secret",
    )
    assert out == "True"
