"""The console's templates and static files ship in the package (a non-editable install)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "boxdrive_wsgi" / "console"


def test_the_wheel_holds_every_template_and_static_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", "data"),
    )
    # build_py is the step of a wheel build that picks package data (this machine has
    # no `wheel` package for a full bdist_wheel offline; the selection is the same).
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()",
         "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=source,
        check=True,
        timeout=240,
    )  # fmt: skip
    built = tmp_path / "lib"
    names = {str(p.relative_to(built)) for p in built.rglob("*") if p.is_file()}
    shipped = sorted(
        str(p.relative_to(ROOT))
        for p in CONSOLE.rglob("*")
        if p.is_file() and p.suffix in {".html", ".css", ".js"}
    )
    assert len(shipped) >= 12
    assert [name for name in shipped if name not in names] == []
