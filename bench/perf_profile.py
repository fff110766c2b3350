"""py-spy on a server while a workload runs, and the top of its profile as text.

``py-spy record --format raw`` writes collapsed stacks (one ``frame;frame;... count`` line
per stack), which flamegraph.pl, inferno and speedscope (https://www.speedscope.app) read;
the summary here is the top functions by self and by total samples, the share of samples
with a frame of a few modules the issue names anywhere on the stack (access log, SigV4, the
filesystem store), and self samples by package (waitress, boxdrive_wsgi, werkzeug, ...).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_RATE = 200  # per second: enough for a 20-line top in a few seconds
#: Shares reported in the summary: label -> substring of the frame's file.
WATCHED_MODULES = {
    "access log": "(boxdrive_wsgi/observability/access_log.py)",
    "SigV4": "(boxdrive_wsgi/auth/",  # verification and the credentials lookup
    "filesystem store": "(boxdrive_wsgi/stores/filesystem",
    "logging": "(logging/",
}
_LINE_NUMBER = re.compile(r":\d+\)$")


class Profiler:
    """Attach py-spy to ``pid`` (and its subprocesses) until ``stop``."""

    def __init__(self, pid: int, raw_path: Path) -> None:
        binary = shutil.which("py-spy")
        if binary is None:
            raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
        self.raw_path = raw_path
        self.proc = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--nonblocking",  # never pause the server: the figures stay its own
                "--function",
                "--rate",
                str(SAMPLE_RATE),
                "--format",
                "raw",
                "--output",
                str(raw_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.raw_path.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')}")


@dataclass
class Summary:
    samples: int
    top_self: list[tuple[str, int]]
    top_total: list[tuple[str, int]]
    shares: dict[str, float] = field(default_factory=dict)
    self_by_package: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "top_self": self.top_self,
            "top_total": self.top_total,
            "shares": self.shares,
            "self_by_package": self.self_by_package,
        }

    def text(self, title: str, top: int = 20) -> str:
        lines = [f"{title}: {self.samples} samples"]
        shares = ", ".join(f"{k} {v:.1%}" for k, v in self.shares.items())
        lines.append(f"  share of samples with the module on the stack: {shares}")
        packages = ", ".join(f"{p} {n / self.samples:.1%}" for p, n in self.self_by_package[:8])
        lines.append(f"  self samples by package: {packages}")
        lines.append("  by self samples:")
        lines += [f"    {n / self.samples:6.1%}  {f}" for f, n in self.top_self[:top]]
        lines.append("  by total samples (the frame anywhere on the stack):")
        lines += [f"    {n / self.samples:6.1%}  {f}" for f, n in self.top_total[:top]]
        return "\n".join(lines)


def summarize(raw_path: Path, top: int = 20) -> Summary:
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    module_counts: Counter[str] = Counter()
    samples = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # The first frame is the process/thread label py-spy adds with --subprocesses.
        frames = [_LINE_NUMBER.sub(")", f) for f in stack.split(";")]
        samples += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            total_counts[frame] += count
        for label, needle in WATCHED_MODULES.items():
            if any(needle in frame for frame in frames):
                module_counts[label] += count
    shares = {
        label: module_counts[label] / samples if samples else 0.0 for label in WATCHED_MODULES
    }
    real_frames = [(f, n) for f, n in total_counts.most_common() if "(" in f]
    packages: Counter[str] = Counter()
    for frame, count in self_counts.items():
        packages[_package(frame)] += count
    return Summary(
        samples, self_counts.most_common(top), real_frames[:top], shares, packages.most_common()
    )


def _package(frame: str) -> str:
    """``waitress`` for ``send (waitress/wasyncore.py)``, ``threading.py`` for a module."""
    path = frame.rpartition("(")[2].rstrip(")")
    return path.split("/")[0]
