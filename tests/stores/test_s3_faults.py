"""S3Store when upstream misbehaves: odd errors, broken proxies, dropped connections
(503 / 502 with upstream's code in the log, never a 500 with a traceback), and an
upstream that ignores conditional writes (501, never a silent overwrite)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from boxdrive_wsgi.stores.base import (
    BackendError,
    BucketAlreadyExists,
    NotSupported,
    StoreError,
    StoreUnavailable,
)
from boxdrive_wsgi.stores.model import WriteOptions
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.web.store_errors import to_s3_error
from tests.e2e.servers import RunningServer, running_waitress

from . import s3_upstream
from .faulty_s3 import Fault, FaultyS3

SECRET = "faulty-secret-never-logged"


@pytest.fixture
def faulty() -> Iterator[FaultyS3]:
    server = FaultyS3()
    yield server
    server.close()


def store_over(faulty: FaultyS3, *, bucket: str | None = "up") -> S3Store:
    client = boto3.client(
        "s3",
        endpoint_url=faulty.endpoint,
        aws_access_key_id="AK",
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 1},
            connect_timeout=2,
            read_timeout=2,
        ),
    )
    return S3Store(bucket=bucket, client=client)


CASES = {
    "slow-down": (Fault(503, "SlowDown", retry_after="7"), StoreUnavailable, "SlowDown", "7"),
    "throttled-429": (Fault(429, "TooManyRequests"), StoreUnavailable, "SlowDown", "1"),
    "internal-error": (Fault(500, "InternalError"), StoreUnavailable, "ServiceUnavailable", "1"),
    "proxy-html-502": (
        Fault(502, None, body=b"<html><body>Bad Gateway</body></html>"),
        StoreUnavailable,
        "ServiceUnavailable",
        "1",
    ),
    "dropped": (Fault(drop=True), StoreUnavailable, "ServiceUnavailable", "1"),
    "unknown-code": (Fault(400, "SomeNewUpstreamError"), BackendError, "BadGateway", None),
    "access-denied": (Fault(403, "AccessDenied"), BackendError, "BadGateway", None),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("operation", ["head_object", "put_object", "list_buckets", "list_objects"])
def test_upstream_failures_become_503_or_502(
    faulty: FaultyS3, case: str, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    fault, kind, code, retry_after = CASES[case]
    faulty.fault = fault
    # 1:1 mode where prefix mode would HEAD the bucket's marker first
    direct = operation in ("list_buckets", "put_object")
    store = store_over(faulty, bucket=None if direct else "up")
    calls = {
        "head_object": lambda: store.head_object("b", "k"),
        "put_object": lambda: store.put_object("b", "k", io.BytesIO(b"data"), size=4),
        "list_buckets": store.list_buckets,
        "list_objects": lambda: store.list_objects("b"),
    }
    with pytest.raises(StoreError) as caught:
        calls[operation]()
    assert type(caught.value) is kind
    with caplog.at_level(logging.WARNING):
        error = to_s3_error(caught.value)
    bodiless = operation == "head_object"  # a HEAD answer has no error code: its status
    if bodiless and code == "SlowDown" and fault.status == 503:
        code = "ServiceUnavailable"
    assert (error.code, error.headers.get("Retry-After")) == (code, retry_after)
    assert error.status == (503 if kind is StoreUnavailable else 502)
    logged = caplog.text
    if fault.code and not fault.drop:
        expected = f"HTTP {fault.status}" if bodiless else fault.code
        assert expected in logged, "upstream's code belongs in the server log"
    assert SECRET not in logged and SECRET not in str(caught.value)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def front(faulty: FaultyS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "BOXDRIVE_STORE": "s3",
        "BOXDRIVE_S3_ENDPOINT_URL": faulty.endpoint,
        "BOXDRIVE_S3_ACCESS_KEY": "AK",
        "BOXDRIVE_S3_SECRET_KEY": SECRET,
    }
    with running_waitress(tmp_path_factory.mktemp("front"), extra_env=env) as server:
        yield server


def test_clients_see_503_and_502_not_500(faulty: FaultyS3, front: RunningServer) -> None:
    client = s3_upstream.client(front)  # one attempt: no retries hide an answer
    for fault, status, code in [
        (Fault(503, "SlowDown", retry_after="3"), 503, "SlowDown"),
        (Fault(drop=True), 503, "ServiceUnavailable"),
        (Fault(418, "Teapot"), 502, "BadGateway"),
    ]:
        faulty.fault = fault
        with pytest.raises(ClientError) as caught:
            client.get_object(Bucket="b", Key="k")
        response = caught.value.response
        assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (
            status,
            code,
        )
        if status == 503:
            assert int(response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    log = front.log()
    assert "Traceback" not in log
    assert "SlowDown" in log and "Teapot" in log
    assert SECRET not in log


# --------------------------------------------------------------------------- conditional writes


@pytest.fixture
def forgetful() -> Iterator[S3Store]:
    store = s3_upstream.make_store(store="make_forgetful_upstream_store")
    store.create_bucket("b")
    yield store
    store.close()


def test_ignored_if_none_match_is_refused_not_overwritten(forgetful: S3Store) -> None:
    first = forgetful.put_object("b", "k", io.BytesIO(b"first"), size=5)
    with pytest.raises(NotSupported):
        forgetful.put_object("b", "k", io.BytesIO(b"second"), size=6, options=WriteOptions.create())
    with pytest.raises(NotSupported):
        forgetful.put_object(
            "b", "k", io.BytesIO(b"third"), size=5, options=WriteOptions.update(first.etag)
        )
    assert forgetful.get_object("b", "k").read_all() == b"first"
    # probed once, and the probe left nothing behind
    support = forgetful.conditional_writes.probed
    assert support is not None and not (support.put.if_none_match or support.put.if_match)
    raw = s3_upstream.client(s3_upstream.upstream("make_forgetful_upstream_store"))
    keys = [
        o["Key"]
        for o in raw.list_objects_v2(Bucket=s3_upstream.UPSTREAM_BUCKET).get("Contents", [])
    ]
    assert not [k for k in keys if k.startswith(forgetful.prefix + ".probe/")]


def test_bucket_creation_still_refuses_a_taken_name(forgetful: S3Store) -> None:
    """The marker can no longer be created atomically: look first, never overwrite."""
    forgetful.create_bucket("taken", owner="alice")
    with pytest.raises(BucketAlreadyExists) as caught:
        forgetful.create_bucket("taken", owner="bob")
    assert caught.value.owner == "alice"
    assert forgetful.head_bucket("taken").owner == "alice"


def test_honoured_conditions_are_probed_as_such() -> None:
    store = s3_upstream.make_store()
    try:
        store.create_bucket("b")
        store.put_object("b", "k", io.BytesIO(b"1"), size=1, options=WriteOptions.create())
        support = store.conditional_writes.probed
        assert support is not None and support.all_honoured, support
    finally:
        store.close()
