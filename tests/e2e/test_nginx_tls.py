"""boto3 over HTTPS through nginx terminating TLS in front of waitress.

Over https botocore leaves the payload unsigned and sends the SDK's default CRC32 as an
aws-chunked trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER): this checks that the framing
survives nginx streaming it (request buffering off) and that the server decodes and keeps
the checksum. nginx: ``apt-get install nginx-light`` (``.ci/run`` does that); outside CI a
missing nginx skips these tests, in CI (``CI`` set) it fails them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
import zlib
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from .servers import RunningServer, free_port, running_waitress


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        message = "nginx is not installed (apt-get install -y nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the nginx TLS tests")
        pytest.skip(message)
    return found


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


NGINX_CONF = """\
{user}worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 128; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/client;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_max_body_size 0;
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }}
    }}
}}
"""


@dataclass
class TlsFront:
    endpoint: str
    cert: Path
    backend: RunningServer
    error_log: Path


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer on {port}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsFront]:
    with nginx_tls_front(tmp_path_factory) as front:
        yield front


@contextmanager
def nginx_tls_front(
    tmp_path_factory: pytest.TempPathFactory,
    extra_env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[TlsFront]:
    """nginx terminating TLS in front of a waitress (``extra_env``: its BOXDRIVE_*,
    ``extra_args``: waitress options)."""
    nginx = nginx_binary()
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "tmp").mkdir()
    cert, key = self_signed_certificate(prefix)
    data_dir = data_dir or tmp_path_factory.mktemp("tls-data")
    with running_waitress(
        data_dir, log_dir=prefix, extra_env=extra_env, extra_args=extra_args
    ) as backend:
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                # As root, nginx hands requests to workers running as "nobody", who could not
                # read the pytest temp dirs (mode 0700); keep them as root here.
                user="user root;\n" if os.geteuid() == 0 else "",
                prefix=prefix,
                port=port,
                cert=cert,
                key=key,
                backend=backend.port,
            )
        )
        stderr_log = prefix / "nginx.stderr"
        with stderr_log.open("wb") as out:
            proc = subprocess.Popen(
                [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_port(port, proc, stderr_log)
            yield TlsFront(f"https://127.0.0.1:{port}", cert, backend, prefix / "error.log")
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def tls_client(tls: TlsFront, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=tls.endpoint,
        aws_access_key_id=tls.backend.access_key,
        aws_secret_access_key=tls.backend.secret_key,
        region_name=tls.backend.region,
        verify=str(tls.cert),
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            read_timeout=60,
            **config,
        ),
    )


def crc32(data: bytes) -> str:
    return b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_boto3_through_nginx_tls(tls: TlsFront) -> None:
    s3 = tls_client(tls)
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        headers = {
            k.lower(): (v.decode() if isinstance(v, bytes) else v)
            for k, v in request.headers.items()
        }
        sent.append(headers)

    s3.meta.events.register("before-send.s3.PutObject", record)
    s3.create_bucket(Bucket="tls")
    small = os.urandom(300_000)
    s3.put_object(Bucket="tls", Key="small.bin", Body=small, ContentType="application/x-test")
    assert sent[-1]["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert "aws-chunked" in sent[-1]["content-encoding"]
    assert sent[-1]["x-amz-trailer"] == "x-amz-checksum-crc32"

    got = s3.get_object(Bucket="tls", Key="small.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == small  # the framing was decoded, not stored
    assert got["ContentLength"] == len(small)
    assert got["ChecksumCRC32"] == crc32(small)  # the trailer's checksum was kept
    assert got["ContentType"] == "application/x-test"

    large = os.urandom(20 * 1024 * 1024)
    put = s3.put_object(Bucket="tls", Key="large.bin", Body=large)
    assert put["ETag"] == f'"{hashlib.md5(large).hexdigest()}"'
    assert sent[-1]["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    body = s3.get_object(Bucket="tls", Key="large.bin")["Body"]
    digest = hashlib.md5()
    for chunk in body.iter_chunks(1024 * 1024):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.md5(large).hexdigest()
    head = s3.head_object(Bucket="tls", Key="large.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(large) and head["ChecksumCRC32"] == crc32(large)

    listing = s3.list_objects_v2(Bucket="tls")
    assert [(o["Key"], o["Size"]) for o in listing["Contents"]] == [
        ("large.bin", len(large)),
        ("small.bin", len(small)),
    ]

    for presigner in (s3, tls_client(tls, signature_version="s3v4")):
        url = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": "tls", "Key": "small.bin"}, ExpiresIn=300
        )
        assert url.startswith("https://")
        resp = requests.get(url, verify=str(tls.cert), timeout=30)
        assert resp.status_code == 200 and resp.content == small

    s3.delete_objects(
        Bucket="tls", Delete={"Objects": [{"Key": "small.bin"}, {"Key": "large.bin"}]}
    )
    s3.delete_bucket(Bucket="tls")


def test_wrong_secret_through_nginx(tls: TlsFront) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=tls.endpoint,
        aws_access_key_id=tls.backend.access_key,
        aws_secret_access_key="wrong",
        region_name=tls.backend.region,
        verify=str(tls.cert),
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(Exception) as exc:
        s3.list_buckets()
    assert "SignatureDoesNotMatch" in str(exc.value)
    assert tls.backend.secret_key not in tls.backend.log()


def test_untrusted_certificate_is_refused(tls: TlsFront) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls.endpoint, timeout=10)
