#!/usr/bin/env python3
"""Backend calls per S3 request of the remote stores: no timing, just how many upstream
operations (S3 store, over moto in-process) or GitLab API requests (GitLab store, over
the test suite's fake GitLab) one GetObject, PutObject or HeadObject costs, the second
of two identical requests (the first may probe). The pinned figures are tests
(tests/stores/test_s3_calls.py, tests/stores/test_gitlab.py); this prints the table.

    python bench/store_calls.py            # from the checkout (it imports tests/)
"""

from __future__ import annotations

import io
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto import mock_aws

from boxdrive_wsgi.stores.base import ObjectAttributes, ObjectStore
from boxdrive_wsgi.stores.s3 import S3Store
from tests.access_rules import ALICE, Prepared, call_for, flask_client, send

OPERATIONS = ("GetObject", "PutObject", "HeadObject")
ORIGIN = {"Origin": "https://app.example"}
CORS_RULES = b'[{"origins": ["*"], "methods": ["GET"]}]'


def _seed(store: ObjectStore) -> None:
    store.create_bucket("bkt", owner=ALICE.identity.id)
    owned = ObjectAttributes(owner=ALICE.identity.id)
    store.put_object("bkt", "k", io.BytesIO(b"data"), size=4, attributes=owned)


def s3_calls(layout: str, operation: str, cors: bool) -> Counter[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        shared = None if layout == "1to1" else "bench-upstream"
        store = S3Store(access_key="bench", secret_key="bench", bucket=shared, prefix="p/")
        if shared:
            store.client.create_bucket(Bucket=shared)
        counted: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            counted[model.name] += 1

        store.client.meta.events.register("before-call.s3", count)
        _seed(store)
        if cors and shared:
            store.put_bucket_config("bkt", "cors", CORS_RULES)
        client = flask_client(store)
        headers = ORIGIN if cors else None
        call = call_for(operation, Prepared("bkt"), ALICE, host="localhost", extra_headers=headers)
        assert send(client, call).status_code in call.ok
        counted.clear()
        response = send(client, call)
        assert response.status_code in call.ok, response.data
        return counted


def gitlab_calls(operation: str) -> int:
    from tests.stores import fake_gitlab

    fake = fake_gitlab.shared_server().fake
    store = fake_gitlab.make_store()
    _seed(store)
    client = flask_client(store)
    call = call_for(operation, Prepared("bkt"), ALICE, host="localhost")
    assert send(client, call).status_code in call.ok
    start = len(fake.requests)
    assert send(client, call).status_code in call.ok
    return len(fake.requests) - start


def main() -> None:
    print("store           operation   calls  by operation")
    for layout in ("1to1", "prefix"):
        for operation in OPERATIONS:
            for cors in (False, True):
                calls = s3_calls(layout, operation, cors)
                name = f"s3-{layout}" + (" +CORS" if cors else "")
                print(f"{name:<15} {operation:<11} {sum(calls.values()):>5}  {dict(calls)}")
    for operation in OPERATIONS:
        print(f"{'gitlab':<15} {operation:<11} {gitlab_calls(operation):>5}")


if __name__ == "__main__":
    main()
