"""gunicorn settings from a checkout: ``gunicorn -c gunicorn.conf.py boxdrive_wsgi:app``.

The settings ship inside the package (``boxdrive_wsgi/gunicorn_conf.py``), so an
installed copy needs no file from the source tree:
``gunicorn -c python:boxdrive_wsgi.gunicorn_conf boxdrive_wsgi.wsgi:app``.
"""

from boxdrive_wsgi.gunicorn_conf import *  # noqa: F403  (gunicorn reads module globals)
