"""The servers bench/perf.py compares, started side by side from the shipped settings.

boxdrive-wsgi under ``boxdrive-wsgi serve`` (waitress as shipped) and under gunicorn with the
shipped gunicorn.conf.py (2 and 4 workers); hello-Flask (bench/hello_app.py) under the same
servers with the same settings; nginx serving the store's own content files, and nginx with
X-Accel-Redirect in front of boxdrive under gunicorn (deploy/nginx/boxdrive.conf, accel part
enabled); moto's server. The process helpers come from the e2e suite (tests/e2e/servers.py,
tests/e2e/deploy.py), so the benchmark starts servers exactly as the tests do.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from boxdrive_wsgi.cli.serve import MAX_REQUEST_BODY, SEND_BYTES
from tests.e2e.deploy import ACCEL_PREFIX, ROOT, gunicorn_argv, running_nginx, site_config
from tests.e2e.servers import APP, RunningServer, free_port, start_server, waitress_argv

HELLO_APP = "hello_app:app"
#: waitress settings of ``boxdrive-wsgi serve`` (boxdrive_wsgi/cli/serve.py), for hello-Flask too.
SERVE_THREADS = 8
SERVE_OUTBUF_HIGH_WATERMARK = 4 * 1024**2


@dataclass
class Target:
    """A server under test: where to send requests, and the processes that are its cost."""

    name: str
    host: str
    port: int
    roots: list[int]
    notes: str = ""
    servers: list[RunningServer] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.name.split("/")[0]


def _with_app(argv: Sequence[str], app: str) -> list[str]:
    if argv[-1] != APP:
        raise AssertionError(f"expected {APP} last in {argv}: update bench/perf_targets.py")
    return [*argv[:-1], app]


class Servers:
    """Starts targets on demand and stops them all on close."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.stack = contextlib.ExitStack()
        self.started: dict[str, Target] = {}

    def close(self) -> None:
        self.stack.close()

    def _start(
        self, argv: Sequence[str], *, extra_env: dict[str, str] | None = None, port: int
    ) -> RunningServer:
        env = {**self.env, **(extra_env or {})}
        server = start_server(argv, env, port=port, log_dir=self.logs, cwd=str(ROOT), timeout=60)
        self.stack.callback(server.stop)
        return server

    def _app_target(self, name: str, argv: Sequence[str], port: int, **env: str) -> Target:
        server = self._start(argv, extra_env=env, port=port)
        return Target(name, server.host, port, [server.pid], servers=[server])

    def boxdrive_serve(self, name: str, **env: str) -> Target:
        port = free_port()
        argv = [sys.executable, "-m", "boxdrive_wsgi.cli", "serve", "--port", str(port)]
        return self._app_target(name, argv, port, **env)

    def hello_waitress(self, name: str) -> Target:
        port = free_port()
        extra = [
            f"--max-request-body-size={MAX_REQUEST_BODY}",
            f"--outbuf-high-watermark={SERVE_OUTBUF_HIGH_WATERMARK}",
            f"--send-bytes={SEND_BYTES}",
        ]
        argv = _with_app(waitress_argv(port, threads=SERVE_THREADS, extra=extra), HELLO_APP)
        return self._app_target(name, argv, port)

    def gunicorn(self, name: str, app: str, workers: int, **env: str) -> Target:
        port = free_port()
        argv = _with_app(gunicorn_argv(port), app)
        return self._app_target(name, argv, port, GUNICORN_WORKERS=str(workers), **env)

    def moto(self, name: str) -> Target:
        port = free_port()
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        return self._app_target(name, argv, port)

    def nginx(self, static_name: str, accel_name: str, data_dir: Path) -> tuple[Target, Target]:
        """One nginx: the shipped site with X-Accel on, in front of boxdrive under gunicorn
        (2 workers), and a plain static server of the store's content files."""
        backend = self.gunicorn(
            "boxdrive/gunicorn-2w-accel-backend",
            APP,
            2,
            BOXDRIVE_X_ACCEL_REDIRECT=ACCEL_PREFIX,
            BOXDRIVE_TRUSTED_PROXIES="127.0.0.1",
        )
        accel_port, static_port = free_port(), free_port()
        site = site_config(
            "boxdrive.conf",
            backend_port=backend.port,
            port=accel_port,
            data_dir=data_dir,
            enabled=["accel"],
        )
        static = f"""
    server {{
        listen 127.0.0.1:{static_port};
        location / {{ root {data_dir}; }}
    }}"""
        prefix = self.workdir / "nginx"
        prefix.mkdir(exist_ok=True)
        nginx = self.stack.enter_context(running_nginx(site + static, prefix, accel_port))
        pid = nginx.proc.pid
        return (
            Target(static_name, "127.0.0.1", static_port, [pid], notes="1 worker, sendfile"),
            Target(
                accel_name,
                "127.0.0.1",
                accel_port,
                [pid, *backend.roots],
                notes="nginx + boxdrive gunicorn 2w",
                servers=backend.servers,
            ),
        )
