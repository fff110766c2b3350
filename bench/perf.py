#!/usr/bin/env python3
"""Issue 13's performance figures in one run: boxdrive-wsgi beside hello-Flask, nginx, moto.

Starts boxdrive-wsgi (``boxdrive-wsgi serve``; gunicorn with the shipped settings, 2 and 4
workers; the same with its access log off), hello-Flask under the same servers, nginx
serving the store's content files and nginx + X-Accel-Redirect in front of boxdrive, and
moto's server, all side by side on one filesystem store in a temp dir. Measures the disk's
fsync'd sequential write rate (dd conv=fsync) and MD5 speed, drives every target with the
signed raw-HTTP client in perf_client.py, prints absolute figures and the ratios the issue
sets goals for, and writes them all to a JSON file.

    python bench/perf.py --out /tmp/perf.json [--quick] [--only get4k,put4k] [--profile]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]  # the checkout's package and tests, and bench/

from perf_client import (  # noqa: E402
    UNSIGNED_PAYLOAD,
    Connection,
    LoadSpec,
    Signer,
    canonical_query,
    generated_blocks,
    request_bytes,
    run_load,
)
from perf_procs import TreeRssSampler, cpu_seconds, process_tree  # noqa: E402
from perf_profile import Profiler, summarize  # noqa: E402
from perf_report import ratios, ratios_table, results_table  # noqa: E402
from perf_seed import content_path, listing_key, seed_keys  # noqa: E402
from perf_targets import HELLO_APP, Servers, Target  # noqa: E402

from tests.e2e.servers import APP, server_env  # noqa: E402

MIB = 1024 * 1024
SMALL = 4096
BUCKET = "bench"
SMALL_KEY = "obj4k"
LARGE_KEY = "large.bin"

#: workload -> the targets it runs against (the ratios need these pairs).
SMALL_TARGETS = [
    "boxdrive/waitress",
    "hello/waitress",
    "boxdrive/gunicorn-2w",
    "hello/gunicorn-2w",
    "boxdrive/gunicorn-4w",
    "hello/gunicorn-4w",
    "boxdrive/waitress-nolog",
    "moto",
]
WORKLOADS: dict[str, list[str]] = {
    "get4k": [*SMALL_TARGETS, "nginx/static", "nginx/accel"],
    "head4k": [*SMALL_TARGETS, "nginx/static"],
    "put4k": SMALL_TARGETS,
    "put1g": ["boxdrive/waitress", "boxdrive/gunicorn-2w", "moto"],
    "get1g": ["boxdrive/waitress", "boxdrive/gunicorn-2w", "nginx/static", "nginx/accel", "moto"],
    "list": ["boxdrive/waitress", "boxdrive/gunicorn-2w", "moto"],
}
MOTO_LIST_LIMIT = 1000  # moto is loaded over HTTP: only the smallest listing
PROFILED = ("get4k", "put4k")


def percentile(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return float("nan")
    index = min(len(sorted_ns) - 1, int(q * len(sorted_ns)))
    return sorted_ns[index] / 1e6


# ---------------------------------------------------------------- the machine


def disk_rate(directory: Path, size_mib: int) -> dict[str, Any]:
    """dd's own fsync'd sequential write into ``directory``'s filesystem, in MB/s."""
    target = directory / "dd.bin"
    started = time.monotonic()
    done = subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={size_mib}", "conv=fsync"],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.monotonic() - started
    target.unlink()
    return {
        "mb_s": size_mib * MIB / 1e6 / seconds,
        "size_mib": size_mib,
        "dd": done.stderr.strip().splitlines()[-1],
    }


def md5_rate(size_mib: int) -> float:
    block = os.urandom(MIB)
    md5 = hashlib.md5(usedforsecurity=False)
    started = time.perf_counter()
    for _ in range(size_mib):
        md5.update(block)
    return size_mib * MIB / 1e6 / (time.perf_counter() - started)


# ---------------------------------------------------------------- one run

CREDENTIALS = "credentials.json"
SEEDED = "seeded-{bucket}"  # in the work dir: this bucket holds its keys (--reuse)


def _credentials(workdir: Path, reused: bool) -> tuple[str, str]:
    """The run's access key and secret: new ones, or (``--reuse``) the ones the kept
    store's buckets were made with, so that they still belong to the bench user."""
    path = workdir / CREDENTIALS
    if reused and path.exists():
        saved = json.loads(path.read_text())
        return str(saved["access"]), str(saved["secret"])
    access, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    path.write_text(json.dumps({"access": access, "secret": secret}))
    path.chmod(0o600)
    return access, secret


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.data_dir = workdir / "data"
        reused = self.data_dir.is_dir()
        self.data_dir.mkdir(exist_ok=True)
        (workdir / "tmp").mkdir(exist_ok=True)
        access, secret = _credentials(workdir, reused)
        pythonpath = os.pathsep.join([str(ROOT), str(BENCH), os.environ.get("PYTHONPATH", "")])
        env = server_env(
            self.data_dir,
            access_key=access,
            secret_key=secret,
            # waitress spools large request bodies to TMPDIR: on the data dir's disk
            extra={"TMPDIR": str(workdir / "tmp"), "PYTHONPATH": pythonpath},
        )
        self.signer = Signer(access, secret)
        self.servers = Servers(env, workdir)
        self.targets: dict[str, Target] = {}
        self.rows: list[dict[str, Any]] = []
        self.small_body = os.urandom(SMALL)
        self.small_sha = hashlib.sha256(self.small_body).hexdigest()
        self.nginx_paths: dict[str, str] = {}
        self.large_block = os.urandom(MIB)  # large PUT bodies repeat it

    # ---- servers

    def start(self, names: set[str]) -> None:
        s = self.servers
        starters: dict[str, Callable[[], Target]] = {
            "boxdrive/waitress": lambda: s.boxdrive_serve("boxdrive/waitress"),
            "boxdrive/waitress-nolog": lambda: s.boxdrive_serve(
                "boxdrive/waitress-nolog", BOXDRIVE_ACCESS_LOG="off"
            ),
            "hello/waitress": lambda: s.hello_waitress("hello/waitress"),
            "boxdrive/gunicorn-2w": lambda: s.gunicorn("boxdrive/gunicorn-2w", APP, 2),
            "boxdrive/gunicorn-4w": lambda: s.gunicorn("boxdrive/gunicorn-4w", APP, 4),
            "hello/gunicorn-2w": lambda: s.gunicorn("hello/gunicorn-2w", HELLO_APP, 2),
            "hello/gunicorn-4w": lambda: s.gunicorn("hello/gunicorn-4w", HELLO_APP, 4),
            "moto": lambda: s.moto("moto"),
        }
        for name in sorted(names, key=lambda n: n != "boxdrive/waitress"):
            if name in starters:
                self.targets[name] = starters[name]()
        if names & {"nginx/static", "nginx/accel"}:
            static, accel = s.nginx("nginx/static", "nginx/accel", self.data_dir)
            self.targets[static.name] = static
            self.targets[accel.name] = accel

    def send(self, target: Target, method: str, path: str, body: bytes = b"") -> int:
        conn = Connection(target.host, target.port)
        try:
            conn.send(request_bytes(self.signer, self._host(target), method, path, body=body))
            return conn.response(head=method == "HEAD")[0]
        finally:
            conn.close()

    @staticmethod
    def _host(target: Target) -> str:
        return f"{target.host}:{target.port}"

    def _must(self, target: Target, method: str, path: str, body: bytes = b"") -> None:
        status = self.send(target, method, path, body)
        if status != 200:
            raise RuntimeError(f"{target.name}: {method} {path} answered {status}")

    def _s3_targets(self) -> list[Target]:
        """One boxdrive server (they share the store) and moto, if started."""
        return [self.targets[n] for n in ("boxdrive/waitress", "moto") if n in self.targets]

    def prepare_small(self) -> None:
        for target in self._s3_targets():
            if self.send(target, "PUT", f"/{BUCKET}") not in (200, 409):  # 409: --reuse
                raise RuntimeError(f"{target.name}: cannot create bucket {BUCKET}")
            self._must(target, "PUT", f"/{BUCKET}/{SMALL_KEY}", self.small_body)
        path = content_path(str(self.data_dir), BUCKET, SMALL_KEY)
        if path is None:  # inline in the index: nginx gets a file of the same bytes
            path = str(self.data_dir / "static" / SMALL_KEY)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).write_bytes(self.small_body)
        self.nginx_paths[SMALL_KEY] = "/" + os.path.relpath(path, self.data_dir)

    # ---- measurements

    def _measure(
        self, workload: str, target: Target, spec: LoadSpec, unit: str = "req/s"
    ) -> dict[str, Any]:
        pids = process_tree(target.roots)
        sampler = TreeRssSampler(pids)
        cpu_start: list[float] = []

        def on_start() -> None:
            cpu_start.append(cpu_seconds(pids))
            sampler.start()

        result = run_load(spec, on_start)
        server_cpu = cpu_seconds(pids) - cpu_start[0]
        sampler.stop()
        latencies = sorted(result.latencies_ns)
        n = max(1, result.requests)
        row = {
            "workload": workload,
            "target": target.name,
            "unit": unit,
            "rate": result.requests / result.seconds,
            "requests": result.requests,
            "seconds": result.seconds,
            "clients": spec.clients,
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "mean_ms": statistics.fmean(latencies) / 1e6 if latencies else None,
            "server_cpu_us": server_cpu / n * 1e6,
            "client_cpu_us": result.client_cpu_seconds / n * 1e6,
            "rss_mb": sampler.peak_rss_kb / 1024,
            "errors": result.errors,
            "first_error": result.first_error,
        }
        self._report(row)
        return row

    def _report(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        print(results_table([row]).splitlines()[-1], flush=True)

    def small_spec(self, workload: str, target: Target) -> LoadSpec:
        host = self._host(target)
        signer = self.signer
        get_path = f"/{BUCKET}/{SMALL_KEY}"
        if target.name == "nginx/static":
            get_path = self.nginx_paths[SMALL_KEY]
        tag = target.name.replace("/", "-")
        method = {"get4k": "GET", "head4k": "HEAD"}.get(workload, "PUT")
        body, sha = self.small_body, self.small_sha

        signed: dict[str, bytes] = {}

        def factory(proc: int, thread: int, seq: int) -> bytes:
            if method == "PUT":
                path = f"/{BUCKET}/put/{tag}/{proc}-{thread}-{seq}"
                return request_bytes(signer, host, "PUT", path, body=body, payload_hash=sha)
            # A GET of one key is the same request all through a second (X-Amz-Date has
            # one-second resolution): signed once per second, not once per request.
            amz_date = signer.amz_date()
            if amz_date not in signed:
                signed.clear()
                signed[amz_date] = request_bytes(signer, host, method, get_path)
            return signed[amz_date]

        return LoadSpec(
            target.host,
            target.port,
            factory,
            head=method == "HEAD",
            clients=self.args.clients,
            procs=self.args.client_procs,
            seconds=self.args.seconds,
        )

    def run_small(self, workload: str, names: list[str]) -> None:
        for name in names:
            self._measure(
                workload, self.targets[name], self.small_spec(workload, self.targets[name])
            )

    def _transfer(
        self, workload: str, target: Target, method: str, path: str, *, report: bool = True
    ) -> dict[str, Any]:
        size = self.args.large_mib * MIB
        pids = process_tree(target.roots)
        sampler = TreeRssSampler(pids)
        sampler.start()
        conn = Connection(target.host, target.port, timeout=600)
        cpu0, client0, started = cpu_seconds(pids), time.process_time(), time.monotonic()
        if method == "PUT":
            head = request_bytes(
                self.signer,
                self._host(target),
                "PUT",
                path,
                body_length=size,
                payload_hash=UNSIGNED_PAYLOAD,
            )
            conn.send(head)
            for piece in generated_blocks(size, self.large_block):
                conn.send(piece)
            status, received, _ = conn.response()
        else:
            conn.send(request_bytes(self.signer, self._host(target), "GET", path))
            status, received, _ = conn.response()
            if received != size and status == 200:
                raise RuntimeError(f"{target.name}: GET {path} sent {received} of {size} bytes")
        seconds = time.monotonic() - started
        server_cpu, client_cpu = cpu_seconds(pids) - cpu0, time.process_time() - client0
        conn.close()
        sampler.stop()
        row = {
            "workload": workload,
            "target": target.name,
            "unit": "MB/s",
            "rate": size / 1e6 / seconds,
            "size_mib": self.args.large_mib,
            "seconds": seconds,
            "p50_ms": seconds * 1e3,
            "server_cpu_us": server_cpu * 1e6,
            "client_cpu_us": client_cpu * 1e6,
            "rss_mb": sampler.peak_rss_kb / 1024,
            "errors": 0 if status == 200 else 1,
            "first_error": "" if status == 200 else f"HTTP {status}",
        }
        if report:
            self._report(row)
        return row

    def _best_of(self, workload: str, target: Target, method: str, paths: list[str]) -> None:
        """``--large-reps`` transfers; the row kept is the median by rate (all in ``reps``).

        One untimed transfer first (``--no-warmup`` skips it), so the first rep is not cold."""
        if self.args.warmup:
            warm = paths[0] + "-warmup" if method == "PUT" else paths[0]
            self._transfer(f"{workload} warm-up", target, method, warm, report=False)
        rows = [self._transfer(workload, target, method, path, report=False) for path in paths]
        rows.sort(key=lambda r: r["rate"])
        row = dict(rows[len(rows) // 2])
        row["reps"] = [round(r["rate"], 1) for r in rows]
        row["errors"] = sum(r["errors"] for r in rows)
        self._report(row)

    def run_put_large(self, names: list[str]) -> None:
        for name in names:
            tag = name.replace("/", "-")
            paths = [f"/{BUCKET}/put-large-{tag}-{i}" for i in range(self.args.large_reps)]
            self._best_of("put1g", self.targets[name], "PUT", paths)

    def run_get_large(self, names: list[str]) -> None:
        for target in self._s3_targets():  # untimed: the object every GET reads
            self._transfer("prepare", target, "PUT", f"/{BUCKET}/{LARGE_KEY}", report=False)
        path = content_path(str(self.data_dir), BUCKET, LARGE_KEY)
        assert path is not None, "a large object is never inline"
        static_path = "/" + os.path.relpath(path, self.data_dir)
        for name in names:
            target = self.targets[name]
            url = static_path if name == "nginx/static" else f"/{BUCKET}/{LARGE_KEY}"
            self._best_of("get1g", target, "GET", [url] * self.args.large_reps)

    def run_list(self, names: list[str]) -> None:
        for count in self.args.list_sizes:
            bucket = f"list-{count}"
            box = self.targets["boxdrive/waitress"]
            marker = self.workdir / SEEDED.format(bucket=bucket)
            if marker.exists():
                print(f"  {bucket}: seeded by an earlier run (--reuse)", flush=True)
            else:
                self._must(box, "PUT", f"/{bucket}")
                print(f"  seeding {count} keys into {bucket} through the store API", flush=True)
                seeded = seed_keys(str(self.data_dir), bucket, count)
                print(f"  seeded in {seeded:.1f} s", flush=True)
                marker.touch()
            for name in names:
                target = self.targets[name]
                if name == "moto":
                    if count > MOTO_LIST_LIMIT:
                        continue
                    self._must(target, "PUT", f"/{bucket}")
                    for i in range(count):
                        self._must(target, "PUT", f"/{bucket}/{listing_key(i)}", b"seed")
                spec = self.list_spec(target, bucket, count)
                self._check_page(target, spec, min(count, 1000))
                self._measure(f"list{count}", target, spec)

    def warm_up(self, names: set[str]) -> None:
        """An untimed round of 4 KiB GETs on every target before the first measured run: the
        servers' first requests (imports, caches, worker start-up) are not in any figure."""
        for name in sorted(names):
            target = self.targets.get(name)
            if target is None:
                continue
            spec = self.small_spec("get4k", target)
            spec = LoadSpec(**{**spec.__dict__, "seconds": self.args.warmup_seconds})
            result = run_load(spec)
            if result.errors:
                raise RuntimeError(f"{name}: warm-up failed: {result.first_error}")

    def _check_page(self, target: Target, spec: LoadSpec, keys: int) -> None:
        """One page before the clock starts: it must hold ``keys`` keys, not an error."""
        conn = Connection(target.host, target.port)
        try:
            conn.send(spec.factory(0, 0, 0))
            status, _, body = conn.response(keep=True)
        finally:
            conn.close()
        found = body.count(b"<Key>")
        if status != 200 or found != keys:
            raise RuntimeError(f"{target.name}: a listing page held {found} keys ({status})")

    def list_spec(self, target: Target, bucket: str, count: int) -> LoadSpec:
        host, signer = self._host(target), self.signer
        page = 1000
        chooser = random.Random(13)

        def factory(proc: int, thread: int, seq: int) -> bytes:
            params = {"list-type": "2", "max-keys": str(page)}
            if count > 2 * page:  # a page from anywhere in the bucket, not only the first
                params["start-after"] = listing_key(chooser.randrange(count - page))
            return request_bytes(signer, host, "GET", f"/{bucket}", query=canonical_query(params))

        return LoadSpec(
            target.host,
            target.port,
            factory,
            clients=self.args.list_clients,
            procs=1,
            seconds=self.args.seconds,
            warmup=3,
        )

    def profile(self, workload: str, out: Path) -> dict[str, Any]:
        target = self.targets["boxdrive/waitress"]
        raw = out.with_name(f"{out.stem}.{workload}.pyspy.raw")
        profiler = Profiler(target.roots[0], raw)
        time.sleep(1)  # py-spy attaches
        row = self._measure(f"{workload}+py-spy", target, self.small_spec(workload, target))
        profiler.stop()
        summary = summarize(raw)
        text = summary.text(f"py-spy, boxdrive/waitress, {workload}")
        out.with_name(f"{out.stem}.{workload}.pyspy.txt").write_text(text + "\n")
        print(text, flush=True)
        return {"raw": str(raw), "rate_while_profiled": row["rate"], **summary.as_json()}


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("perf.json"), help="JSON results")
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 s per run")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    parser.add_argument("--targets", default="", help="comma-separated targets (default: all)")
    parser.add_argument("--seconds", type=float, default=None, help="per run (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes")
    parser.add_argument("--list-clients", type=int, default=1, help="connections for listing")
    parser.add_argument("--large-mib", type=int, default=None, help="put1g/get1g size (1024)")
    parser.add_argument("--large-reps", type=int, default=None, help="transfers (median kept)")
    parser.add_argument("--list-sizes", default=None, help="keys per listed bucket (1000,100000)")
    parser.add_argument("--list-1m", action="store_true", help="also list 1M keys (slow load)")
    parser.add_argument("--profile", action="store_true", help="py-spy on get4k and put4k")
    parser.add_argument(
        "--no-warmup", dest="warmup", action="store_false", help="skip the untimed warm-ups"
    )
    parser.add_argument(
        "--warmup-seconds", type=float, default=1.0, help="untimed GETs per target first"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (store, logs)")
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="a work dir an earlier --keep run left: its store and seeded buckets (kept)",
    )
    args = parser.parse_args(argv)
    args.only = [w for w in args.only.split(",") if w]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; known: {', '.join(WORKLOADS)}")
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.large_mib is None:
        args.large_mib = 32 if args.quick else 1024
    if args.large_reps is None:
        args.large_reps = 3
    sizes = args.list_sizes or ("1000" if args.quick else "1000,100000")
    args.list_sizes = [int(n) for n in sizes.split(",")] + ([1_000_000] if args.list_1m else [])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted_targets = set(filter(None, args.targets.split(",")))
    plan = {
        w: [t for t in WORKLOADS[w] if not wanted_targets or t in wanted_targets] for w in args.only
    }
    if args.reuse is not None:
        workdir, args.keep = args.reuse, True
    else:
        workdir = Path(tempfile.mkdtemp(prefix="boxdrive-perf-", dir=args.workdir))
    print(f"work dir {workdir}{' (kept)' if args.keep else ''}", flush=True)
    bench = Bench(args, workdir)
    load_before = os.getloadavg()
    report: dict[str, Any] = {
        "argv": sys.argv,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
        },
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    try:
        if "put1g" in plan or not args.quick:  # what the large PUT is compared with
            report["disk"] = disk_rate(bench.data_dir, max(64, min(args.large_mib, 1024)))
            report["md5_mb_s"] = md5_rate(64 if args.quick else 256)
            print(
                f"disk (dd conv=fsync, {report['disk']['size_mib']} MiB): "
                f"{report['disk']['mb_s']:.0f} MB/s; MD5 {report['md5_mb_s']:.0f} MB/s per core",
                flush=True,
            )
        needed = {t for targets in plan.values() for t in targets} | {"boxdrive/waitress"}
        bench.start(needed)
        bench.prepare_small()
        if args.warmup:
            print("== warm-up (untimed)", flush=True)
            bench.warm_up(needed)
        for workload, names in plan.items():
            print(f"== {workload}", flush=True)
            if workload in ("get4k", "head4k", "put4k"):
                bench.run_small(workload, names)
            elif workload == "put1g":
                bench.run_put_large(names)
            elif workload == "get1g":
                bench.run_get_large(names)
            elif workload == "list":
                bench.run_list(names)
        if args.profile:
            report["profile"] = {w: bench.profile(w, args.out) for w in PROFILED if w in plan}
    finally:
        bench.servers.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    shares = {
        f"{w}: {label}": share
        for w, prof in report.get("profile", {}).items()
        for label, share in prof["shares"].items()
    }
    found = ratios(bench.rows, report.get("disk", {}).get("mb_s"), shares)
    report["machine"]["load_average_after"] = os.getloadavg()
    report["client"] = client_cost(bench.rows)
    report["results"] = bench.rows
    report["ratios"] = [r.as_json() for r in found]
    print()
    print(results_table(bench.rows))
    print()
    print(ratios_table(found))
    print()
    print(report["client"]["summary"])
    print(f"load average before {load_before}, after {report['machine']['load_average_after']}")
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 1 if any(r["errors"] for r in bench.rows) else 0


def client_cost(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How cheap the client is: its CPU per request beside the server's, per small run."""
    small = [r for r in rows if r["workload"] in ("get4k", "head4k", "put4k") and r["requests"]]
    if not small:
        return {"summary": "client: no small-request runs"}
    per_request = [r["client_cpu_us"] for r in small]
    nginx = next(
        (r for r in small if r["target"] == "nginx/static" and r["workload"] == "get4k"), None
    )
    cheapest_server = min(small, key=lambda r: r["server_cpu_us"])
    summary = (
        f"client: {statistics.median(per_request):.0f} us CPU per signed request (median over "
        f"{len(small)} runs, {min(per_request):.0f}-{max(per_request):.0f}); cheapest server "
        f"{cheapest_server['target']} {cheapest_server['workload']} "
        f"{cheapest_server['server_cpu_us']:.0f} us"
    )
    if nginx:
        summary += (
            f"; against nginx the client sustained {nginx['rate']:.0f} req/s at "
            f"{nginx['client_cpu_us']:.0f} us/req"
        )
    return {
        "summary": summary,
        "median_us_per_request": statistics.median(per_request),
        "min_us_per_request": min(per_request),
        "max_us_per_request": max(per_request),
    }


if __name__ == "__main__":
    sys.exit(main())
