"""/-/metrics under gunicorn with PROMETHEUS_MULTIPROC_DIR: any worker answers the sum
over all workers."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

from .servers import free_port, server_env, start_server

ROOT = Path(__file__).resolve().parents[2]


def _total(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("boxdrive_s3_requests_total{")
    )


def test_metrics_summed_over_workers(tmp_path: Path) -> None:
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    port = free_port()
    env = server_env(
        tmp_path / "data",
        extra={
            "BOXDRIVE_ANONYMOUS": "1",
            "BOXDRIVE_METRICS": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "2",
        },
    )
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "boxdrive_wsgi:app"]
    server = start_server(argv, env, port=port, log_dir=tmp_path)
    try:
        base = server.endpoint
        assert requests.put(f"{base}/summed", timeout=10).status_code == 200
        for _ in range(20):  # new connections: spread over both workers
            with requests.Session() as session:
                session.get(f"{base}/summed", timeout=10)
        scrapes = {_total(requests.get(f"{base}/-/metrics", timeout=10).text) for _ in range(4)}
        assert scrapes == {21.0}, server.log()[-2000:]
        assert any(p.name.endswith(".db") for p in multiproc.iterdir())
    finally:
        server.stop()
