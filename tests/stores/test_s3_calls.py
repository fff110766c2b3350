"""Upstream calls per request of the S3 store, counted under the HTTP layer: GET and PUT
make no upstream call for what they never read (a 1:1 bucket's versioning status, the
configuration slots a prefix-layout bucket does not have).

The upstream is moto in-process (``mock_aws``); every S3 operation the store sends is
counted by name with botocore's ``before-call`` event.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import moto
import pytest

from boxdrive_wsgi.stores.base import ObjectAttributes
from boxdrive_wsgi.stores.model import ENABLED
from boxdrive_wsgi.stores.s3 import S3Store

from ..access_rules import ALICE, Prepared, call_for, flask_client, send

BUCKET = "counted"
UPSTREAM = "counted-upstream"
ORIGIN = {"Origin": "https://app.example"}
CORS_RULES = b'[{"origins": ["*"], "methods": ["GET"]}]'


class Counted:
    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()
        store.client.meta.events.register("before-call.s3", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def request(self, operation: str, headers: dict[str, str] | None = None) -> Counter[str]:
        """The upstream calls of the second ``operation`` request (the first probes)."""
        client = flask_client(self.store)
        call = call_for(operation, Prepared(BUCKET), ALICE, host="localhost", extra_headers=headers)
        assert send(client, call).status_code in call.ok
        self.calls.clear()
        response = send(client, call)
        assert response.status_code in call.ok, response.data
        return self.calls


@pytest.fixture(params=["1to1", "prefix"])
def counted(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        shared = None if request.param == "1to1" else UPSTREAM
        store = S3Store(access_key="testing", secret_key="testing", bucket=shared, prefix="p/")
        if shared:
            store.client.create_bucket(Bucket=UPSTREAM)
        store.create_bucket(BUCKET, owner=ALICE.identity.id)
        attributes = ObjectAttributes(owner=ALICE.identity.id)
        store.put_object(BUCKET, "k", io.BytesIO(b"data"), size=4, attributes=attributes)
        yield Counted(store)
        store.close()


def _layout(counted: Counted) -> str:
    return "1to1" if counted.store.layout.one_to_one else "prefix"


#: (layout, operation) -> the upstream calls; the bucket's lookup is the first entry
#: (1:1: its owner record; prefix: its marker, then one listing of its config slots).
EXPECTED = {
    ("1to1", "GetObject"): {"GetObject": 2},
    ("1to1", "PutObject"): {"GetObject": 1, "PutObject": 1},
    ("prefix", "GetObject"): {"HeadObject": 1, "ListObjectsV2": 1, "GetObject": 1},
    # put_object checks the marker itself (NoSuchBucket before writing)
    ("prefix", "PutObject"): {"HeadObject": 2, "ListObjectsV2": 1, "PutObject": 1},
}


@pytest.mark.parametrize("operation", ["GetObject", "PutObject"])
def test_get_and_put_ask_upstream_only_for_their_work(counted: Counted, operation: str) -> None:
    assert counted.request(operation) == EXPECTED[_layout(counted), operation]


def test_the_versioning_status_is_asked_when_read(counted: Counted) -> None:
    if counted.store.layout.one_to_one:
        counted.store.set_bucket_versioning(BUCKET, ENABLED)
    counted.calls.clear()
    info = counted.store.head_bucket(BUCKET)
    assert "GetBucketVersioning" not in counted.calls
    expected = ENABLED if counted.store.layout.one_to_one else None
    assert info.versioning == expected and info.versioning == expected
    asked = 1 if counted.store.layout.one_to_one else 0
    assert counted.calls["GetBucketVersioning"] == asked  # once, however often read


def test_a_listing_asks_no_versioning_status(counted: Counted) -> None:
    counted.calls.clear()
    (info,) = counted.store.list_buckets()
    assert info.name == BUCKET and "GetBucketVersioning" not in counted.calls
    assert info.versioning is None


def test_a_cors_request_reads_only_the_slot_it_needs(counted: Counted) -> None:
    if counted.store.layout.one_to_one:
        # no configuration slots there (NotSupported): an Origin costs nothing upstream
        assert counted.request("GetObject", ORIGIN) == EXPECTED["1to1", "GetObject"]
        return
    counted.store.put_bucket_config(BUCKET, "cors", CORS_RULES)
    calls = counted.request("GetObject", ORIGIN)
    # the rules cost their GET and the store's bucket check before it, nothing else
    assert calls == {"HeadObject": 2, "ListObjectsV2": 1, "GetObject": 2}


def test_the_lookup_names_the_slots_that_hold_a_document(counted: Counted) -> None:
    if counted.store.layout.one_to_one:
        assert counted.store.head_bucket(BUCKET).config_names is None  # unknown there
        return
    assert counted.store.head_bucket(BUCKET).config_names == frozenset()
    counted.store.put_bucket_config(BUCKET, "cors", CORS_RULES)
    counted.store.put_bucket_config(BUCKET, "logging", b"{}")
    assert counted.store.head_bucket(BUCKET).config_names == frozenset({"cors", "logging"})
