"""An eager WSGI entry point: ``boxdrive_wsgi.wsgi:app``.

``boxdrive_wsgi:app`` is built lazily through the package's ``__getattr__``,
which servers that look the callable up with ``getattr`` (waitress, gunicorn)
honour. uWSGI reads the module's ``__dict__`` directly, so it needs an app
that exists once the module is imported: importing this module builds it.
"""

from __future__ import annotations

from flask import Flask

from . import create_app
from .servers.processes import check_processes, uwsgi_processes

app: Flask = create_app()
check_processes(app, uwsgi_processes(), "uWSGI")
application = app
