"""GitlabStore against a real GitLab, only when GITLAB_URL, GITLAB_TOKEN and GITLAB_PROJECT
are set (GITLAB_BRANCH optional, default ``main``). Uses a fresh bucket and removes it."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores.base import ByteRange, NoSuchKey, ObjectAttributes, PreconditionFailed
from boxdrive_wsgi.stores.gitlab import GitlabStore
from boxdrive_wsgi.stores.model import WriteOptions

LIVE = all(os.environ.get(name) for name in ("GITLAB_URL", "GITLAB_TOKEN", "GITLAB_PROJECT"))
pytestmark = pytest.mark.skipif(
    not LIVE, reason="live GitLab tests need GITLAB_URL, GITLAB_TOKEN and GITLAB_PROJECT"
)


@pytest.fixture
def live() -> Iterator[tuple[GitlabStore, str]]:
    store = GitlabStore(
        os.environ["GITLAB_URL"],
        os.environ["GITLAB_TOKEN"],
        os.environ["GITLAB_PROJECT"],
        os.environ.get("GITLAB_BRANCH", "main"),
    )
    bucket = f"boxdrive-test-{uuid.uuid4().hex[:12]}"
    store.create_bucket(bucket, owner="live-test")
    try:
        yield store, bucket
    finally:
        for info in store.list_objects(bucket, max_keys=1000).objects:
            store.delete_object(bucket, info.key)
        store.delete_bucket(bucket)
        store.close()


def test_live_round_trip(live: tuple[GitlabStore, str]) -> None:
    store, bucket = live
    data = bytes(range(256)) * 4096  # 1 MiB
    info = store.put_object(
        bucket,
        "dir/a b.bin",
        io.BytesIO(data),
        size=len(data),
        attributes=ObjectAttributes(content_type="application/x-test", metadata={"k": "v"}),
    )
    assert info.etag == hashlib.md5(data).hexdigest()
    head = store.head_object(bucket, "dir/a b.bin")
    assert (head.size, head.etag, head.content_type) == (len(data), info.etag, "application/x-test")
    assert store.get_object(bucket, "dir/a b.bin").read_all() == data
    ranged = store.get_object(bucket, "dir/a b.bin", byte_range=ByteRange(10, 19)).read_all()
    assert ranged == data[10:20]
    store.put_object(bucket, "dir", io.BytesIO(b"file next to a directory"), size=24)
    page = store.list_objects(bucket, delimiter="/")
    assert [o.key for o in page.objects] == ["dir"] and page.common_prefixes == ["dir/"]
    with pytest.raises(PreconditionFailed):
        store.put_object(bucket, "dir", io.BytesIO(b"x"), size=1, options=WriteOptions.create())
    store.delete_object(bucket, "dir")
    with pytest.raises(NoSuchKey):
        store.head_object(bucket, "dir")
