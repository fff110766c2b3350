"""One boto3 + aws cli scenario against every shipped deployment target.

Targets: gunicorn (gunicorn.conf.py, 4 workers), uWSGI (deploy/uwsgi/boxdrive.ini), nginx
plain and TLS in front of gunicorn (deploy/nginx/*.conf with X-Accel-Redirect enabled), and
S3 under the /s3 prefix of the nginx host (X-Forwarded-Prefix from a trusted proxy).
nginx and uwsgi missing: skipped outside CI, failures in CI (``CI`` set).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from .deploy import (
    ACCEL_PREFIX,
    DEPLOY,
    Nginx,
    running_nginx,
    site_config,
    start_gunicorn,
    start_uwsgi,
    wait_ready,
)
from .servers import RunningServer, free_port
from .test_nginx_tls import self_signed_certificate

MB = 1024 * 1024


@dataclass
class Target:
    name: str
    endpoint: str
    backend: RunningServer
    verify: str | bool = True
    nginx: Nginx | None = None
    accel: bool = False
    big: bool = False
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_gunicorn(
        tmp_path_factory.mktemp("gunicorn-data"), tmp_path_factory.mktemp("gunicorn-log")
    )
    try:
        wait_ready(server.endpoint)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def uwsgi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_uwsgi(
        tmp_path_factory.mktemp("uwsgi-data"), tmp_path_factory.mktemp("uwsgi-log")
    )
    try:
        wait_ready(server.endpoint)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """gunicorn as nginx's upstream: trusts it for X-Forwarded-*, answers with X-Accel."""
    data_dir = tmp_path_factory.mktemp("proxied-data")
    server = start_gunicorn(
        data_dir,
        tmp_path_factory.mktemp("proxied-log"),
        workers=2,
        extra_env={
            "BOXDRIVE_TRUSTED_PROXIES": "127.0.0.1,::1",
            "BOXDRIVE_X_ACCEL_REDIRECT": ACCEL_PREFIX,
            "BOXDRIVE_METRICS": "1",  # test_metrics_only_from_this_host
        },
    )
    try:
        wait_ready(server.endpoint)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def nginx_plain(
    proxied: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    port = free_port()
    site = site_config(
        "boxdrive.conf",
        backend_port=proxied.port,
        port=port,
        data_dir=proxied.data_dir,
        enabled=("accel", "prefix"),
    )
    with running_nginx(site, tmp_path_factory.mktemp("nginx"), port) as nginx:
        yield nginx


@pytest.fixture(scope="module")
def nginx_tls(
    proxied: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Nginx, Path, int]]:
    prefix = tmp_path_factory.mktemp("nginx-tls")
    cert, key = self_signed_certificate(prefix)
    port, redirect = free_port(), free_port()
    site = site_config(
        "boxdrive-tls.conf",
        backend_port=proxied.port,
        port=port,
        data_dir=proxied.data_dir,
        tls=(cert, key),
        redirect_port=redirect,
        enabled=("accel", "prefix"),
    )
    with running_nginx(site, prefix, port) as nginx:
        yield nginx, cert, redirect


TARGETS = ["gunicorn", "uwsgi", "nginx", "nginx-tls", "nginx-prefix"]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> Target:
    name: str = request.param
    if name == "gunicorn":
        server: RunningServer = request.getfixturevalue("gunicorn")
        return Target(name, server.endpoint, server, big=True)
    if name == "uwsgi":
        server = request.getfixturevalue("uwsgi")
        return Target(name, server.endpoint, server)
    backend: RunningServer = request.getfixturevalue("proxied")
    if name == "nginx-tls":
        nginx, cert, _ = request.getfixturevalue("nginx_tls")
        endpoint = f"https://127.0.0.1:{nginx.port}"
        return Target(name, endpoint, backend, str(cert), nginx, accel=True, big=True)
    nginx = request.getfixturevalue("nginx_plain")
    endpoint = f"http://127.0.0.1:{nginx.port}" + ("/s3" if name == "nginx-prefix" else "")
    return Target(name, endpoint, backend, nginx=nginx, accel=True)


def client(target: Target, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=target.endpoint,
        aws_access_key_id=target.backend.access_key,
        aws_secret_access_key=target.backend.secret_key,
        region_name=target.backend.region,
        verify=target.verify,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            read_timeout=60,
            **config,
        ),
    )


def md5_of(body: Any) -> str:
    digest = hashlib.md5()
    for chunk in body.iter_chunks(MB):
        digest.update(chunk)
    return digest.hexdigest()


def aws_cli(target: Target, *args: str) -> str:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=target.backend.access_key,
        AWS_SECRET_ACCESS_KEY=target.backend.secret_key,
        AWS_DEFAULT_REGION=target.backend.region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    if isinstance(target.verify, str):
        env["AWS_CA_BUNDLE"] = target.verify
    done = subprocess.run(
        ["aws", "--endpoint-url", target.endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def accel_count(target: Target) -> int:
    """GETs nginx answered from the internal location (see NGINX_MAIN's log format)."""
    assert target.nginx is not None
    return target.nginx.access_log().count(f'GET "{ACCEL_PREFIX}')


def test_scenario(target: Target, tmp_path: Path) -> None:
    s3 = client(target)
    bucket = f"deploy-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    accelerated = accel_count(target) if target.accel else 0

    # Small objects: a key that nginx's URI handling would mangle, metadata, content headers.
    small = os.urandom(200_000)
    key = "dir/a b+c=d//e.bin"
    put = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=small,
        ContentType="application/x-test",
        ContentDisposition='attachment; filename="e.bin"',
        CacheControl="max-age=60",
    )
    etag = f'"{hashlib.md5(small).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == small
    assert got["ETag"] == etag and got["ContentLength"] == len(small)
    assert got["ContentType"] == "application/x-test"
    assert got["ContentDisposition"] == 'attachment; filename="e.bin"'
    assert got["CacheControl"] == "max-age=60"
    assert got["LastModified"] == s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    assert got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id")
    with_meta = s3.put_object(Bucket=bucket, Key="meta.bin", Body=small, Metadata={"k": "v"})
    got = s3.get_object(Bucket=bucket, Key="meta.bin")
    assert got["Body"].read() == small and got["Metadata"] == {"k": "v"}
    assert got["ETag"] == with_meta["ETag"]

    # Ranges: 206 + Content-Range whether the app or nginx (X-Accel-Redirect) sends them.
    for header, start, stop in (
        ("bytes=10-99", 10, 100),
        ("bytes=-100", len(small) - 100, len(small)),
        ("bytes=199000-", 199_000, len(small)),
    ):
        part = s3.get_object(Bucket=bucket, Key=key, Range=header)
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert part["ContentRange"] == f"bytes {start}-{stop - 1}/{len(small)}"
        assert part["Body"].read() == small[start:stop]
        assert part["ETag"] == etag
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, Range="bytes=300000-")
    assert exc.value.response["Error"]["Code"] == "InvalidRange"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"].read() == small

    # Multipart through upload_file; parallel ranged download (IfMatch on each part).
    source = tmp_path / "multi.bin"
    source.write_bytes(os.urandom(13 * MB))
    transfer = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_file(str(source), bucket, "multi.bin", Config=transfer)
    head = s3.head_object(Bucket=bucket, Key="multi.bin")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == 13 * MB
    s3.download_file(bucket, "multi.bin", str(tmp_path / "multi.out"), Config=transfer)
    assert (tmp_path / "multi.out").read_bytes() == source.read_bytes()

    # Presigned GETs: boto3's default (SigV2 query) and SigV4.
    for presigner in (client(target), client(target, signature_version="s3v4")):
        url = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
        )
        resp = requests.get(url, verify=target.verify, timeout=30)
        assert resp.status_code == 200, (url, resp.text)
        assert resp.content == small
        resp = requests.get(url, headers={"Range": "bytes=5-9"}, verify=target.verify, timeout=30)
        assert resp.status_code == 206 and resp.content == small[5:10]
    url = client(target, signature_version="s3v4").generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=300
    )
    assert requests.put(url, data=b"hello", verify=target.verify, timeout=30).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="presigned.txt")["Body"].read() == b"hello"

    if target.big:  # 100 MB one PUT, streamed both ways
        big = tmp_path / "big.bin"
        with big.open("wb") as f:
            for _ in range(100):
                f.write(os.urandom(MB))
        expected = hashlib.md5(big.read_bytes()).hexdigest()
        with big.open("rb") as f:
            assert s3.put_object(Bucket=bucket, Key="big.bin", Body=f)["ETag"] == f'"{expected}"'
        assert md5_of(s3.get_object(Bucket=bucket, Key="big.bin")["Body"]) == expected

    # The aws cli: upload, list, download.
    aws_cli(target, "s3", "cp", str(source), f"s3://{bucket}/cli/multi.bin")
    assert "cli/multi.bin" in aws_cli(target, "s3", "ls", f"s3://{bucket}", "--recursive")
    aws_cli(target, "s3", "cp", f"s3://{bucket}/cli/multi.bin", str(tmp_path / "cli.out"))
    assert (tmp_path / "cli.out").read_bytes() == source.read_bytes()

    if target.accel:  # nginx sent the plain GETs itself; metadata and If-Match: the app
        assert accel_count(target) > accelerated, target.nginx and target.nginx.access_log()

    objects = [{"Key": o["Key"]} for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=bucket)


def test_nginx_configs_share_their_opt_in_parts() -> None:
    """The plain and TLS configs carry the same #accel and #prefix blocks (kept in sync)."""

    def tagged(name: str) -> list[str]:
        lines = (DEPLOY / "nginx" / name).read_text().splitlines()
        return [
            line.replace("https://", "http://")
            for line in lines
            if line.lstrip().startswith(("#accel ", "#prefix "))
        ]

    assert tagged("boxdrive.conf") == tagged("boxdrive-tls.conf")


def test_x_accel_headers_through_nginx(
    nginx_plain: Nginx, proxied: RunningServer, tmp_path: Path
) -> None:
    target = Target("nginx", f"http://127.0.0.1:{nginx_plain.port}", proxied, nginx=nginx_plain)
    s3 = client(target)
    bucket = f"accel-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(3 * MB + 17)
    s3.put_object(Bucket=bucket, Key="k", Body=data, ContentLanguage="de", Tagging="a=b")
    head = s3.head_object(Bucket=bucket, Key="k")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    before = accel_count(target)
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == data
    assert accel_count(target) == before + 1  # nginx sent it
    raw = resp.raw.headers
    assert raw.getlist("ETag") == [head["ETag"]]  # the S3 ETag, not nginx's
    assert raw.getlist("Last-Modified") == [
        head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    ]
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["Content-Language"] == "de"
    assert resp.headers["x-amz-tagging-count"] == "1"
    assert resp.headers["x-amz-request-id"]
    assert "X-Accel-Redirect" not in resp.headers
    ranged = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == data[1000:2000]
    assert ranged.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert accel_count(target) == before + 2
    # The internal location is not reachable from outside.
    assert requests.get(target.endpoint + "/_boxdrive_internal/s3.db", timeout=10).status_code in (
        403,
        404,
    )
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_x_accel_while_overwritten(nginx_plain: Nginx, proxied: RunningServer) -> None:
    """GETs racing overwrites get one whole version or the other, never an error: a content
    file unlinked between the app's answer and nginx's open sends nginx back to the app."""
    target = Target("nginx", f"http://127.0.0.1:{nginx_plain.port}", proxied, nginx=nginx_plain)
    s3 = client(target)
    bucket = f"race-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    versions = [os.urandom(64 * 1024), os.urandom(80 * 1024)]
    s3.put_object(Bucket=bucket, Key="k", Body=versions[0])
    stop = threading.Event()
    errors: list[BaseException] = []

    def overwrite() -> None:
        writer = client(target)
        n = 0
        while not stop.is_set():
            try:
                writer.put_object(Bucket=bucket, Key="k", Body=versions[n % 2])
            except BaseException as exc:
                errors.append(exc)
                return
            n += 1

    thread = threading.Thread(target=overwrite)
    thread.start()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    try:
        with requests.Session() as session:
            for _ in range(150):
                resp = session.get(url, timeout=30)
                assert resp.status_code == 200, resp.text
                assert resp.content in versions
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


#: Another loopback address than the 127.0.0.1 the shipped configs allow: a client elsewhere.
OUTSIDE = "127.0.0.2"


def status_from(source: str, port: int, path: str, cert: Path | None) -> int:
    """The status nginx answers ``GET path`` from the address ``source``."""
    conn: http.client.HTTPConnection
    if cert is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    else:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, source_address=(source, 0), context=context
        )
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("front", ["nginx_plain", "nginx_tls"])
def test_metrics_only_from_this_host(front: str, request: pytest.FixtureRequest) -> None:
    """The shipped nginx configs serve /-/metrics (no credentials) to this host only, in
    every spelling nginx normalises to it; the health checks stay open."""
    if front == "nginx_tls":
        nginx, cert, _ = request.getfixturevalue(front)
    else:
        nginx, cert = request.getfixturevalue(front), None
    assert status_from("127.0.0.1", nginx.port, "/-/metrics", cert) == 200
    for path in ("/-/metrics", "/-/metrics?x=1", "/-/%6Detrics", "/-//metrics", "/-/./metrics"):
        assert status_from(OUTSIDE, nginx.port, path, cert) == 403, path
    assert status_from(OUTSIDE, nginx.port, "/-/health/live", cert) == 200
    assert status_from(OUTSIDE, nginx.port, "/-/health/ready", cert) == 200
