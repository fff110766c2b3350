"""The conditional-write probe tells an upstream that matches ``If-Match`` only against
the bare ETag (Ceph 16) from one that matches S3's quoted form, and one that refuses even
the right ETag from both. A client double stands in for each upstream's behaviour (the
real RGW is exercised by test_e2e_lanes.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from boxdrive_wsgi.stores.s3.conditions import probe


class Upstream:
    """put_object/delete_object of one key, with If-None-Match and a chosen If-Match."""

    def __init__(self, if_match: str) -> None:
        self.if_match = if_match  # "quoted", "bare", "never" or "ignored"
        self.etag: str | None = None

    def put_object(self, **call: Any) -> dict[str, str]:
        body: bytes = call["Body"]
        if call.get("IfNoneMatch") == "*" and self.etag is not None:
            raise _failed()
        if "IfMatch" in call and self.if_match != "ignored":
            wanted = {"quoted": f'"{self.etag}"', "bare": self.etag}.get(self.if_match)
            if call["IfMatch"] != wanted:
                raise _failed()
        self.etag = hashlib.md5(body).hexdigest()
        return {"ETag": f'"{self.etag}"'}

    def delete_object(self, **call: Any) -> None:
        self.etag = None


def _failed() -> ClientError:
    response: Any = {
        "Error": {"Code": "PreconditionFailed"},
        "ResponseMetadata": {"HTTPStatusCode": 412},
    }
    return ClientError(response, "PutObject")


@pytest.mark.parametrize(
    ("behaviour", "if_match", "quoted"),
    [("quoted", True, True), ("bare", True, False), ("never", False, False)],
)
def test_probe_learns_how_if_match_is_matched(behaviour: str, if_match: bool, quoted: bool) -> None:
    upstream = Upstream(behaviour)
    support = probe(upstream, "bucket", ".probe/")
    assert support.if_none_match
    assert support.if_match is if_match
    if if_match:
        assert support.if_match_quoted is quoted
        assert support.if_match_value("abc") == ('"abc"' if quoted else "abc")
    assert upstream.etag is None, "the probe removes its key"


def test_an_ignored_if_match_is_not_support() -> None:
    support = probe(Upstream("ignored"), "bucket", ".probe/")
    assert not support.if_match
