"""The staged multipart default under several worker processes: a GitLab store (no
native multipart) served by four gunicorn workers, the fake GitLab a process of its own
so every worker talks to the same one; and gunicorn and uWSGI refusing to start several
workers over uploads private to each process.

Before the staged default kept its parts and upload records under the data dir, each
worker had a private temporary directory: a part that reached a worker other than the
one that created the upload answered NoSuchUpload.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import make_client, unique_bucket_name
from .deploy import uwsgi_binary
from .servers import (
    RunningServer,
    free_port,
    gunicorn_argv,
    server_env,
    start_server,
    upload_parts_on_workers,
)

ROOT = Path(__file__).resolve().parents[2]
PART = 5 * 1024 * 1024
WORKERS = 4
TOKEN = "fake-token-e2e"
PROJECT = "group/boxdrive"


@pytest.fixture(scope="module")
def fake_gitlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.stores.fake_gitlab", "--port", str(port)]
    argv += ["--project", PROJECT, "--token", TOKEN]
    # start_server wants the BOXDRIVE_* names a RunningServer reports; the fake ignores them.
    env = server_env(tmp_path_factory.mktemp("fake-gitlab"))
    server = start_server(
        argv, env, port=port, log_dir=tmp_path_factory.mktemp("fake-gitlab-log"), cwd=str(ROOT)
    )
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gunicorn(fake_gitlab: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    port = free_port()
    extra = {
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_THREADS": "4",
        "BOXDRIVE_STORE": "gitlab",
        "BOXDRIVE_GITLAB_URL": fake_gitlab,
        "BOXDRIVE_GITLAB_TOKEN": TOKEN,
        "BOXDRIVE_GITLAB_PROJECT": PROJECT,
    }
    env = server_env(tmp_path_factory.mktemp("gunicorn-gitlab-data"), extra=extra)
    log_dir = tmp_path_factory.mktemp("gunicorn-gitlab-log")
    server = start_server(gunicorn_argv(port), env, port=port, log_dir=log_dir, cwd=str(ROOT))
    try:
        yield server
    finally:
        server.stop()


def test_staged_parts_on_several_workers(gunicorn: RunningServer) -> None:
    admin = make_client(gunicorn)
    bucket = unique_bucket_name("staged")
    admin.create_bucket(Bucket=bucket)
    key = "spread.bin"
    upload_id = admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    data = {n: hashlib.sha256(b"%d" % n).digest() * (PART // 32 + n) for n in range(1, 5)}
    data[5] = b"the last part may be small"
    # the small last part is the one re-sent if all went to one worker
    etags = upload_parts_on_workers(
        gunicorn, lambda: make_client(gunicorn), bucket, key, upload_id, data, resend=[5]
    )

    # Every worker sees the upload: list it and its parts over fresh connections.
    for _ in range(WORKERS):
        listed = make_client(gunicorn).list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
        assert [p["PartNumber"] for p in listed["Parts"]] == sorted(data)
        uploads = make_client(gunicorn).list_multipart_uploads(Bucket=bucket)["Uploads"]
        assert [u["UploadId"] for u in uploads] == [upload_id]
    done = make_client(gunicorn).complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(data)]},
    )
    assert done["ETag"].endswith(f'-{len(data)}"')
    expected = hashlib.sha256(b"".join(data[n] for n in sorted(data))).hexdigest()
    for _ in range(WORKERS):
        body = make_client(gunicorn).get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == expected
    assert "Uploads" not in make_client(gunicorn).list_multipart_uploads(Bucket=bucket)
    # The uploads lived under the data dir, where every worker found them.
    staged = gunicorn.data_dir / "multipart"
    assert (staged / "multipart.sqlite3").is_file() and list((staged / "parts").iterdir()) == []
    admin.delete_object(Bucket=bucket, Key=key)
    admin.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("workers", [2, 3])
def test_private_uploads_refused_at_start_up(tmp_path: Path, workers: int) -> None:
    # The memory store gets no shared multipart directory (its objects live in one
    # process anyway): several workers would each keep their own uploads.
    extra = {"GUNICORN_WORKERS": str(workers), "BOXDRIVE_STORE": "memory"}
    env = server_env(tmp_path, extra=extra)
    done = subprocess.run(
        gunicorn_argv(free_port()), env=env, capture_output=True, timeout=120, check=False
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, output
    assert f"gunicorn runs {workers} worker processes" in output, output
    assert "multipart uploads in a directory private to each process" in output
    assert "BOXDRIVE_MULTIPART_DIR" in output


def test_one_worker_over_private_uploads_starts(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path, extra={"GUNICORN_WORKERS": "1", "BOXDRIVE_STORE": "memory"})
    server = start_server(gunicorn_argv(port), env, port=port, log_dir=tmp_path, cwd=str(ROOT))
    try:
        client = make_client(server)
        client.create_bucket(Bucket="one")
        upload_id = client.create_multipart_upload(Bucket="one", Key="k")["UploadId"]
        client.upload_part(Bucket="one", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
        parts = client.list_parts(Bucket="one", Key="k", UploadId=upload_id)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]
    finally:
        server.stop()


def test_private_uploads_refused_by_uwsgi(tmp_path: Path) -> None:
    argv = [
        uwsgi_binary(),
        "--ini",
        f"{ROOT / 'deploy' / 'uwsgi' / 'boxdrive.ini'}:app",
        "--http-socket",
        f"127.0.0.1:{free_port()}",
        "--processes",
        "2",
        "--threads",
        "2",
        "--env",
        f"BOXDRIVE_DATA_DIR={tmp_path}",  # the ini's own data dir is a system path
    ]
    env = server_env(tmp_path, extra={"BOXDRIVE_STORE": "memory"})
    done = subprocess.run(
        argv, env=env, capture_output=True, timeout=120, check=False, cwd=str(ROOT)
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, output
    assert "uWSGI runs 2 worker processes" in output, output
    assert "multipart uploads in a directory private to each process" in output
