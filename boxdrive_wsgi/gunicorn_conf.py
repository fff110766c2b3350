"""gunicorn settings for boxdrive-wsgi, shipped in the package:
``gunicorn -c python:boxdrive_wsgi.gunicorn_conf boxdrive_wsgi.wsgi:app``
(``gunicorn.conf.py`` in a checkout imports these).

Every value can be overridden from the environment (``GUNICORN_*`` below) or the
command line. gthread workers serve one request per thread, so a slow upload
ties up a thread, not a process; many processes may share one data dir or an
upstream store.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from boxdrive_wsgi.application import refuse_private_uploads


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = _env_int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _env_int("GUNICORN_THREADS", 8)
# Large uploads stream for minutes: the timeout is for a silent worker, not a long request.
timeout = _env_int("GUNICORN_TIMEOUT", 300)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 60)
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
# GetObject bodies from the filesystem store go out with sendfile(2) from one sender thread
# per worker (boxdrive_wsgi/servers/gunicorn_sendfile.py), so a client that stops reading
# holds no request thread. Leave gunicorn's `sendfile` setting unset: any value of it, True
# included, turns sendfile off, and request threads send the bodies again.
# Trust X-Forwarded-* only from the proxy in front (nginx on the same host by default).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The app is built in each worker after fork (boxdrive_wsgi:app is lazy), so stores
# and telemetry exporters never share connections or threads across processes.
preload_app = False
# The app writes one access line per request itself (BOXDRIVE_ACCESS_LOG; it names the
# worker, pid=); gunicorn's own is off unless GUNICORN_ACCESS_LOG asks for it ("-": stdout).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    # Path without the query: presigned URLs carry credentials and signatures there.
    '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-amz-request-id}o)s pid=%(p)s'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def child_exit(server: object, worker: object) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's live gauges (in-flight).

    No post_fork hook is needed for telemetry: the app, and with it the tracer and
    meter providers and their exporter threads, is built in each worker after the
    fork (preload_app is off), and the OpenTelemetry SDK restarts its export threads
    in a forked child by itself if an app was preloaded anyway.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        try:
            from prometheus_client import multiprocess
        except ImportError:
            return
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]


def post_worker_init(worker: Any) -> None:
    """Refuse, at start-up, a store whose multipart uploads one worker alone would see:
    the worker fails to boot and gunicorn stops with the reason."""
    refuse_private_uploads(worker.wsgi, worker.cfg.workers, "gunicorn")
