"""examples/flask_site.py served by waitress: the site's own pages and login, S3 under /s3 for
the logged-in session user (authenticate hook) and for signed S3 clients, and the auditor
rule (authorize hook)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from .servers import RunningServer, free_port, server_env, start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    port = free_port()
    env = server_env(tmp_path_factory.mktemp("site-data"), extra={"SITE_SECRET_KEY": "k" * 32})
    argv = [
        sys.executable,
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        "--call",
        "examples.flask_site:create_app",
    ]
    server = start_server(
        argv, env, port=port, log_dir=tmp_path_factory.mktemp("site-log"), cwd=str(ROOT)
    )
    try:
        yield server
    finally:
        server.stop()


def logged_in(site: RunningServer, user: str, password: str) -> requests.Session:
    session = requests.Session()
    resp = session.post(
        site.endpoint + "/login", data={"user": user, "password": password}, timeout=10
    )
    assert resp.status_code == 200 and f"Hello {user}!" in resp.text
    return session


def test_site_pages_and_login(site: RunningServer) -> None:
    assert "Please log in" in requests.get(site.endpoint + "/", timeout=10).text
    wrong = requests.post(
        site.endpoint + "/login", data={"user": "alice", "password": "nope"}, timeout=10
    )
    assert wrong.status_code == 403


def test_session_user_is_an_s3_identity(site: RunningServer) -> None:
    s3_url = site.endpoint + "/s3"
    alice = logged_in(site, "alice", "wonderland")
    assert alice.put(s3_url + "/alice-files", timeout=10).status_code == 200
    put = alice.put(s3_url + "/alice-files/notes/today.txt", data=b"milk, eggs", timeout=10)
    assert put.status_code == 200 and put.headers["ETag"]
    assert alice.get(s3_url + "/alice-files/notes/today.txt", timeout=10).content == b"milk, eggs"
    listing = alice.get(s3_url + "/alice-files?list-type=2", timeout=10)
    assert b"<Key>notes/today.txt</Key>" in listing.content

    # Nobody logged in and no signature: refused.
    anonymous = requests.get(s3_url + "/alice-files/notes/today.txt", timeout=10)
    assert anonymous.status_code == 403 and b"AccessDenied" in anonymous.content

    # The auditor reads everything and writes nothing (authorize hook).
    auditor = logged_in(site, "auditor", "read-only")
    assert auditor.get(s3_url + "/alice-files/notes/today.txt", timeout=10).status_code == 200
    denied = auditor.put(s3_url + "/alice-files/x", data=b"x", timeout=10)
    assert denied.status_code == 403 and b"AccessDenied" in denied.content
    assert auditor.put(s3_url + "/auditor-bucket", timeout=10).status_code == 403

    # A signed S3 client (the server's key pair) is another identity: alice's bucket is hers.
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        aws_access_key_id=site.access_key,
        aws_secret_access_key=site.secret_key,
        region_name=site.region,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="alice-files", Key="notes/today.txt")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    s3.create_bucket(Bucket="client-bucket")
    s3.put_object(Bucket="client-bucket", Key="k", Body=b"signed")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "client-bucket", "Key": "k"})
    assert requests.get(url, timeout=10).content == b"signed"
    assert alice.get(s3_url + "/client-bucket/k", timeout=10).status_code == 403
    s3.delete_object(Bucket="client-bucket", Key="k")
    s3.delete_bucket(Bucket="client-bucket")

    # After logout the session is anonymous again.
    alice.post(site.endpoint + "/logout", timeout=10)
    assert alice.get(s3_url + "/alice-files/notes/today.txt", timeout=10).status_code == 403
