"""GitlabStore when GitLab misbehaves: dropped connections, answers lost after a commit
landed, next-page links to other hosts, bucket markers without an owner."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores.base import BucketAlreadyExists, NoSuchKey, StoreUnavailable
from boxdrive_wsgi.stores.gitlab import GitlabStore, paths
from boxdrive_wsgi.stores.gitlab.api import Action, GitlabError, RetryPolicy
from boxdrive_wsgi.stores.model import WriteOptions
from tests.stores import fake_gitlab
from tests.stores.fake_gitlab import FakeGitlab, shared_server
from tests.stores.faulty_s3 import Fault, FaultyS3


@pytest.fixture
def fake() -> Iterator[FakeGitlab]:
    fake = shared_server().fake
    yield fake
    with fake.lock:  # never leak a fault or a link override into the next test
        fake._faults.clear()
        fake.link_base = None


@pytest.fixture
def store() -> GitlabStore:
    return fake_gitlab.make_store()


def commits(fake: FakeGitlab, since: int) -> int:
    return sum(1 for method, path in fake.requests[since:] if method == "POST")


# --------------------------------------------------------------------------- dropped connections


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_answer_cut_short_is_retried(fake: FakeGitlab, store: GitlabStore, method: str) -> None:
    """A body cut mid-way raises ChunkedEncodingError, not ConnectionError: retried too."""
    store.create_bucket("b")
    fake.inject_drop(1, method=method)
    store.put_object("b", "k", io.BytesIO(b"data"), size=4)
    fake.inject_drop(1, method="GET")
    assert store.get_object("b", "k").read_all() == b"data"


def test_answers_cut_short_every_time_are_unavailable(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    fake.inject_drop(3)
    with pytest.raises(StoreUnavailable):
        store.head_bucket("b")
    assert store.head_bucket("b").name == "b"


def hangup() -> FaultyS3:
    """A server that reads each request and closes the connection without a word
    (requests: ConnectionError from http.client.RemoteDisconnected)."""
    return FaultyS3(Fault(drop=True))


def test_remote_disconnect_is_unavailable() -> None:
    server = hangup()
    try:
        store = GitlabStore(
            server.endpoint,
            "secret-token",
            "g/p",
            retry=RetryPolicy(attempts=2, backoff=0.01, max_wait=0.02),
        )
        with pytest.raises(StoreUnavailable):
            store.head_bucket("b")
        assert server.requests == 2
    finally:
        server.close()


# --------------------------------------------------------------------------- lost answers


@pytest.mark.parametrize("lost", [fake_gitlab.DROP, 502])
def test_put_that_landed_before_its_answer_was_lost_succeeds(
    fake: FakeGitlab, store: GitlabStore, lost: int
) -> None:
    """The commit lands, the answer is lost (dropped, or a proxy's 502), the retry would
    be refused ("already exists"): the store sees its own write in place and reports
    success, not 412."""
    store.create_bucket("b")
    start = len(fake.requests)
    fake.inject(lost, processed=True, method="POST")
    info = store.put_object("b", "new", io.BytesIO(b"v1"), size=2, options=WriteOptions.create())
    assert store.head_object("b", "new").etag == info.etag
    assert commits(fake, start) == 1, "the landed commit must not be sent again"
    fake.inject(lost, processed=True, method="POST")
    again = store.put_object(
        "b", "new", io.BytesIO(b"v2"), size=2, options=WriteOptions.update(info.etag)
    )
    assert store.get_object("b", "new").read_all() == b"v2"
    assert store.head_object("b", "new").etag == again.etag


@pytest.mark.parametrize("lost", [fake_gitlab.DROP, 502])
def test_create_bucket_that_landed_is_no_conflict(
    fake: FakeGitlab, store: GitlabStore, lost: int
) -> None:
    fake.inject(lost, processed=True, method="POST")
    assert store.create_bucket("b", owner="alice").owner == "alice"
    with pytest.raises(BucketAlreadyExists) as caught:
        store.create_bucket("b", owner="bob")
    assert caught.value.owner == "alice"


@pytest.mark.parametrize("lost", [fake_gitlab.DROP, 502])
def test_deletes_that_landed_succeed(fake: FakeGitlab, store: GitlabStore, lost: int) -> None:
    store.create_bucket("b")
    store.put_object("b", "k", io.BytesIO(b"x"), size=1)
    fake.inject(lost, processed=True, method="POST")
    store.delete_object("b", "k")
    with pytest.raises(NoSuchKey):
        store.head_object("b", "k")
    fake.inject(lost, processed=True, method="POST")
    store.delete_bucket("b")
    assert store.list_buckets() == []


# --------------------------------------------------------------------------- next-page links


@pytest.mark.parametrize(
    "base",
    ["http://evil.example", "https://127.0.0.1:{port}", "http://127.0.0.1:{other}"],
)
def test_next_page_link_to_another_server_is_refused(
    fake: FakeGitlab, store: GitlabStore, base: str
) -> None:
    elsewhere = hangup()
    try:
        store.create_bucket("b")
        port = store.api.url.rsplit(":", 1)[1]
        fake.link_base = base.format(port=port, other=elsewhere.endpoint.rsplit(":", 1)[1])
        head = store.api.branch_head()
        assert head is not None
        with pytest.raises(GitlabError):
            list(store.api.tree("", head, recursive=True, per_page=1))
        assert elsewhere.requests == 0, "the token went to another server"
    finally:
        elsewhere.close()


def test_next_page_link_to_our_server_is_followed(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    fake.link_base = store.api.url.replace("http://", "HTTP://")  # same origin, other case
    head = store.api.branch_head()
    assert head is not None
    names = [e["path"] for e in store.api.tree("", head, recursive=True, per_page=1)]
    assert paths.marker_path("b") in names and len(names) >= 3


# --------------------------------------------------------------------------- markers


@pytest.mark.parametrize("marker", [b'{"created": 1}', b"not json", b'["a"]', b'{"owner": 7}'])
def test_marker_without_a_readable_owner_reads_as_no_owner(
    store: GitlabStore, marker: bytes
) -> None:
    store.api.commit("legacy bucket", [Action("create", paths.marker_path("legacy"), marker)])
    assert store.head_bucket("legacy").owner is None
    assert [(b.name, b.owner) for b in store.list_buckets()] == [("legacy", None)]
    with pytest.raises(BucketAlreadyExists) as caught:
        store.create_bucket("legacy", owner="mallory")
    assert caught.value.owner is None


def test_marker_always_records_the_owner(store: GitlabStore, fake: FakeGitlab) -> None:
    store.create_bucket("mine", owner="alice")
    store.create_bucket("nobodys")
    files = fake_files(fake, store)
    assert json.loads(files[paths.marker_path("mine")])["owner"] == "alice"
    assert "owner" in json.loads(files[paths.marker_path("nobodys")])


def fake_files(fake: FakeGitlab, store: GitlabStore) -> dict[str, bytes]:
    project = next(p for p in fake.projects.values() if p.path == store.api.project)
    return fake.files(project)
