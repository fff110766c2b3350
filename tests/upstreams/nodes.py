"""Many boxdrive-wsgi nodes over one upstream: gunicorn nodes with the settings of
deploy/many-nodes/node.env, and nginx with deploy/nginx/boxdrive-cluster.conf (ports
substituted, every substitution checked, as tests/e2e/deploy.py does)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.e2e.deploy import DEPLOY, Nginx, running_nginx, substitute, wait_ready
from tests.e2e.servers import RunningServer, free_port, gunicorn_argv, server_env, start_server

from .upstreams import Upstream, s3_client

NODE_ENV = DEPLOY / "many-nodes" / "node.env"
CLUSTER_SITE = DEPLOY / "nginx" / "boxdrive-cluster.conf"
SHIPPED_PORTS = (8001, 8002, 8003)
#: A client of a node or of the balancer: ``client(endpoint, keys, attempts=...)``.
client = s3_client


def node_settings(upstream: Upstream, bucket: str, prefix: str) -> dict[str, str]:
    """deploy/many-nodes/node.env with this upstream's endpoint and credentials; the
    lines that name the operator's own hosts and files are dropped."""
    settings: dict[str, str] = {}
    for line in NODE_ENV.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name] = value
    replaced = {
        "BOXDRIVE_S3_ENDPOINT_URL": upstream.endpoint,
        "BOXDRIVE_S3_ACCESS_KEY": upstream.access_key,
        "BOXDRIVE_S3_SECRET_KEY": upstream.secret_key,
        "BOXDRIVE_S3_BUCKET": bucket,
        "BOXDRIVE_S3_PREFIX": prefix,
    }
    for name, value in replaced.items():
        assert name in settings, f"{NODE_ENV} no longer sets {name}: update the test"
        settings[name] = value
    for operator_only in ("BOXDRIVE_USERS_FILE", "BOXDRIVE_DOMAIN", "BOXDRIVE_TRUSTED_PROXIES"):
        settings.pop(operator_only, None)
    return settings


def start_node(
    settings: dict[str, str], keys: tuple[str, str], log_dir: Path, *, threads: int = 4
) -> RunningServer:
    """One node: gunicorn (the shipped gunicorn.conf.py), one worker of ``threads``
    threads, in a process group of its own so that it can be killed whole."""
    port = free_port()
    env = server_env(
        log_dir,
        access_key=keys[0],
        secret_key=keys[1],
        extra={**settings, "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": str(threads)},
    )
    server = start_server(gunicorn_argv(port), env, port=port, log_dir=log_dir, timeout=60)
    wait_ready(server.endpoint, timeout=60)
    return server


def kill_node(node: RunningServer) -> None:
    """SIGKILL the gunicorn master and its workers at once: a machine that died."""
    pids = [node.pid, *children(node.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    node.proc.wait(10)


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent:
            found.append(int(entry.name))
    return found


def cluster_site(ports: Sequence[int], listen: int) -> str:
    text = CLUSTER_SITE.read_text()
    replacements = {"listen 80;": f"listen 127.0.0.1:{listen};"}
    for shipped, port in zip(SHIPPED_PORTS, ports, strict=True):
        replacements[f"server 127.0.0.1:{shipped} "] = f"server 127.0.0.1:{port} "
    return substitute(text, replacements, source=str(CLUSTER_SITE))


@contextlib.contextmanager
def balancer(nodes: Sequence[RunningServer], prefix: Path) -> Iterator[Nginx]:
    port = free_port()
    with running_nginx(cluster_site([n.port for n in nodes], port), prefix, port) as nginx:
        yield nginx


def total_rss(pids: Sequence[int]) -> int:
    """The resident memory of some processes, in bytes (0 for one that is gone)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


class PeakRss:
    """Samples ``total_rss(pids)`` every 50 ms while in use; ``peak`` is the largest."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, total_rss(self.pids))
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
