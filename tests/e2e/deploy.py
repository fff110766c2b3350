"""Run the shipped deployment files on free ports: gunicorn.conf.py, deploy/uwsgi/boxdrive.ini,
deploy/nginx/*.conf. The nginx configs are generated FROM the deploy files by substituting
ports and paths (each substitution must match, so a changed deploy file fails loudly rather
than silently testing something else); opt-in parts are enabled by removing their tag.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .servers import RunningServer, _port_answers, free_port, server_env, start_server

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ACCEL_PREFIX = "/_boxdrive_internal/"


def require_binary(name: str, install: str, *candidates: str) -> str:
    """The path of ``name``; a missing binary fails in CI (``CI`` set), skips elsewhere."""
    found = shutil.which(name) or next((c for c in candidates if os.access(c, os.X_OK)), None)
    if found is None:
        message = f"{name} is not installed ({install})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the deployment tests")
        pytest.skip(message)
    return found


def nginx_binary() -> str:
    return require_binary(
        "nginx", "apt-get install -y nginx-light", "/usr/sbin/nginx", "/usr/local/sbin/nginx"
    )


def uwsgi_binary() -> str:
    beside_python = str(Path(sys.executable).parent / "uwsgi")
    return require_binary("uwsgi", "pip install pyuwsgi", beside_python)


def substitute(text: str, replacements: Mapping[str, str], *, source: str) -> str:
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{source} no longer contains {old!r}: update the test")
        text = text.replace(old, new)
    return text


def enable(text: str, tag: str) -> str:
    """Uncomment the lines of an opt-in part (``#accel``, ``#prefix``)."""
    marker = f"#{tag} "
    if marker not in text:
        raise AssertionError(f"no {marker!r} lines to enable")
    return text.replace(marker, "")


# ---------------------------------------------------------------- app servers


def gunicorn_argv(port: int) -> list[str]:
    # Overrides on the command line, like an operator would: only the bind differs.
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "boxdrive_wsgi:app",
    ]


def start_gunicorn(
    data_dir: Path, log_dir: Path, *, workers: int = 4, extra_env: Mapping[str, str] | None = None
) -> RunningServer:
    port = free_port()
    env = server_env(
        data_dir,
        extra={"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": "4", **(extra_env or {})},
    )
    return start_server(gunicorn_argv(port), env, port=port, log_dir=log_dir, cwd=str(ROOT))


def start_uwsgi(
    data_dir: Path, log_dir: Path, *, processes: int = 2, extra_env: Mapping[str, str] | None = None
) -> RunningServer:
    """deploy/uwsgi/boxdrive.ini with the socket, size and data dir overridden on the command
    line (uWSGI: a later option wins); BOXDRIVE_* also come from the environment."""
    port = free_port()
    env = server_env(data_dir, extra=extra_env)
    argv = [
        uwsgi_binary(),
        "--ini",
        f"{DEPLOY / 'uwsgi' / 'boxdrive.ini'}:app",
        "--http-socket",
        f"127.0.0.1:{port}",
        "--processes",
        str(processes),
        "--threads",
        "4",
        "--env",
        f"BOXDRIVE_DATA_DIR={data_dir}",
    ]
    return start_server(argv, env, port=port, log_dir=log_dir, cwd=str(ROOT), timeout=60)


def wait_ready(endpoint: str, *, verify: str | bool = True, timeout: float = 30) -> None:
    """Until /-/health/ready answers 200 (the port answering is not enough for uWSGI)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            resp = requests.get(endpoint + "/-/health/ready", timeout=5, verify=verify)
            if resp.status_code == 200:
                return
            last = resp.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{endpoint} not ready: {last}")


# ---------------------------------------------------------------- nginx

NGINX_MAIN = """\
{user}worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    # $uri is the internal location's after an X-Accel-Redirect: the tests look for it.
    log_format boxdrive '$request_method "$uri" $status $body_bytes_sent';
    access_log {prefix}/access.log boxdrive;
    client_body_temp_path {prefix}/tmp/client;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    sendfile on;
{site}
}}
"""


@dataclass
class Nginx:
    proc: subprocess.Popen[bytes]
    prefix: Path
    port: int
    config: str

    def access_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.prefix / "access.log").read_text(errors="replace")
        return ""

    def error_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.prefix / "error.log").read_text(errors="replace")
        return ""


def site_config(
    name: str,
    *,
    backend_port: int,
    port: int,
    data_dir: Path | None = None,
    tls: tuple[Path, Path] | None = None,
    redirect_port: int | None = None,
    enabled: Sequence[str] = (),
) -> str:
    """deploy/nginx/<name> with this test's ports and paths."""
    path = DEPLOY / "nginx" / name
    text = path.read_text()
    for tag in enabled:
        text = enable(text, tag)
    replacements = {"server 127.0.0.1:8000;": f"server 127.0.0.1:{backend_port};"}
    if tls is None:
        replacements["listen 80;"] = f"listen 127.0.0.1:{port};"
    else:
        cert, key = tls
        replacements["listen 443 ssl http2;"] = f"listen 127.0.0.1:{port} ssl http2;"
        replacements["/etc/ssl/certs/s3.example.com.pem"] = str(cert)
        replacements["/etc/ssl/private/s3.example.com.key"] = str(key)
        replacements["listen 80;"] = f"listen 127.0.0.1:{redirect_port or free_port()};"
    if "accel" in enabled:
        assert data_dir is not None
        replacements["alias /var/lib/boxdrive/;"] = f"alias {data_dir}/;"
    return substitute(text, replacements, source=str(path))


@contextlib.contextmanager
def running_nginx(site: str, prefix: Path, port: int) -> Iterator[Nginx]:
    binary = nginx_binary()
    (prefix / "tmp").mkdir(exist_ok=True)
    config = NGINX_MAIN.format(
        # As root, nginx workers run as "nobody", who cannot read pytest's 0700 temp dirs.
        user="user root;\n" if os.geteuid() == 0 else "",
        prefix=prefix,
        site=site,
    )
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    stderr_log = prefix / "nginx.stderr"
    with stderr_log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    nginx = Nginx(proc, prefix, port, config)
    try:
        deadline = time.monotonic() + 20
        while not _port_answers("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"nginx did not start:\n{stderr_log.read_text()}\n{nginx.error_log()}"
                )
            time.sleep(0.1)
        yield nginx
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
