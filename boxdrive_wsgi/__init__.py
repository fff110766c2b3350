"""boxdrive-wsgi: an S3-compatible object storage server for WSGI.

``boxdrive_wsgi:app`` is built on first access from ``BOXDRIVE_*`` environment
variables, so importing the package creates no files and starts nothing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .application import create_app
from .blueprint import make_blueprint
from .servers import gunicorn_sendfile, gunicorn_write, waitress_patches
from .settings import Settings
from .stores.base import ObjectStore

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["ObjectStore", "Settings", "app", "create_app", "make_blueprint"]
__version__ = "0.1.0"

waitress_patches.apply()
gunicorn_sendfile.apply()  # a no-op unless gunicorn runs this process
gunicorn_write.apply()

_app: Flask | None = None
_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "app":
        global _app
        with _lock:
            if _app is None:
                _app = create_app()
        return _app
    raise AttributeError(f"module 'boxdrive_wsgi' has no attribute {name!r}")
