"""``boxdrive-wsgi serve``: S3 over waitress, from BOXDRIVE_* settings."""

from __future__ import annotations

import os
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
def serve(host: str, port: int, threads: int, data_dir: str | None) -> None:
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
        # waitress drops X-Forwarded-* before the app sees them; with trusted proxies
        # configured, web/proxy.py decides whose to honour (TLS for SSE-C, hosts, prefixes).
        clear_untrusted_proxy_headers=not app.extensions["boxdrive_wsgi"][
            "settings"
        ].trusted_proxies,
    )
