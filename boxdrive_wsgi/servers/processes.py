"""Start-up checks for servers of several worker processes (gunicorn, uWSGI).

A store on the staged multipart default keeps its uploads in ``multipart_dir``; with
none it uses a temporary directory private to one process. Under several workers a part
that reached another worker would then answer NoSuchUpload, so such a server is refused
when a worker starts, with a message saying what to set, rather than failing later,
request by request.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..stores.base import ObjectStore
from ..stores.multipart.staged import StagedMultipart


class PrivateUploads(RuntimeError):
    """A multi-process server over a store whose multipart uploads one process sees."""


def uploads_are_private(store: ObjectStore) -> bool:
    backend = store.multipart_backend()
    return isinstance(backend, StagedMultipart) and not backend.shared


def check_processes(app: Any, processes: int, server: str) -> None:
    """Raise PrivateUploads if ``app`` (a boxdrive-wsgi Flask app; anything else is left
    alone) runs in ``processes`` > 1 workers over a store with private uploads."""
    extensions = getattr(app, "extensions", None)
    if processes <= 1 or not isinstance(extensions, dict) or "boxdrive_wsgi" not in extensions:
        return
    store: ObjectStore = extensions["boxdrive_wsgi"]["store"]
    if uploads_are_private(store):
        kind = extensions["boxdrive_wsgi"]["settings"].store
        raise PrivateUploads(
            f"{server} runs {processes} worker processes, but the store ({kind}) keeps"
            " multipart uploads in a directory private to each process, so a part reaching"
            " another worker would answer NoSuchUpload. Run one worker process, or use a"
            " store every process shares and give it a shared directory for uploads"
            " (BOXDRIVE_MULTIPART_DIR, or the store's multipart_dir)."
        )


def uwsgi_processes() -> int:
    """How many worker processes uWSGI runs (1 outside uWSGI)."""
    try:
        uwsgi = importlib.import_module("uwsgi")  # exists only inside uWSGI
    except ImportError:
        return 1
    return int(uwsgi.numproc)
