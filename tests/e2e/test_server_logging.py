"""Server access logging over real servers (waitress, and gunicorn with 2 workers): the
target check, one record per request delivered as objects into the target bucket in S3's
format, nothing secret in them, no record lost when the server stops gracefully, and
deliveries never logged themselves."""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import make_client
from .deploy import start_gunicorn, start_uwsgi, wait_ready
from .servers import SERVERS, RunningServer, running_shipped

LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


def allow_logging(s3, target: str, prefix: str, source: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{target}/{prefix}*",
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source}"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps(policy))


def enable(s3, source: str, target: str, prefix: str) -> None:
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix}},
    )


def logging_pair(s3, source: str, target: str, prefix: str) -> None:
    """Two new buckets, ``source`` logging into ``target`` under ``prefix``."""
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    allow_logging(s3, target, prefix, source)
    enable(s3, source, target, prefix)


def records(s3, bucket: str, prefix: str = "") -> dict[str, list[list[str]]]:
    """Log object key -> its records, each split as ceph s3-tests split them."""
    out = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        out[item["Key"]] = [
            shlex.split(line.replace("[", '"').replace("]", '"')) for line in body.splitlines()
        ]
    return out


def request_ids(found: dict[str, list[list[str]]]) -> list[str]:
    return [fields[5] for lines in found.values() for fields in lines]


def wait_for(
    s3, bucket: str, prefix: str, ids: set[str], timeout: float = 30
) -> dict[str, list[list[str]]]:
    deadline = time.monotonic() + timeout
    while True:
        found = records(s3, bucket, prefix)
        if ids <= set(request_ids(found)) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def capture_ids(s3) -> list[str]:
    ids: list[str] = []

    def after(**kwargs: object) -> None:
        response = kwargs["http_response"]
        ids.append(response.headers["x-amz-request-id"])  # type: ignore[attr-defined]

    s3.meta.events.register("after-call.s3", after)
    return ids


@pytest.fixture(params=SERVERS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fast(kind: str, tmp_path: Path) -> Iterator[RunningServer]:
    env = {"BOXDRIVE_LOGGING_FLUSH_SECONDS": "1"}
    with running_shipped(kind, tmp_path / "data", tmp_path, extra_env=env) as server:
        yield server


def test_target_must_exist_and_allow_the_logging_service(fast: RunningServer) -> None:
    s3 = make_client(fast)
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="logs")
    for target in ("nope", "logs"):  # missing; no policy nor ACL for the service
        with pytest.raises(ClientError) as caught:
            enable(s3, "src", target, "p/")
        assert caught.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="src")
    allow_logging(s3, "logs", "other/", "src")  # another prefix only
    with pytest.raises(ClientError):
        enable(s3, "src", "logs", "p/")
    s3.put_bucket_acl(
        Bucket="logs", GrantWrite=f'uri="{LOG_DELIVERY}"', GrantFullControl=f'id="{owner(s3)}"'
    )
    enable(s3, "src", "logs", "p/")  # the LogDelivery group's WRITE is enough
    got = s3.get_bucket_logging(Bucket="src")["LoggingEnabled"]
    assert (got["TargetBucket"], got["TargetPrefix"]) == ("logs", "p/")
    bad = {"PartitionedPrefix": {"PartitionDateSource": "kaboom"}}
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_logging(
            Bucket="src",
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": "logs",
                    "TargetPrefix": "p/",
                    "TargetObjectKeyFormat": bad,
                }
            },
        )
    assert caught.value.response["Error"]["Code"] == "MalformedXML"
    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="src")


def owner(s3) -> str:
    return str(s3.list_buckets()["Owner"]["ID"])


def test_every_request_is_delivered_once_in_s3s_format(fast: RunningServer) -> None:
    s3 = make_client(fast)
    logging_pair(s3, "src", "logs", "log/")
    ids = capture_ids(s3)
    for n in range(20):
        s3.put_object(Bucket="src", Key=f"k{n}", Body=b"x" * n)
        s3.get_object(Bucket="src", Key=f"k{n}")["Body"].read()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "src", "Key": "k3"})
    presigned = requests.get(url, timeout=10)
    anonymous = requests.get(f"{fast.endpoint}/src/k4", timeout=10)
    assert (presigned.status_code, anonymous.status_code) == (200, 403)
    s3.put_object_acl(Bucket="src", Key="k5", ACL="public-read")
    by_acl = requests.get(f"{fast.endpoint}/src/k5", timeout=10)
    assert by_acl.status_code == 200
    expected = set(ids) | {  # the ids before any listing of the logs
        presigned.headers["x-amz-request-id"],
        anonymous.headers["x-amz-request-id"],
        by_acl.headers["x-amz-request-id"],
    }
    found = wait_for(s3, "logs", "log/", expected)
    delivered = request_ids(found)
    assert sorted(delivered) == sorted(expected)  # each once: none lost, none doubled
    lines = [fields for batch in found.values() for fields in batch]
    assert all(len(fields) == 26 for fields in lines)
    by_id = {fields[5]: fields for fields in lines}
    put = by_id[ids[2]]
    assert put[:2] == [owner(s3), "src"] and put[6:8] == ["REST.PUT.OBJECT", "k1"]
    assert put[9] == "200" and put[19:22] == ["SigV4", "-", "AuthHeader"]
    denied = by_id[anonymous.headers["x-amz-request-id"]]
    assert denied[4] == "-" and denied[9:11] == ["403", "AccessDenied"] and denied[21] == "-"
    assert by_id[by_acl.headers["x-amz-request-id"]][25] == "Yes"  # an ACL let it in
    assert put[25] == "-" and denied[25] == "-"
    query = by_id[presigned.headers["x-amz-request-id"]]
    assert query[21] == "QueryString" and query[6] == "REST.GET.OBJECT"
    text = json.dumps(found)
    assert fast.secret_key not in text
    signature = url.split("Signature=")[1].split("&")[0]
    assert signature not in text and "REDACTED" in text
    for key in found:
        assert key.startswith("log/") and len(key.split("-")[-1]) == 16


def test_logging_into_the_source_bucket_logs_no_deliveries(fast: RunningServer) -> None:
    s3 = make_client(fast)
    s3.create_bucket(Bucket="self")
    allow_logging(s3, "self", "log/", "self")
    enable(s3, "self", "self", "log/")
    ids = capture_ids(s3)
    s3.put_object(Bucket="self", Key="data", Body=b"1")
    wanted = set(ids)  # later listings add theirs
    found = wait_for(s3, "self", "log/", wanted)
    assert wanted <= set(request_ids(found))
    time.sleep(3)  # three flush periods without requests to the bucket... but the
    # listings above were requests to it: they are logged, the deliveries are not.
    before = records(s3, "self", "log/")
    time.sleep(3)
    after = records(s3, "self", "log/")
    logged = {fields[6] for batch in after.values() for fields in batch}
    assert "REST.PUT.OBJECT" in logged
    # the only new records are those of our own listing and reads (GET BUCKET / OBJECT)
    new = [f for k, batch in after.items() for f in batch if k not in before]
    assert all(f[6] in ("REST.GET.BUCKET", "REST.GET.OBJECT") for f in new)
    assert all(f[4] == owner(s3) for f in new)  # requested by us, not by a delivery


@pytest.mark.parametrize("server_kind", SERVERS)
def test_graceful_shutdown_delivers_what_is_queued(server_kind: str, tmp_path: Path) -> None:
    env = {"BOXDRIVE_LOGGING_FLUSH_SECONDS": "3600"}  # only the shutdown can deliver
    data = tmp_path / "data"
    with running_shipped(server_kind, data, tmp_path, extra_env=env) as server:
        s3 = make_client(server)
        logging_pair(s3, "src", "logs", "")
        ids = capture_ids(s3)
        for n in range(30):
            s3.put_object(Bucket="src", Key=f"k{n}", Body=b"x")
        wanted = list(ids)  # not the listing's (the logs bucket logs nothing)
        assert records(s3, "logs") == {}  # nothing due yet
        keys = dict(env, BOXDRIVE_ACCESS_KEY=server.access_key)
        secret = server.secret_key
        server.stop()
        assert server.proc.returncode is not None
    keys["BOXDRIVE_SECRET_KEY"] = secret
    with running_shipped(server_kind, data, tmp_path, extra_env=keys) as again:
        found = records(make_client(again), "logs")
    assert sorted(request_ids(found)) == sorted(wanted)


def _served_by(server: RunningServer, bucket: str) -> set[int]:
    """Worker pids that answered a PutObject into ``bucket`` (the app's access log)."""
    pattern = rf"operation=PutObject bucket={re.escape(bucket)} status=200 .*pid=(\d+)"
    return {int(pid) for pid in re.findall(pattern, server.log())}


def _puts_on_every_worker(server: RunningServer, bucket: str, workers: int) -> list[str]:
    """PutObjects into ``bucket`` from several connections at once, until each of the
    ``workers`` processes has answered some: their request ids."""
    ids: list[str] = []
    for round_ in range(20):
        clients = [make_client(server) for _ in range(6)]  # a connection each
        per_client = [capture_ids(c) for c in clients]

        def put(client: Any, name: str) -> None:
            for k in range(5):
                client.put_object(Bucket=bucket, Key=f"{name}-{k}", Body=b"x")

        names = [f"r{round_}-c{n}" for n in range(len(clients))]
        with ThreadPoolExecutor(len(clients)) as pool:
            list(pool.map(put, clients, names))
        ids += [i for captured in per_client for i in captured]
        if len(_served_by(server, bucket)) >= workers:
            return ids
    raise AssertionError(f"the puts never reached {workers} workers: {_served_by(server, bucket)}")


@pytest.mark.parametrize("deployment", ["gunicorn", "uwsgi"])
def test_sigterm_on_several_workers_loses_no_record(deployment: str, tmp_path: Path) -> None:
    """Every worker holds its own queued records when the server is told to stop
    (SIGTERM to gunicorn's arbiter or uWSGI's master, as systemd does): each delivers its
    own before it exits, none lost, none twice."""
    env = {"BOXDRIVE_LOGGING_FLUSH_SECONDS": "3600"}  # only the shutdown can deliver
    data = tmp_path / "data"
    if deployment == "gunicorn":
        server = start_gunicorn(data, tmp_path, workers=2, extra_env=env)
    else:
        server = start_uwsgi(data, tmp_path, processes=2, extra_env=env)
    try:
        wait_ready(server.endpoint)
        s3 = make_client(server)
        logging_pair(s3, "src", "logs", "")
        wanted = _puts_on_every_worker(server, "src", workers=2)
        assert records(s3, "logs") == {}  # nothing due yet
        keys = dict(env, BOXDRIVE_ACCESS_KEY=server.access_key)
        keys["BOXDRIVE_SECRET_KEY"] = server.secret_key
        # An upload in flight when the stop comes: the server lets it finish (graceful),
        # and the worker that served it still delivers everything it holds.
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "src", "Key": "slow"})
        with socket.create_connection((server.host, server.port), timeout=30) as slow:
            target = url.split(f"{server.port}", 1)[1]
            head = f"PUT {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            slow.sendall(f"{head}Content-Length: 4\r\nConnection: close\r\n\r\nab".encode())
            time.sleep(1.0)  # a worker has taken it and is reading the body
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(1.5)
            slow.sendall(b"cd")
            answer = slow.recv(65536).decode()
        assert answer.startswith("HTTP/1.1 200"), answer
        wanted.append(re.findall(r"(?i)x-amz-request-id: (\w+)", answer)[0])
        server.proc.wait(timeout=60)
    finally:
        server.stop()
    with running_shipped("waitress", data, tmp_path, extra_env=keys) as again:
        found = records(make_client(again), "logs")
    assert sorted(request_ids(found)) == sorted(wanted)
    assert len(found) >= 2  # each worker wrote its own object


def test_taking_the_permission_away_stops_deliveries(fast: RunningServer) -> None:
    s3 = make_client(fast)
    logging_pair(s3, "src", "logs", "log/")
    ids = capture_ids(s3)
    s3.put_object(Bucket="src", Key="before", Body=b"1")
    wanted = set(ids)
    assert wanted <= set(request_ids(wait_for(s3, "logs", "log/", wanted)))
    s3.delete_bucket_policy(Bucket="logs")
    s3.put_object(Bucket="src", Key="after", Body=b"1")
    time.sleep(4)  # well past the 1 s flush
    keys = {fields[7] for batch in records(s3, "logs", "log/").values() for fields in batch}
    assert "before" in keys and "after" not in keys
    assert "no longer lets the logging service write" in fast.log()


def test_delete_objects_logs_the_request_then_each_key(fast: RunningServer) -> None:
    s3 = make_client(fast)
    logging_pair(s3, "src", "logs", "log/")
    s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="src", Key="old", Body=b"1")["VersionId"]
    s3.put_object(Bucket="src", Key="k 1", Body=b"1")
    ids = capture_ids(s3)
    too_long = "x" * 1025
    keys = [{"Key": "k 1"}, {"Key": "old", "VersionId": version}, {"Key": "never"}]
    result = s3.delete_objects(Bucket="src", Delete={"Objects": [*keys, {"Key": too_long}]})
    assert [e["Code"] for e in result["Errors"]] == ["KeyTooLongError"]
    markers = {d["Key"]: d.get("DeleteMarkerVersionId") for d in result["Deleted"]}
    request_id = ids[-1]
    found = wait_for(s3, "logs", "log/", {request_id})
    lines = [f for batch in found.values() for f in batch if f[5] == request_id]
    assert all(len(fields) == 26 for fields in lines)
    assert [f[6] for f in lines] == ["REST.POST.MULTI_OBJECT_DELETE"] + ["BATCH.DELETE.OBJECT"] * 4
    request, *per_key = lines
    assert request[7] == "-" and request[8].startswith("POST /src?delete") and request[9] == "200"
    assert [(f[7], f[9], f[10], f[17]) for f in per_key] == [
        ("k%201", "204", "-", markers["k 1"]),  # a delete marker made
        ("old", "204", "-", version),  # a version removed
        ("never", "204", "-", markers["never"]),  # one where there was nothing, too
        (too_long, "400", "KeyTooLongError", "-"),
    ]
    assert all(f[:5] == request[:5] and f[19:23] == request[19:23] for f in per_key)
    assert all(f[8] == "-" and f[11] == "-" for f in per_key)
