"""Simulate packages that are not installed, for a subprocess: a ``sitecustomize`` on its
PYTHONPATH puts an import blocker in front of every finder before anything else runs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

SITECUSTOMIZE = """\
import sys


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
"""


def without_modules(
    env: Mapping[str, str], directory: Path, modules: Iterable[str]
) -> dict[str, str]:
    """``env`` for a process in which the top-level ``modules`` cannot be imported."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=set(modules)))
    paths = [str(directory), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
