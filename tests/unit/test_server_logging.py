"""Server access logging, the pure parts: the BucketLoggingStatus document, the record
format, and the background delivery (batches, keys, retries, limits)."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from boxdrive_wsgi.observability import log_delivery
from boxdrive_wsgi.observability.access_log import AccessRecord
from boxdrive_wsgi.observability.log_delivery import Destination, LogDelivery, log_object_key
from boxdrive_wsgi.observability.server_log import (
    LogFields,
    format_batch_delete,
    format_record,
    log_time,
    redact_uri,
    rest_operation,
    signature_fields,
)
from boxdrive_wsgi.operations.logging import may_deliver
from boxdrive_wsgi.protocol.acl import (
    CANONICAL_USER,
    GROUP,
    LOG_DELIVERY,
    AccessControlPolicy,
    Directory,
    Grant,
)
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.protocol.logging_status import (
    PARTITIONED,
    SIMPLE,
    LoggingConfig,
    parse_logging_status,
    render_logging_status,
)
from boxdrive_wsgi.stores.base import StoreError
from boxdrive_wsgi.stores.memory import MemoryStore

ACL_LOG_DELIVERY = (
    AccessControlPolicy(
        "alice",
        (Grant(CANONICAL_USER, "alice", "FULL_CONTROL"), Grant(GROUP, LOG_DELIVERY, "WRITE")),
    )
    .to_json()
    .encode()
)
USERS = Directory(is_user={"alice", "bob"}.__contains__, id_for_email=lambda e: None)
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def status(inner: str) -> bytes:
    return f"<BucketLoggingStatus {NS}>{inner}</BucketLoggingStatus>".encode()


# ---- BucketLoggingStatus


def test_empty_status_turns_logging_off() -> None:
    assert parse_logging_status(status(""), USERS) is None


def test_minimal_configuration() -> None:
    body = status(
        "<LoggingEnabled><TargetBucket>logs</TargetBucket><TargetPrefix>p/</TargetPrefix>"
        "</LoggingEnabled>"
    )
    config = parse_logging_status(body, USERS)
    assert config == LoggingConfig("logs", "p/", SIMPLE)


def test_partitioned_prefix_and_grants() -> None:
    body = status(
        "<LoggingEnabled><TargetBucket>logs</TargetBucket><TargetPrefix></TargetPrefix>"
        f'<TargetGrants><Grant><Grantee {XSI} xsi:type="CanonicalUser"><ID>bob</ID></Grantee>'
        "<Permission>READ</Permission></Grant>"
        f'<Grant><Grantee {XSI} xsi:type="Group"><URI>{LOG_DELIVERY}</URI></Grantee>'
        "<Permission>WRITE</Permission></Grant></TargetGrants>"
        "<TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>DeliveryTime"
        "</PartitionDateSource></PartitionedPrefix></TargetObjectKeyFormat></LoggingEnabled>"
    )
    config = parse_logging_status(body, USERS)
    assert config is not None
    assert (config.target_prefix, config.key_format, config.date_source) == (
        "",
        PARTITIONED,
        "DeliveryTime",
    )
    assert config.grants == (
        Grant(CANONICAL_USER, "bob", "READ"),
        Grant(GROUP, LOG_DELIVERY, "WRITE"),
    )
    rendered = render_logging_status(config, lambda i: i.upper())
    assert parse_logging_status(rendered, USERS) == config
    assert b"<DisplayName>BOB</DisplayName>" in rendered


@pytest.mark.parametrize(
    "inner",
    [
        "<LoggingEnabled><TargetPrefix>p</TargetPrefix></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix/><Kaboom/></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix/><TargetObjectKeyFormat>"
        "<PartitionedPrefix><PartitionDateSource>kaboom</PartitionDateSource>"
        "</PartitionedPrefix></TargetObjectKeyFormat></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix/><TargetObjectKeyFormat>"
        "<SimplePrefix/><PartitionedPrefix/></TargetObjectKeyFormat></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix/><TargetGrants><Grant>"
        "<Grantee><ID>bob</ID></Grantee><Permission>WRITE_ACP</Permission></Grant>"
        "</TargetGrants></LoggingEnabled>",
        "<LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix/><TargetGrants><Grant>"
        "<Grantee><ID>nobody</ID></Grantee><Permission>READ</Permission></Grant>"
        "</TargetGrants></LoggingEnabled>",
    ],
)
def test_bad_documents_are_malformed_xml(inner: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_logging_status(status(inner), USERS)
    assert caught.value.code == "MalformedXML"


def test_entities_are_refused() -> None:
    body = b'<!DOCTYPE x [<!ENTITY e "x">]><BucketLoggingStatus>&e;</BucketLoggingStatus>'
    with pytest.raises(S3Error) as caught:
        parse_logging_status(body, USERS)
    assert caught.value.code == "MalformedXML"


def test_stored_form_round_trips_and_bad_json_is_none() -> None:
    config = LoggingConfig(
        "logs", "p/", PARTITIONED, "EventTime", (Grant(GROUP, LOG_DELIVERY, "READ"),), 5.0
    )
    assert LoggingConfig.from_json(config.to_json()) == config
    assert config.same_as(LoggingConfig.from_json(config.to_json()))
    assert LoggingConfig.from_json(b"{not json") is None
    assert LoggingConfig.from_json(None) is None


# ---- the record


def access(**changes: object) -> AccessRecord:
    values: dict[str, object] = dict(
        request_id="REQ1", method="GET", operation="GetObject", bucket="photos", status=200,
        bytes_in=None, bytes_out=512, duration_ms=12.4, user="Alice", remote="192.0.2.3",
    )  # fmt: skip
    values.update(changes)
    return AccessRecord(**values)  # type: ignore[arg-type]


def fields(**changes: object) -> LogFields:
    values: dict[str, object] = dict(
        bucket_owner="alice", bucket="photos", started=1549411238.0, requester="alice",
        operation="REST.GET.OBJECT", key="2019/cat 1.jpg",
        request_uri='GET /photos/2019/cat%201.jpg?x="y" HTTP/1.1', error_code=None,
        object_size=512, turn_around_ms=7.0, referrer=None, user_agent='curl/8 "quoted"',
        version_id=None, host_id="HOSTID", signature_version="SigV4", cipher_suite=None,
        auth_type="AuthHeader", host="photos.example.com", tls_version=None,
    )  # fmt: skip
    values.update(changes)
    return LogFields(**values)  # type: ignore[arg-type]


def parse(line: str) -> list[str]:
    """As ceph s3-tests parse a record: brackets to quotes, then shell words."""
    return shlex.split(line.replace("[", '"').replace("]", '"'))


def test_record_has_s3s_26_fields_in_order() -> None:
    line = format_record(access(), fields())
    words = parse(line)
    assert len(words) == 26
    assert words[:8] == [
        "alice", "photos", "06/Feb/2019:00:00:38 +0000", "192.0.2.3", "alice", "REQ1",
        "REST.GET.OBJECT", "2019/cat%201.jpg",
    ]  # fmt: skip
    assert words[8] == 'GET /photos/2019/cat%201.jpg?x="y" HTTP/1.1'
    assert words[9:15] == ["200", "-", "512", "512", "12", "7"]
    assert words[15:17] == ["-", 'curl/8 "quoted"']
    assert words[17:] == [
        "-", "HOSTID", "SigV4", "-", "AuthHeader", "photos.example.com", "-", "-", "-",
    ]  # fmt: skip
    assert "\n" not in line


def test_hostile_values_stay_one_record() -> None:
    line = format_record(
        access(remote=None, bytes_out=0, status=403),
        fields(
            key='a "b" [c]\nd', user_agent="x\ny\\", referrer="] [", requester=None,
            host="evil host [x]", error_code="AccessDenied", object_size=None,
        ),
    )  # fmt: skip
    assert "\n" not in line
    words = parse(line)
    assert len(words) == 26
    assert words[3] == "-" and words[4] == "-"
    assert words[7] == "a%20%22b%22%20%5Bc%5D%0Ad"
    assert words[10:13] == ["AccessDenied", "-", "-"]
    assert format_record(access(), fields(acl_required=True)).endswith(" - Yes")


def test_batch_delete_record_of_one_key() -> None:
    request = access(method="POST", operation="DeleteObjects", status=200, bytes_out=300)
    shared = fields(operation="REST.POST.MULTI_OBJECT_DELETE", key=None, referrer="http://r/")
    words = parse(format_batch_delete(request, shared, "2019/dog 2.jpg", "v1", 204, None))
    assert len(words) == 26
    # the request's owner, bucket, time, remote, requester and id; the key's operation
    assert words[:8] == [
        "alice", "photos", "06/Feb/2019:00:00:38 +0000", "192.0.2.3", "alice", "REQ1",
        "BATCH.DELETE.OBJECT", "2019/dog%202.jpg",
    ]  # fmt: skip
    # no URI, the key's status, no bytes, size, times, referrer or agent
    assert words[8:17] == ["-", "204", "-", "-", "-", "-", "-", "-", "-"]
    assert words[17:23] == ["v1", "HOSTID", "SigV4", "-", "AuthHeader", "photos.example.com"]
    failed = parse(format_batch_delete(request, shared, "k", None, 403, "AccessDenied"))
    assert failed[7] == "k" and failed[9:11] == ["403", "AccessDenied"] and failed[17] == "-"
    # the request's own record is unchanged by them
    assert parse(format_record(request, shared))[6:12] == [
        "REST.POST.MULTI_OBJECT_DELETE", "-", 'GET /photos/2019/cat%201.jpg?x="y" HTTP/1.1',
        "200", "-", "300",
    ]  # fmt: skip


def test_signatures_and_tokens_are_redacted() -> None:
    uri = (
        "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101"
        "&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok&x=1"
    )
    redacted = redact_uri(uri)
    assert "deadbeef" not in redacted and "tok&" not in redacted
    assert "X-Amz-Signature=REDACTED" in redacted and redacted.endswith("&x=1")
    assert "Signature=REDACTED" in redact_uri("/b/k?AWSAccessKeyId=AK&Signature=abc%2B&Expires=1")
    assert redact_uri("/b/Signature=x") == "/b/Signature=x"


@pytest.mark.parametrize(
    ("method", "key", "sub", "copy", "name"),
    [
        ("GET", True, None, False, "REST.GET.OBJECT"),
        ("PUT", True, None, True, "REST.COPY.OBJECT"),
        ("GET", False, None, False, "REST.GET.BUCKET"),
        ("PUT", True, "uploadId", False, "REST.PUT.PART"),
        ("PUT", True, "uploadId", True, "REST.COPY.PART"),
        ("POST", True, "uploadId", False, "REST.POST.UPLOAD"),
        ("POST", True, "uploads", False, "REST.POST.UPLOADS"),
        ("POST", False, "delete", False, "REST.POST.MULTI_OBJECT_DELETE"),
        ("PUT", True, "tagging", False, "REST.PUT.OBJECT_TAGGING"),
        ("GET", False, "tagging", False, "REST.GET.TAGGING"),
        ("GET", False, "versioning", False, "REST.GET.VERSIONING"),
        ("PUT", False, "logging", False, "REST.PUT.LOGGING_STATUS"),
        ("GET", True, "legal-hold", False, "REST.GET.LEGAL_HOLD"),
        ("OPTIONS", True, None, False, "REST.OPTIONS.PREFLIGHT"),
    ],
)
def test_operation_names(method: str, key: bool, sub: str | None, copy: bool, name: str) -> None:
    assert rest_operation(method, key, sub, copy) == name


def test_signature_fields_and_time() -> None:
    assert signature_fields(("AWS4-HMAC-SHA256", "REST-QUERY-STRING")) == ("SigV4", "QueryString")
    assert signature_fields(("AWS", "REST-HEADER")) == ("SigV2", "AuthHeader")
    assert signature_fields(None) == (None, None)
    assert log_time(0) == "01/Jan/1970:00:00:00 +0000"


# ---- delivery


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(store: MemoryStore, bucket: str) -> dict[str, str]:
    page = store.list_objects(bucket)
    out = {}
    for info in page.objects:
        body = store.get_object(bucket, info.key)
        out[info.key] = b"".join(body).decode()
        body.close()
    return out


def dest(bucket: str, prefix: str, **changes: object) -> Destination:
    return Destination(bucket, "src", "alice", prefix, prefix, **changes)  # type: ignore[arg-type]


def test_key_formats() -> None:
    at = 1549411238.0  # 2019-02-06 00:00:38 UTC
    simple = dest("logs", "p/")
    assert log_object_key(simple, at, "ABC") == "p/2019-02-06-00-00-38-ABC"
    partitioned = dest("logs", "p/alice/us-east-1/photos/", partitioned=True)
    assert (
        log_object_key(partitioned, at, "ABC")
        == "p/alice/us-east-1/photos/2019/02/06/2019-02-06-00-00-38-ABC"
    )


def test_batches_by_destination_when_old_enough() -> None:
    store = MemoryStore()
    store.create_bucket("logs", owner="alice")
    clock = Clock()
    delivery = LogDelivery(store, 60, clock=clock)
    a, b = dest("logs", "a/"), dest("logs", "b/")
    delivery.add(a, "one")
    delivery.add(a, "two")
    delivery.add(b, "three")
    delivery.flush(everything=False)
    assert stored(store, "logs") == {}  # not due yet
    clock.now += 60
    delivery.flush(everything=False)
    objects = stored(store, "logs")
    assert sorted(objects.values()) == ["one\ntwo\n", "three\n"]
    assert all(re.fullmatch(r"[ab]/\d{4}(-\d\d){5}-[0-9A-F]{16}", k) for k in objects)
    info = store.head_object("logs", next(iter(objects)))
    assert info.attributes.owner == "alice"
    assert delivery.delivered == 2
    delivery.close()


def test_grants_go_on_the_objects() -> None:
    store = MemoryStore()
    store.create_bucket("logs", owner="alice")
    delivery = LogDelivery(store, 60)
    delivery.add(dest("logs", "", grants=(Grant(CANONICAL_USER, "bob", "READ"),)), "x")
    delivery.flush()
    (key,) = stored(store, "logs")
    acl = store.head_object("logs", key).attributes.acl
    assert acl is not None and "bob" in acl and "alice" in acl


class FailingOnce(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def put_object(self, *args, **kwargs):
        if self.failures:
            self.failures -= 1
            raise StoreError("disk hiccup")
        return super().put_object(*args, **kwargs)


def test_a_failed_write_is_retried_with_the_lines_in_order() -> None:
    store = FailingOnce()
    store.create_bucket("logs")
    clock = Clock()
    delivery = LogDelivery(store, 1, clock=clock)
    destination = dest("logs", "")
    delivery.add(destination, "first")
    clock.now += 1
    delivery.flush(everything=False)  # fails: kept
    assert stored(store, "logs") == {}
    delivery.add(destination, "second")
    clock.now += 1
    delivery.flush(everything=False)  # too soon after the failure
    assert stored(store, "logs") == {}
    clock.now += 10
    delivery.flush(everything=False)
    assert list(stored(store, "logs").values()) == ["first\nsecond\n"]


def test_close_tries_a_failing_write_again_then_reports_the_loss(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(log_delivery, "CLOSE_RETRY_SECONDS", 0.0)
    store = FailingOnce()
    store.failures = log_delivery.CLOSE_ATTEMPTS - 1  # the last try at exit succeeds
    store.create_bucket("logs")
    delivery = LogDelivery(store, 3600)
    delivery.add(dest("logs", ""), "kept")
    delivery.close()
    assert list(stored(store, "logs").values()) == ["kept\n"]
    assert "lost" not in caplog.text
    never = FailingOnce()
    never.failures = 1000  # every try
    never.create_bucket("logs")
    delivery = LogDelivery(never, 3600)
    delivery.add(dest("logs", ""), "one")
    delivery.add(dest("logs", "other/"), "two")
    delivery.close()
    assert stored(never, "logs") == {}
    assert "2 records lost at exit" in caplog.text


def test_a_gone_target_drops_its_batch() -> None:
    store = MemoryStore()
    delivery = LogDelivery(store, 1)
    delivery.add(dest("gone", ""), "x")
    delivery.flush()
    assert delivery.delivered == 0
    delivery.flush()  # nothing left to try


def test_pending_is_bounded() -> None:
    store = MemoryStore()
    store.create_bucket("logs")
    delivery = LogDelivery(store, 60, max_pending_bytes=10)
    delivery.add(dest("logs", "old/"), "12345678")
    delivery.add(dest("logs", "new/"), "12345678")  # over: the oldest goes
    delivery.flush()
    assert [k.split("/")[0] for k in stored(store, "logs")] == ["new"]


def test_the_thread_delivers_when_due() -> None:
    store = MemoryStore()
    store.create_bucket("logs")
    delivery = LogDelivery(store, 0.2)
    delivery.add(dest("logs", ""), "x")
    import time

    deadline = time.monotonic() + 10
    while delivery.delivered == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(stored(store, "logs").values()) == ["x\n"]


def test_the_thread_delivers_batches_opened_after_it_went_idle() -> None:
    import time

    store = MemoryStore()
    store.create_bucket("logs")
    delivery = LogDelivery(store, 0.2)
    for n in (1, 2):
        delivery.add(dest("logs", ""), f"x{n}")
        deadline = time.monotonic() + 10
        while delivery.delivered < n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the thread is idle again, with nothing queued
    assert sorted(stored(store, "logs").values()) == ["x1\n", "x2\n"]


def test_a_target_that_stopped_allowing_the_service_gets_nothing() -> None:
    store = MemoryStore()
    store.create_bucket("logs")
    allowed = {"yes"}
    delivery = LogDelivery(store, 60, allow=lambda d: d.target_prefix in allowed)
    delivery.add(dest("logs", "yes"), "kept")
    delivery.add(dest("logs", "no"), "dropped")
    delivery.flush()
    assert list(stored(store, "logs").values()) == ["kept\n"]


# ---- the target check


def policy(statement: dict[str, object]) -> bytes:
    base = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::logs/p/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [{**base, **statement}]}).encode()


@pytest.mark.parametrize(
    ("slots", "allowed"),
    [
        ({}, False),
        ({"policy": policy({})}, True),
        ({"policy": policy({"Resource": "arn:aws:s3:::logs/other/*"})}, False),
        ({"policy": policy({"Principal": {"AWS": "*"}})}, False),
        (
            {"policy": policy({"Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::src"}}})},
            True,
        ),
        (
            {"policy": policy({"Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::x"}}})},
            False,
        ),
        ({"policy": policy({"Condition": {"StringEquals": {"aws:SourceAccount": "alice"}}})}, True),
        ({"policy": policy({"Condition": {"StringEquals": {"aws:SourceAccount": "bob"}}})}, False),
        ({"acl": ACL_LOG_DELIVERY}, True),
        ({"acl": ACL_LOG_DELIVERY, "ownershipControls": b"BucketOwnerEnforced"}, False),
        ({"acl": ACL_LOG_DELIVERY, "policy": policy({"Effect": "Deny"})}, False),
    ],
)
def test_may_deliver(slots: dict[str, bytes], allowed: bool) -> None:
    def read(bucket: str, slot: str) -> bytes | None:
        assert bucket == "logs"
        return slots.get(slot)

    assert may_deliver(read, "logs", "p/", "src", "alice") is allowed
