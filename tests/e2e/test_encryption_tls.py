"""SSE over TLS through nginx (issue 16): SSE-C is accepted because the request came
through a trusted TLS proxy (X-Forwarded-Proto: https), with no BOXDRIVE_SSE_C_ALLOW_HTTP;
SSE-KMS and default encryption work the same behind it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import make_client
from .servers import running_shipped
from .test_nginx_tls import TlsFront, nginx_tls_front, tls_client

KMS_KEY = "tls-key"
KEY = os.urandom(32)
SSE_C: dict[str, object] = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
DATA = os.urandom(200_000)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsFront]:
    data_dir = tmp_path_factory.mktemp("sse-tls-data")
    subprocess.run(
        [sys.executable, "-m", "boxdrive_wsgi.cli", "kms", "create", KMS_KEY,
         "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    env = {"BOXDRIVE_TRUSTED_PROXIES": "127.0.0.1"}
    # waitress drops X-Forwarded-* itself unless told not to; web/proxy.py decides whom to
    # trust (``boxdrive-wsgi serve`` sets this when BOXDRIVE_TRUSTED_PROXIES is set)
    keep = ("--no-clear-untrusted-proxy-headers",)
    with nginx_tls_front(tmp_path_factory, env, data_dir, keep) as tls:
        yield tls


def test_sse_c_through_trusted_tls_proxy(front: TlsFront) -> None:
    s3 = tls_client(front)
    s3.create_bucket(Bucket="tls-ssec")
    put = s3.put_object(Bucket="tls-ssec", Key="c", Body=DATA, **SSE_C)
    assert put["SSECustomerAlgorithm"] == "AES256"
    got = s3.get_object(Bucket="tls-ssec", Key="c", Range="bytes=100000-100099", **SSE_C)
    assert got["Body"].read() == DATA[100000:100100]
    assert s3.get_object(Bucket="tls-ssec", Key="c", **SSE_C)["Body"].read() == DATA
    # The same server over plain HTTP, not through the proxy: SSE-C is refused.
    plain = make_client(front.backend)
    with pytest.raises(ClientError) as caught:
        plain.put_object(Bucket="tls-ssec", Key="clear", Body=b"x", **SSE_C)
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"
    with pytest.raises(ClientError):
        plain.head_object(Bucket="tls-ssec", Key="clear")


def test_kms_and_default_encryption_through_tls(front: TlsFront) -> None:
    s3 = tls_client(front)
    s3.create_bucket(Bucket="tls-kms")
    s3.put_object(
        Bucket="tls-kms", Key="k", Body=DATA, ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY
    )
    head = s3.head_object(Bucket="tls-kms", Key="k")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket="tls-kms", ServerSideEncryptionConfiguration={"Rules": [rule]})
    s3.put_object(Bucket="tls-kms", Key="d", Body=DATA)
    assert s3.head_object(Bucket="tls-kms", Key="d")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="tls-kms", Key="d")["Body"].read() == DATA


@pytest.mark.parametrize("kind", ["waitress", "gunicorn"])
def test_shipped_servers_honour_a_trusted_tls_proxy(tmp_path: Path, kind: str) -> None:
    """``boxdrive-wsgi serve`` and gunicorn pass X-Forwarded-Proto on to web/proxy.py: SSE-C
    from a trusted proxy that terminated TLS is accepted, without it refused."""
    env = {"BOXDRIVE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_shipped(kind, tmp_path / "data", tmp_path, extra_env=env) as srv:
        s3 = make_client(srv)
        s3.create_bucket(Bucket="proxied")
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket="proxied", Key="c", Body=b"x", **SSE_C)
        assert caught.value.response["Error"]["Code"] == "InvalidRequest"

        def forwarded(request: Any, **_: Any) -> None:
            request.headers["X-Forwarded-Proto"] = "https"

        s3.meta.events.register("before-sign.s3", forwarded)
        s3.put_object(Bucket="proxied", Key="c", Body=b"secret", **SSE_C)
        assert s3.get_object(Bucket="proxied", Key="c", **SSE_C)["Body"].read() == b"secret"
