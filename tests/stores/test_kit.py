"""The contract kit (boxdrive_wsgi.testing) as a store author meets it: the example store in
examples/dict_store/ passes it from its own directory through the public API only, a known
gap is a strict xfail (a fixed gap fails the run), and a gap must name a real check."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from boxdrive_wsgi.testing import StoreContract

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dict_store"
#: What a store author may import from boxdrive_wsgi.
PUBLIC = {"boxdrive_wsgi.stores", "boxdrive_wsgi.testing"}


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``directory`` as its own project (its rootdir and config, not this repo's),
    with this checkout's boxdrive_wsgi importable."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    argv = ["-q", "-p", "no:cacheprovider", "--rootdir", str(directory), *args]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *argv],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def outcomes(output: str) -> dict[str, int]:
    """``{"passed": 306, "xfailed": 3}`` from pytest's last line."""
    last = output.strip().splitlines()[-1]
    return {word: int(count) for count, word in re.findall(r"(\d+) (\w+)", last)}


def test_example_store_passes_the_kit() -> None:
    collected = run_pytest(EXAMPLE, "--collect-only")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    total = outcomes(collected.stdout)["tests"]
    run = run_pytest(EXAMPLE)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr
    counts = outcomes(run.stdout)
    # Every check ran: all pass but the three conditional-delete gaps the example declares.
    assert counts == {"passed": total - 3, "xfailed": 3}
    checks = {name for name in dir(StoreContract) if name.startswith("test_")}
    assert total >= len(checks) > 100


def test_example_store_uses_only_the_public_api() -> None:
    imported: set[str] = set()
    for path in EXAMPLE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.partition(".")[0] == "boxdrive_wsgi"}
    assert ours and ours <= PUBLIC


def test_a_fixed_gap_fails_the_run(tmp_path: Path) -> None:
    """A gap declared for a check the store passes is XPASS(strict): the run fails."""
    (tmp_path / "test_fixed.py").write_text(
        "import pytest\n"
        "from boxdrive_wsgi.stores import MemoryStore\n"
        "from boxdrive_wsgi.testing import StoreContract\n"
        "class TestFixed(StoreContract):\n"
        "    known_gaps = {'test_fresh_store_has_no_buckets': 'it used to list a bucket'}\n"
        "    @pytest.fixture\n"
        "    def store_factory(self):\n"
        "        return MemoryStore\n"
    )
    run = run_pytest(
        tmp_path, "-k", "test_fresh_store_has_no_buckets or test_create_bucket_returns_info"
    )
    assert run.returncode == 1, run.stdout
    assert "[XPASS(strict)] it used to list a bucket" in run.stdout
    assert outcomes(run.stdout) == {
        "failed": 1,
        "passed": 1,
        "deselected": outcomes(run.stdout)["deselected"],
    }


def test_a_failing_check_shows_the_values_compared(tmp_path: Path) -> None:
    """The checks' asserts are rewritten like a test file's: the store author sees what the
    store answered, not a bare AssertionError."""
    (tmp_path / "test_broken.py").write_text(
        "import pytest\n"
        "from boxdrive_wsgi.stores import MemoryStore\n"
        "from boxdrive_wsgi.testing import StoreContract\n"
        "class Broken(MemoryStore):\n"
        "    def list_buckets(self):\n"
        "        return ['phantom-bucket']\n"
        "class TestBroken(StoreContract):\n"
        "    @pytest.fixture\n"
        "    def store_factory(self):\n"
        "        return Broken\n"
    )
    run = run_pytest(tmp_path, "-k", "test_fresh_store_has_no_buckets")
    assert run.returncode == 1, run.stdout
    assert "assert ['phantom-bucket'] == []" in run.stdout


def test_a_gap_must_name_a_check() -> None:
    with pytest.raises(TypeError, match="test_no_such_check"):

        class TestTypo(StoreContract):
            known_gaps = {"test_no_such_check[x]": "a typo would never run"}
