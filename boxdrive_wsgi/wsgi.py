"""An eager WSGI entry point: ``boxdrive_wsgi.wsgi:app``.

``boxdrive_wsgi:app`` is built lazily through the package's ``__getattr__``,
which servers that look the callable up with ``getattr`` (waitress, gunicorn)
honour. uWSGI reads the module's ``__dict__`` directly, so it needs an app
that exists once the module is imported: importing this module builds it, and
refuses (as gunicorn's post_worker_init does) several uWSGI processes over a store
whose multipart uploads would be private to each.
"""

from __future__ import annotations

import importlib

from flask import Flask

from . import create_app
from .application import refuse_private_uploads


def uwsgi_processes() -> int:
    """How many worker processes uWSGI runs (1 outside uWSGI)."""
    try:
        uwsgi = importlib.import_module("uwsgi")  # exists only inside uWSGI
    except ImportError:
        return 1
    return int(uwsgi.numproc)


app: Flask = create_app()
refuse_private_uploads(app, uwsgi_processes(), "uWSGI")
application = app
