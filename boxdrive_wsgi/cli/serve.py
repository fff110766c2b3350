"""``boxdrive-wsgi serve``: S3 over waitress, from BOXDRIVE_* settings."""

from __future__ import annotations

import os
import resource
import warnings
from typing import Any

import click

#: S3 allows single PUTs of up to 5 GiB; waitress refuses 1 GiB and more by default.
MAX_REQUEST_BODY = 5 * 1024**3 + 64 * 1024**2
#: Bytes an app thread queues before it sends them itself. waitress 3 defaults to 1: the
#: app thread sends the headers, then the body, each send a system call that hands the
#: GIL to the other threads and waits to get it back (the worst of a small GET's cost
#: under waitress). At 18000 (its old default) a small response goes out whole, in one
#: send from the I/O thread; large bodies still go out from the app thread as they come.
SEND_BYTES = 18000
#: Open connections before waitress stops accepting (its default: 100). 100 idle clients,
#: or one client with 100 sockets that send half a request line, locked everyone else out.
#: Each connection costs a socket and, while a large body is spooled, a temp file: about
#: 2 fds, so 1000 fits the usual 4096 hard RLIMIT_NOFILE with room for the store's files.
CONNECTION_LIMIT = 1000
#: Seconds a connection may sit with no request in progress and no bytes moving before
#: waitress closes it (its default: 120). It never cuts a request being served, however long
#: (waitress checks only idle channels), so it bounds how long an idle or half-sent request
#: holds a connection slot. 30 s outlasts the keep-alive pause of every S3 SDK (boto3, the
#: aws cli and the Java/Go SDKs reuse pooled connections well within that).
CHANNEL_TIMEOUT = 30
#: File descriptors per connection (socket + spooled body) and those kept for the rest.
FDS_PER_CONNECTION = 2
FDS_RESERVED = 256


def waitress_options() -> dict[str, Any]:
    """The adjustments ``serve`` adds for S3 (bench/perf.py gives hello-Flask the same)."""
    from waitress.adjustments import Adjustments

    options: dict[str, Any] = {}
    # Deprecated in waitress 3 (a warning) and to be removed: only where it exists.
    if hasattr(Adjustments, "send_bytes"):
        options["send_bytes"] = SEND_BYTES
        warnings.filterwarnings(
            "ignore", "send_bytes will be removed", DeprecationWarning, "waitress"
        )
    return options


def connection_options(connection_limit: int, channel_timeout: int) -> dict[str, Any]:
    """waitress adjustments for ``connection_limit`` connections idle at most ``channel_timeout``
    seconds. waitress checks for idle connections every ``cleanup_interval`` (30 s by default),
    so a shorter timeout gets a shorter interval, or a connection could live twice as long.
    Beyond ~1000 connections select(2) cannot watch the fds (FD_SETSIZE): poll(2) can."""
    return {
        "connection_limit": connection_limit,
        "channel_timeout": channel_timeout,
        "cleanup_interval": max(1, min(30, channel_timeout // 2)),
        "asyncore_use_poll": True,
    }


def fit_open_files(connection_limit: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards the hard one so that ``connection_limit``
    connections fit; return the connection limit that does fit (``connection_limit`` unless
    the hard limit is too low, then what it allows; at least 1)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connection_limit * FDS_PER_CONNECTION + FDS_RESERVED
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a platform that refuses: live with the soft limit
            pass
    if soft == resource.RLIM_INFINITY:
        return connection_limit
    return max(1, min(connection_limit, (soft - FDS_RESERVED) // FDS_PER_CONNECTION))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option(
    "--data-dir",
    envvar="BOXDRIVE_DATA_DIR",
    default=None,
    help="Filesystem store root (BOXDRIVE_DATA_DIR, default ./data).",
)
@click.option(
    "--connection-limit",
    envvar="BOXDRIVE_CONNECTION_LIMIT",
    default=CONNECTION_LIMIT,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections before new ones wait (BOXDRIVE_CONNECTION_LIMIT).",
)
@click.option(
    "--channel-timeout",
    envvar="BOXDRIVE_CHANNEL_TIMEOUT",
    default=CHANNEL_TIMEOUT,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds an idle connection stays open (BOXDRIVE_CHANNEL_TIMEOUT).",
)
def serve(
    host: str,
    port: int,
    threads: int,
    data_dir: str | None,
    connection_limit: int,
    channel_timeout: int,
) -> None:
    """Serve S3 with waitress, sized for S3's 5 GiB single PUT."""
    import waitress

    from ..application import create_app
    from ..stores.factory import MissingDependency

    if data_dir is not None:
        os.environ["BOXDRIVE_DATA_DIR"] = data_dir
    try:
        app = create_app()
    except MissingDependency as error:  # one line, no traceback: the fix is in the message
        raise click.ClickException(str(error)) from error
    fitting = fit_open_files(connection_limit)
    if fitting < connection_limit:
        click.echo(
            f"boxdrive-wsgi: the open-file limit allows {fitting} connections, "
            f"not {connection_limit} (raise the hard RLIMIT_NOFILE, ulimit -Hn)",
            err=True,
        )
    click.echo(f"boxdrive-wsgi: serving S3 on http://{host}:{port}/", err=True)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_REQUEST_BODY,
        # Keep streamed responses flowing without buffering whole objects.
        outbuf_high_watermark=4 * 1024**2,
        ident="boxdrive-wsgi",
        **waitress_options(),
        **connection_options(fitting, channel_timeout),
        # waitress drops X-Forwarded-* before the app sees them; with trusted proxies
        # configured, web/proxy.py decides whose to honour (TLS for SSE-C, hosts, prefixes).
        clear_untrusted_proxy_headers=not app.extensions["boxdrive_wsgi"][
            "settings"
        ].trusted_proxies,
    )
