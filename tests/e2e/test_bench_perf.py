"""bench/perf.py keeps working: a one-second run against two servers writes its JSON.

Not a timed test: it asserts nothing about speed, only that the harness starts the servers,
drives them with its signed client without errors and reports rows and ratios.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(60)
def test_perf_quick_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "perf.py"),
            "--quick",
            "--only",
            "get4k",
            "--seconds",
            "1",
            "--targets",
            "boxdrive/waitress,hello/waitress",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=55,
    )
    report = json.loads(out.read_text())
    rows = {(r["workload"], r["target"]): r for r in report["results"]}
    assert set(rows) == {("get4k", "boxdrive/waitress"), ("get4k", "hello/waitress")}
    for row in rows.values():
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["p50_ms"] <= row["p99_ms"]
        assert row["server_cpu_us"] > 0 and row["client_cpu_us"] > 0
    (ratio,) = [r for r in report["ratios"] if "hello-Flask under waitress" in r["name"]]
    assert ratio["value"] > 0
    assert not list(tmp_path.glob("boxdrive-perf-*")), "the temp dir is removed"
