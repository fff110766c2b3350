"""A node whose upstream is down, silent or fine: clients get 503 ServiceUnavailable with
Retry-After within the configured timeouts (never a hang, never a 500), and readiness
says what the upstream is doing."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e.servers import RunningServer, free_port, server_env, start_server, waitress_argv

from . import nodes, upstreams

pytestmark = pytest.mark.timeout(120)


@contextlib.contextmanager
def node(tmp_path: Path, **settings: str) -> Iterator[RunningServer]:
    port = free_port()
    env = server_env(
        tmp_path,
        extra={
            "BOXDRIVE_STORE": "s3",
            "BOXDRIVE_S3_BUCKET": "upstream",
            "BOXDRIVE_S3_ACCESS_KEY": "upstream-access",
            "BOXDRIVE_S3_SECRET_KEY": "upstream-secret",
            **settings,
        },
    )
    server = start_server(waitress_argv(port), env, port=port, log_dir=tmp_path)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def silent_upstream() -> Iterator[str]:
    """Accepts connections and reads requests, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def refused(call: Any) -> tuple[ClientError, float]:
    started = time.monotonic()
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value, time.monotonic() - started


def assert_unavailable(error: ClientError) -> None:
    response: Any = error.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert response["Error"]["Code"] == "ServiceUnavailable"
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) > 0


def client_of(server: RunningServer) -> Any:
    return nodes.client(server.endpoint, (server.access_key, server.secret_key), read_timeout=60)


def test_upstream_down_is_503_at_once(tmp_path: Path) -> None:
    with node(tmp_path, BOXDRIVE_S3_ENDPOINT_URL=closed_port()) as server:
        client = client_of(server)
        for call in (
            lambda: client.list_buckets(),
            lambda: client.put_object(Bucket="some-bucket", Key="k", Body=b"x"),
            lambda: client.get_object(Bucket="some-bucket", Key="k"),
        ):
            error, elapsed = refused(call)
            assert_unavailable(error)
            # two attempts (the default) with a short back-off, not boto3's default 3 x 60 s
            assert elapsed < 5, f"{elapsed:.1f}s to say the upstream is down"
        ready = requests.get(server.endpoint + "/-/health/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["error"] == "StoreUnavailable"
        assert "unreachable" in ready.json()["detail"]
        assert "Traceback" not in server.log()


def test_upstream_silent_is_503_after_the_read_timeout(tmp_path: Path) -> None:
    with (
        silent_upstream() as endpoint,
        node(
            tmp_path,
            BOXDRIVE_S3_ENDPOINT_URL=endpoint,
            BOXDRIVE_S3_READ_TIMEOUT="1",
            BOXDRIVE_S3_MAX_ATTEMPTS="1",
        ) as server,
    ):
        client = client_of(server)
        error, elapsed = refused(lambda: client.head_bucket(Bucket="some-bucket"))
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]
        error, elapsed = refused(
            lambda: client.put_object(Bucket="some-bucket", Key="k", Body=b"x")
        )
        assert_unavailable(error)
        assert elapsed < 5, f"{elapsed:.1f}s with a 1 s read timeout and one attempt"


def test_readiness_reports_the_upstream(tmp_path: Path) -> None:
    upstream = upstreams.get("moto", tenant="faults")
    with contextlib.suppress(ClientError):
        upstream.client().create_bucket(Bucket="upstream")
    with node(
        tmp_path,
        BOXDRIVE_S3_ENDPOINT_URL=upstream.endpoint,
        BOXDRIVE_S3_ACCESS_KEY=upstream.access_key,
        BOXDRIVE_S3_SECRET_KEY=upstream.secret_key,
    ) as server:
        ready = requests.get(server.endpoint + "/-/health/ready", timeout=30)
        assert ready.status_code == 200, ready.text
        report = ready.json()["upstream"]
        assert report["endpoint"] == upstream.endpoint
        assert report["bucket"] == "upstream"
        assert report["latency_ms"] >= 0
        # probed by this very check, at start-up, before any client write
        found = report["conditional_writes"]
        assert set(found) == {"put", "copy", "complete", "copy_source"}, found
        assert found["put"] == {"if_none_match": True, "if_match": True, "etag_form": "quoted"}
        assert upstream.secret_key not in ready.text
