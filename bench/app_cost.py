#!/usr/bin/env python3
"""The app's own CPU per request, without a server: boxdrive-wsgi beside hello-Flask.

perf.py measures through real servers and sockets, where a loaded machine moves every
figure; this calls both WSGI apps in one process (a signed environ, the body read to its
end, the response closed, as a server does), alternating short rounds of each, and keeps
each app's fastest round. What is left is the cost of the application code alone, with
its ceiling (hello-Flask, the same Flask) measured in the same run.

    python bench/app_cost.py [--requests 2000] [--rounds 7] [--only get4k,head4k,list1000]
        [--profile get4k]    # cProfile of one workload, top functions by own time

The store is a filesystem store in a temp dir with the access log on (to a file, as
under a server: stderr is pointed there for the run) and durable writes.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from perf_client import Signer, canonical_query  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

HOST = "127.0.0.1:9000"
BUCKET = "bench"
LIST_KEYS = 1000
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(signer: Signer, method: str, path: str, query: str = "") -> dict[str, Any]:
    payload = hashlib.sha256(b"").hexdigest()
    lines = signer.headers(method, HOST, path, query, payload).strip().split("\r\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
    env = EnvironBuilder(method=method, path=path, query_string=query, headers=headers)
    built = env.get_environ()
    built["REQUEST_URI"] = path + ("?" + query if query else "")  # as waitress sets it
    return built


def call(app: WSGIApp, env: dict[str, Any]) -> str:
    status: list[str] = []
    body = app(dict(env), lambda s, h, e=None: status.append(s))
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return status[0]


def rounds(
    apps: dict[str, tuple[WSGIApp, dict[str, Any]]], requests: int, count: int
) -> dict[str, float]:
    """Alternating rounds; per app the fastest round's CPU per request, in µs."""
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(count):
        for name, (app, env) in apps.items():
            started = time.process_time()
            for _ in range(requests):
                call(app, env)
            best[name] = min(best[name], (time.process_time() - started) / requests * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round (list: /20)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="get4k,head4k,list1000")
    parser.add_argument("--profile", default="", help="one workload to cProfile")
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="boxdrive-appcost-"))
    access, secret = "BENCHAPPCOST", "s" * 40
    os.environ.update(
        BOXDRIVE_DATA_DIR=str(workdir / "data"),
        BOXDRIVE_ACCESS_KEY=access,
        BOXDRIVE_SECRET_KEY=secret,
    )
    log = open(workdir / "server.log", "w")  # noqa: SIM115  (open for the whole run)
    os.dup2(log.fileno(), 2)  # the access log goes where a server's stderr would
    from hello_app import app as hello

    from boxdrive_wsgi.application import create_app
    from boxdrive_wsgi.stores.filesystem import FilesystemStore

    box = create_app()
    signer = Signer(access, secret)
    store = box.extensions["boxdrive_wsgi"]["store"]
    if call(box, environ(signer, "PUT", f"/{BUCKET}")) != "200 OK":
        raise SystemExit("could not create the bucket")
    owned = FilesystemStore(str(workdir / "data"))
    owned.put_object(BUCKET, "obj4k", io.BytesIO(os.urandom(4096)))
    for i in range(LIST_KEYS):
        owned.put_object(BUCKET, f"list/{i:06d}", io.BytesIO(b"x"))
    del store

    workloads = {
        "get4k": environ(signer, "GET", f"/{BUCKET}/obj4k"),
        "head4k": environ(signer, "HEAD", f"/{BUCKET}/obj4k"),
        "list1000": environ(
            signer, "GET", f"/{BUCKET}", canonical_query({"list-type": "2", "prefix": "list/"})
        ),
    }
    results: dict[str, dict[str, float]] = {}
    print(f"{'workload':10s} {'boxdrive us':>12s} {'hello us':>10s} {'hello/boxdrive':>15s}")
    for name in args.only.split(","):
        env = workloads[name]
        if call(box, env) != "200 OK":
            raise SystemExit(f"{name}: boxdrive answered {call(box, env)}")
        n = max(1, args.requests // 20) if name.startswith("list") else args.requests
        best = rounds({"boxdrive": (box, env), "hello": (hello, env)}, n, args.rounds)
        ratio = best["hello"] / best["boxdrive"]
        results[name] = {**best, "hello_over_boxdrive": ratio}
        print(f"{name:10s} {best['boxdrive']:12.0f} {best['hello']:10.0f} {ratio:15.2f}")
    print(f"load average {os.getloadavg()}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            call(box, workloads[args.profile])
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25)
        print(stream.getvalue())
    if args.out:
        args.out.write_text(json.dumps({"results": results, "load": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
