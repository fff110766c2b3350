"""``python -m boxdrive_wsgi.cli``: the ``boxdrive-wsgi`` command without its script."""

from . import main

main()
