"""CPU time and resident memory of server process trees (Linux /proc), for bench/perf.py.

A target is one or more root processes (gunicorn: the master; nginx with X-Accel: nginx and
the gunicorn behind it); its figures are the sums over the roots and all their descendants.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from memory import RssSampler

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        text = fh.read()
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def process_tree(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process descending from them."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of ``pids`` so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue  # exited: its time is lost, which a benchmark run should not see
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


class TreeRssSampler(RssSampler):
    """memory.RssSampler over a process tree: VmRSS and VmHWM summed over ``pids``."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        super().__init__(pids[0], interval)
        self.pids = pids

    def read(self) -> tuple[int, int]:
        rss = hwm = 0
        for pid in self.pids:
            self.pid = pid
            try:
                one, high = super().read()
            except OSError:
                continue
            rss += one
            hwm += high
        return rss, hwm
