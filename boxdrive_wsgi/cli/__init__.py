"""The ``boxdrive-wsgi`` command: ``serve``, ``user add|list|remove|policy|group``,
``fsck``, ``stats``, ``lifecycle run``, ``kms create|list``, ``sse-master rotate|list``."""

from __future__ import annotations

import click

from .admin import fsck, stats
from .groups import group
from .kms import kms, sse_master
from .lifecycle import lifecycle
from .serve import serve
from .users import user


@click.group()
@click.version_option(package_name="boxdrive-wsgi")
def main() -> None:
    """boxdrive-wsgi: an S3-compatible object storage server."""


main.add_command(serve)
user.add_command(group)
main.add_command(user)
main.add_command(fsck)
main.add_command(stats)
main.add_command(lifecycle)
main.add_command(kms)
main.add_command(sse_master)
