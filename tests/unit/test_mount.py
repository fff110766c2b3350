"""The blueprint mounted inside someone else's Flask site, under prefixes."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from flask import Flask
from waitress.server import create_server

from boxdrive_wsgi import make_blueprint
from boxdrive_wsgi.auth.credentials import Credentials, User
from boxdrive_wsgi.stores import MemoryStore


@pytest.fixture
def site() -> tuple[Flask, MemoryStore, MemoryStore]:
    app = Flask("site")

    @app.route("/")
    def home() -> str:
        return "the site's own home page"

    first, second = MemoryStore(), MemoryStore()
    users = Credentials([User("site", "AKIASITE", "site-secret")])
    app.register_blueprint(make_blueprint(first, name="s3", credentials=users), url_prefix="/s3")
    app.register_blueprint(
        make_blueprint(second, name="archive", anonymous=True), url_prefix="/archive/s3"
    )
    return app, first, second


def test_site_routes_still_work(site: tuple[Flask, MemoryStore, MemoryStore]) -> None:
    app, _, _ = site
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.data == b"the site's own home page"
    assert "x-amz-request-id" not in response.headers


def test_two_blueprints_keep_their_stores_apart(
    site: tuple[Flask, MemoryStore, MemoryStore],
) -> None:
    app, first, second = site
    client = app.test_client()
    first.create_bucket("one")
    first.put_object("one", "k", io.BytesIO(b"hello"))
    assert client.put("/archive/s3/two").status_code == 200  # anonymous access is on there
    denied = client.put("/s3/three")  # but not here
    assert denied.status_code == 403
    assert b"<Code>AccessDenied</Code>" in denied.data
    assert [b.name for b in first.list_buckets()] == ["one"]
    assert [b.name for b in second.list_buckets()] == ["two"]
    assert first.get_object("one", "k").read_all() == b"hello"
    response = client.get("/archive/s3/one/k")
    assert response.status_code == 404
    assert b"<Code>NoSuchBucket</Code>" in response.data
    assert b"<Resource>/archive/s3/one/k</Resource>" in response.data


@pytest.fixture
def served_site(site: tuple[Flask, MemoryStore, MemoryStore]) -> Iterator[str]:
    app, _, _ = site
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def test_boto3_under_a_prefix(served_site: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=served_site + "/s3",
        aws_access_key_id="AKIASITE",
        aws_secret_access_key="site-secret",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    s3.create_bucket(Bucket="mounted")
    s3.put_object(Bucket="mounted", Key="dir/a b+c", Body=b"payload")
    assert s3.get_object(Bucket="mounted", Key="dir/a b+c")["Body"].read() == b"payload"
    listing = s3.list_objects_v2(Bucket="mounted", Prefix="dir/")
    assert [o["Key"] for o in listing["Contents"]] == ["dir/a b+c"]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["mounted"]


def test_list_buckets_pages_with_max_buckets_and_prefix(served_site: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=served_site + "/s3",
        aws_access_key_id="AKIASITE",
        aws_secret_access_key="site-secret",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    for name in ("page-c", "page-a", "page-b", "other"):
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(MaxBuckets=2, Prefix="page-")
    assert [b["Name"] for b in first["Buckets"]] == ["page-a", "page-b"]
    second = s3.list_buckets(
        MaxBuckets=2, Prefix="page-", ContinuationToken=first["ContinuationToken"]
    )
    assert [b["Name"] for b in second["Buckets"]] == ["page-c"]
    assert "ContinuationToken" not in second
    assert len(s3.list_buckets()["Buckets"]) == 4
