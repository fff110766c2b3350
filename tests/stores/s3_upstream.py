"""An upstream S3 server for TestS3Upstream (tests/stores/test_contract.py): boxdrive-wsgi
itself on a filesystem store in a temp dir, served by waitress in a subprocess started on first use
(once per test process) and stopped at exit. Each store gets a fresh prefix of one
upstream bucket, so every test starts empty."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

import boto3
from botocore.config import Config

from boxdrive_wsgi.stores.base import ObjectAttributes, ObjectInfo, Readable
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.model import OVERWRITE, WriteOptions
from boxdrive_wsgi.stores.s3 import S3Store
from tests.e2e.servers import RunningServer, free_port, server_env, start_server, waitress_argv

UPSTREAM_BUCKET = "upstream"
#: The contract's multipart tests lower the store's minimum part size to this; the
#: upstream enforces its own, so it runs with the same.
MIN_PART = 1024
ROOT = Path(__file__).resolve().parents[2]

_lock = threading.Lock()
_servers: dict[str, RunningServer] = {}
_counter = itertools.count()


def make_upstream_store() -> FilesystemStore:
    """The upstream server's store (``BOXDRIVE_STORE=tests.stores.s3_upstream:...``)."""
    import os

    store = FilesystemStore(os.environ["BOXDRIVE_DATA_DIR"])
    store.multipart_min_part_size = MIN_PART
    return store


class ForgetfulStore(FilesystemStore):
    """Ignores If-None-Match / If-Match on writes, as some S3-compatible servers do."""

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Readable | BinaryIO,
        *,
        size: int | None = None,
        attributes: ObjectAttributes | None = None,
        options: WriteOptions = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        return super().put_object(bucket, key, body, size=size, attributes=attributes, etag=etag)


def make_forgetful_upstream_store() -> FilesystemStore:
    import os

    return ForgetfulStore(os.environ["BOXDRIVE_DATA_DIR"])


def upstream(store: str = "make_upstream_store") -> RunningServer:
    """The upstream server whose store is this module's ``store`` factory (one each)."""
    with _lock:
        server = _servers.get(store)
        if server is None or server.proc.poll() is not None:
            data_dir = Path(tempfile.mkdtemp(prefix="boxdrive-upstream-"))
            port = free_port()
            env = server_env(
                data_dir, extra={"BOXDRIVE_STORE": f"tests.stores.s3_upstream:{store}"}
            )
            server = start_server(
                waitress_argv(port, threads=16), env, port=port, cwd=str(ROOT), log_dir=data_dir
            )
            atexit.register(_stop, server, data_dir)
            client(server).create_bucket(Bucket=UPSTREAM_BUCKET)
            _servers[store] = server
        return server


def _stop(server: RunningServer, data_dir: Path) -> None:
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def client(server: RunningServer):
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def make_store(
    *,
    bucket: str | None = UPSTREAM_BUCKET,
    prefix: str | None = None,
    store: str = "make_upstream_store",
) -> S3Store:
    """A fresh, empty S3Store: a new prefix of the upstream bucket (or 1:1 mapping)."""
    server = upstream(store)
    return S3Store(
        endpoint_url=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
        bucket=bucket,
        prefix=prefix if prefix is not None else f"t{next(_counter):05d}/",
    )
