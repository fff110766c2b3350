"""A multipart upload spread over several gunicorn worker processes sharing one data dir,
over the filesystem store's native multipart (the staged default under several workers,
and the refusal of private uploads: test_multipart_staged_workers.py).

Each part goes over its own connection, so the kernel hands them to different workers;
the app's access log (its ``pid=`` field) tells which worker served each part.
The upload is created on one worker, continued on others and completed on any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from .conftest import make_client, unique_bucket_name
from .servers import (
    RunningServer,
    free_port,
    gunicorn_argv,
    server_env,
    start_server,
    upload_parts_on_workers,
)

PART = 5 * 1024 * 1024
WORKERS = 4


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("gunicorn-data")
    port = free_port()
    extra = {
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_THREADS": "4",
        "BOXDRIVE_STORE": "filesystem",
    }
    env = server_env(data_dir, extra=extra)
    server = start_server(
        gunicorn_argv(port), env, port=port, log_dir=tmp_path_factory.mktemp("gunicorn-log")
    )
    try:
        yield server
    finally:
        server.stop()


def test_parts_on_several_workers(gunicorn: RunningServer) -> None:
    admin = make_client(gunicorn)
    bucket = unique_bucket_name("gunicorn")
    admin.create_bucket(Bucket=bucket)
    upload_id = admin.create_multipart_upload(Bucket=bucket, Key="spread.bin")["UploadId"]
    data = {n: hashlib.sha256(b"%d" % n).digest() * (PART // 32 + n) for n in range(1, 9)}
    etags = upload_parts_on_workers(
        gunicorn,
        lambda: make_client(gunicorn),
        bucket,
        "spread.bin",
        upload_id,
        data,
        resend=sorted(data),
        timeout=60,
    )

    listed = make_client(gunicorn).list_parts(Bucket=bucket, Key="spread.bin", UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == sorted(data)
    done = make_client(gunicorn).complete_multipart_upload(
        Bucket=bucket,
        Key="spread.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(data)]},
    )
    assert done["ETag"].endswith(f'-{len(data)}"')
    body = make_client(gunicorn).get_object(Bucket=bucket, Key="spread.bin")["Body"].read()
    assert (
        hashlib.sha256(body).digest()
        == hashlib.sha256(b"".join(data[n] for n in sorted(data))).digest()
    )
    admin.delete_object(Bucket=bucket, Key="spread.bin")
    admin.delete_bucket(Bucket=bucket)
