"""The conditional-write probe, per operation (PutObject, CopyObject, completion): it
tells an upstream that matches ``If-Match`` only against the bare ETag (Ceph 16 on PUT)
from one that matches S3's quoted form, from one that refuses even the right ETag and
one that ignores the condition, tells an ignored ``If-None-Match``, and finds the header
a copy's source condition is read from. A client double stands in for each upstream's
behaviour (the real moto and RGW are probed by test_conditions_lanes.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from boxdrive_wsgi.stores.s3.conditions import (
    COPY_SOURCE_IF_MATCH,
    LEGACY_COPY_SOURCE_IF_MATCH,
    probe,
)

NONE_MATCH = ("honoured", "ignored")


class Upstream:
    """Objects as ETags, with per-operation If-None-Match and If-Match behaviour:
    ``if_match`` "quoted", "bare", "never" or "ignored"; ``none_match`` "honoured" or
    "ignored"; ``copy_source``: the header name the copy's source condition is read from
    (None: ignored)."""

    def __init__(
        self,
        if_match: dict[str, str],
        none_match: dict[str, str] | None = None,
        copy_source: str | None = COPY_SOURCE_IF_MATCH,
    ) -> None:
        self.if_match = if_match
        self.none_match = none_match or {}
        self.copy_source = copy_source
        self.objects: dict[str, str] = {}
        self.uploads: dict[str, bytes] = {}

    def _check(self, operation: str, call: dict[str, Any]) -> None:
        current = self.objects.get(call["Key"])
        none_match = self.none_match.get(operation, "honoured")
        if call.get("IfNoneMatch") == "*" and current is not None and none_match == "honoured":
            raise _failed()
        behaviour = self.if_match.get(operation, "quoted")
        if "IfMatch" in call and behaviour != "ignored":
            wanted = {"quoted": f'"{current}"', "bare": current}.get(behaviour)
            if call["IfMatch"] != wanted:
                raise _failed()

    def put_object(self, **call: Any) -> dict[str, str]:
        self._check("put", call)
        self.objects[call["Key"]] = hashlib.md5(call["Body"]).hexdigest()
        return {"ETag": f'"{self.objects[call["Key"]]}"'}

    def copy_object(self, **call: Any) -> dict[str, Any]:
        source = self.objects[call["CopySource"]["Key"]]
        header = {COPY_SOURCE_IF_MATCH: call.get("CopySourceIfMatch")}
        if self.copy_source == LEGACY_COPY_SOURCE_IF_MATCH and _legacy_header_sent():
            header[LEGACY_COPY_SOURCE_IF_MATCH] = call.get("CopySourceIfMatch")
        wanted = header.get(self.copy_source) if self.copy_source else None
        if wanted is not None and wanted.strip('"') != source:
            raise _failed()
        self._check("copy", call)
        self.objects[call["Key"]] = source
        return {"CopyObjectResult": {"ETag": f'"{source}"'}}

    def create_multipart_upload(self, **call: Any) -> dict[str, str]:
        upload_id = f"u{len(self.uploads)}"
        self.uploads[upload_id] = b""
        return {"UploadId": upload_id}

    def upload_part(self, **call: Any) -> dict[str, str]:
        self.uploads[call["UploadId"]] = call["Body"]
        return {"ETag": f'"{hashlib.md5(call["Body"]).hexdigest()}"'}

    def complete_multipart_upload(self, **call: Any) -> dict[str, str]:
        self._check("complete", call)
        body = self.uploads.pop(call["UploadId"])
        self.objects[call["Key"]] = hashlib.md5(body).hexdigest() + "-1"
        return {"ETag": ""}  # as Ceph 16: the probe asks HEAD

    def abort_multipart_upload(self, **call: Any) -> None:
        self.uploads.pop(call["UploadId"], None)

    def head_object(self, **call: Any) -> dict[str, str]:
        return {"ETag": f'"{self.objects[call["Key"]]}"'}

    def delete_object(self, **call: Any) -> None:
        self.objects.pop(call["Key"], None)


def _legacy_header_sent() -> bool:
    """The store adds the legacy header from a botocore hook; the double has none, so it
    asks the probe directly whether it is trying that header now."""
    from boxdrive_wsgi.stores.s3.conditions import probing_legacy_header

    return probing_legacy_header()


def _failed() -> ClientError:
    response: Any = {
        "Error": {"Code": "PreconditionFailed"},
        "ResponseMetadata": {"HTTPStatusCode": 412},
    }
    return ClientError(response, "PutObject")


@pytest.mark.parametrize("operation", ["put", "copy", "complete"])
@pytest.mark.parametrize(
    ("behaviour", "if_match", "quoted"),
    [("quoted", True, True), ("bare", True, False), ("never", False, False)],
)
def test_probe_learns_how_if_match_is_matched(
    operation: str, behaviour: str, if_match: bool, quoted: bool
) -> None:
    upstream = Upstream({operation: behaviour})
    support = probe(upstream, "bucket", ".probe/")
    found = support.of(operation)
    assert found.if_none_match
    assert found.if_match is if_match
    if if_match:
        assert found.if_match_quoted is quoted
        assert found.if_match_value("abc") == ('"abc"' if quoted else "abc")
    others = [op for op in ("put", "copy", "complete") if op != operation]
    assert all(support.of(op).if_match and support.of(op).if_match_quoted for op in others)
    assert upstream.objects == {} and upstream.uploads == {}, "the probe removes its keys"


@pytest.mark.parametrize("operation", ["put", "copy", "complete"])
def test_an_ignored_condition_is_not_support(operation: str) -> None:
    upstream = Upstream({operation: "ignored"}, {operation: "ignored"})
    support = probe(upstream, "bucket", ".probe/")
    assert not support.of(operation).if_match
    assert not support.of(operation).if_none_match
    assert not support.all_honoured
    report = support.report()[operation]
    assert report == {"if_none_match": False, "if_match": False, "etag_form": None}
    assert upstream.objects == {} and upstream.uploads == {}


@pytest.mark.parametrize(
    "header", [COPY_SOURCE_IF_MATCH, LEGACY_COPY_SOURCE_IF_MATCH, None], ids=str
)
def test_probe_finds_the_copy_source_header(header: str | None) -> None:
    support = probe(Upstream({}, copy_source=header), "bucket", ".probe/")
    assert support.copy_source == header
    assert support.all_honoured is (header is not None)


def test_moto_and_ceph_16_as_measured() -> None:
    """The two real upstreams' behaviour (test_conditions_lanes checks it against them)."""
    moto = Upstream(
        {"copy": "ignored", "complete": "ignored"}, {"copy": "ignored"}, copy_source=None
    )
    found = probe(moto, "bucket", ".probe/").report()
    assert found["complete"] == {"if_none_match": True, "if_match": False, "etag_form": None}
    rgw = Upstream(
        {"put": "bare", "copy": "ignored", "complete": "ignored"},
        {"copy": "ignored", "complete": "ignored"},
        copy_source=LEGACY_COPY_SOURCE_IF_MATCH,
    )
    found = probe(rgw, "bucket", ".probe/").report()
    assert found["put"] == {"if_none_match": True, "if_match": True, "etag_form": "bare"}
    assert found["copy_source"] == LEGACY_COPY_SOURCE_IF_MATCH


class ReadOnly:
    """A 1:1 upstream with one bucket we may list but not write in."""

    def list_buckets(self) -> dict[str, Any]:
        return {"Buckets": [{"Name": "theirs"}]}

    def put_object(self, **call: Any) -> None:
        response: Any = {
            "Error": {"Code": "AccessDenied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        raise ClientError(response, "PutObject")

    def delete_object(self, **call: Any) -> None:
        pass


def test_readiness_in_1to1_survives_a_bucket_it_may_not_write() -> None:
    """The start-up probe needs a bucket to write in; one we may only read leaves the
    findings unknown (the first conditional write probes), never the node unready."""
    from boxdrive_wsgi.stores.s3 import S3Store

    store = S3Store(client=ReadOnly())
    report = store.upstream_health()
    assert report["conditional_writes"] == "unknown"
