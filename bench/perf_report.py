"""The tables bench/perf.py prints: absolute figures per (workload, target), then the
ratios issue 13 sets goals for, each with its goal and whether this run met it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


@dataclass
class Ratio:
    name: str
    value: float | None
    goal: str
    met: bool | None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "goal": self.goal, "met": self.met}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def results_table(rows: list[Row]) -> str:
    header = (
        f"{'workload':<14} {'target':<24} {'rate':>14} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'srv us/req':>10} {'cli us/req':>10} {'RSS MB':>7} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        rate = f"{r['rate']:.1f} {r['unit']}" if r.get("rate") is not None else "-"
        lines.append(
            f"{r['workload']:<14} {r['target']:<24} {rate:>14} {_fmt(r.get('p50_ms'), '.2f'):>8} "
            f"{_fmt(r.get('p99_ms'), '.2f'):>8} {_fmt(r.get('server_cpu_us'), '.0f'):>10} "
            f"{_fmt(r.get('client_cpu_us'), '.0f'):>10} {_fmt(r.get('rss_mb'), '.0f'):>7} "
            f"{r.get('errors', 0):>6}"
        )
    return "\n".join(lines)


class _Lookup:
    def __init__(self, rows: list[Row], disk_mb_s: float | None) -> None:
        self.rows = {(r["workload"], r["target"]): r for r in rows}
        self.disk = disk_mb_s
        self.out: list[Ratio] = []

    def get(self, workload: str, target: str, field: str = "rate") -> float | None:
        row = self.rows.get((workload, target))
        if row is None or row.get("errors"):
            return None
        value = row.get(field)
        return None if value is None else float(value)

    def ratio(
        self,
        name: str,
        top: float | None,
        bottom: float | None,
        goal: str = "",
        check: Callable[[float], bool] | None = None,
    ) -> None:
        value = None if top is None or not bottom else top / bottom
        self.add(name, value, goal, check)

    def add(
        self, name: str, value: float | None, goal: str, check: Callable[[float], bool] | None
    ) -> None:
        if value is None:
            return  # not measured in this run (its workload or a partner target was left out)
        self.out.append(Ratio(name, value, goal, None if check is None else check(value)))


SERVERS = ("waitress", "gunicorn-2w", "gunicorn-4w")


def at_least(goal: float) -> Callable[[float], bool]:
    return lambda value: value >= goal


def at_most(goal: float) -> Callable[[float], bool]:
    return lambda value: value <= goal


def ratios(rows: list[Row], disk_mb_s: float | None, shares: dict[str, float]) -> list[Ratio]:
    t = _Lookup(rows, disk_mb_s)
    for w, flask_goal, moto_goal in (
        ("get4k", 0.6, 1.5),
        ("head4k", 0.6, 1.5),
        ("put4k", 0.4, None),
    ):
        for server in SERVERS:
            t.ratio(
                f"{w} boxdrive/hello-Flask under {server}",
                t.get(w, f"boxdrive/{server}"),
                t.get(w, f"hello/{server}"),
                f">= {flask_goal}",
                at_least(flask_goal),
            )
        for server in SERVERS:
            t.ratio(
                f"{w} boxdrive {server} / moto",
                t.get(w, f"boxdrive/{server}"),
                t.get(w, "moto"),
                f">= {moto_goal} (vs s3rver)" if moto_goal else "",
                at_least(moto_goal) if moto_goal else None,
            )
        p99_goal = 25.0 if w != "put4k" else 60.0
        for server in SERVERS:
            t.add(
                f"{w} boxdrive {server} p99 ms",
                t.get(w, f"boxdrive/{server}", "p99_ms"),
                f"<= {p99_goal:.0f}",
                at_most(p99_goal),
            )
        t.ratio(
            f"{w} access log off / on (waitress), req/s",
            t.get(w, "boxdrive/waitress-nolog"),
            t.get(w, "boxdrive/waitress"),
        )
        on = t.get(w, "boxdrive/waitress", "server_cpu_us")
        off = t.get(w, "boxdrive/waitress-nolog", "server_cpu_us")
        t.add(
            f"{w} access log share of server CPU/req (1 - off/on)",
            None if on is None or off is None else 1 - off / on,
            "<= 0.05",
            at_most(0.05),
        )
    t.ratio(
        "put4k boxdrive gunicorn 4w / 2w",
        t.get("put4k", "boxdrive/gunicorn-4w"),
        t.get("put4k", "boxdrive/gunicorn-2w"),
        ">= 1.5",
        at_least(1.5),
    )
    for server in ("waitress", "gunicorn-2w"):
        t.ratio(
            f"put1g boxdrive {server} / disk (dd conv=fsync)",
            t.get("put1g", f"boxdrive/{server}"),
            disk_mb_s,
            ">= 0.8",
            at_least(0.8),
        )
        t.ratio(
            f"put1g boxdrive {server} / moto",
            t.get("put1g", f"boxdrive/{server}"),
            t.get("put1g", "moto"),
        )
    nginx = t.get("get1g", "nginx/static")
    for target, goal in (
        ("boxdrive/waitress", 0.8),
        ("boxdrive/gunicorn-2w", None),
        ("nginx/accel", 0.9),
    ):
        t.ratio(
            f"get1g {target} / nginx",
            t.get("get1g", target),
            nginx,
            f">= {goal}" if goal else "",
            at_least(goal) if goal else None,
        )
    t.ratio(
        "get1g boxdrive waitress / moto",
        t.get("get1g", "boxdrive/waitress"),
        t.get("get1g", "moto"),
    )
    for row in rows:
        if row["workload"].startswith("list") and row["target"].startswith("boxdrive/"):
            t.add(
                f"{row['workload']} {row['target']} p50 ms",
                t.get(row["workload"], row["target"], "p50_ms"),
                "<= 25",
                at_most(25),
            )
    for label in ("access log", "SigV4"):
        for workload in ("get4k", "put4k"):
            key = f"{workload}: {label}"
            if key in shares:
                t.add(f"{workload} py-spy share: {label}", shares[key], "<= 0.05", at_most(0.05))
    return t.out


def ratios_table(items: list[Ratio]) -> str:
    width = max((len(r.name) for r in items), default=10)
    lines = [f"{'ratio':<{width}} {'value':>8}  {'goal':<26} met", "-" * (width + 42)]
    for r in items:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        lines.append(f"{r.name:<{width}} {_fmt(r.value, '.2f'):>8}  {r.goal:<26} {met}")
    return "\n".join(lines)
