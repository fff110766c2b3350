"""GitlabStore beyond the contract suite: layout, key encoding, API-call economy,
retries and error mapping, size limits, settings, and the token never logged."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import tempfile
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boxdrive_wsgi.settings import Settings
from boxdrive_wsgi.stores.base import (
    EntityTooLarge,
    NoSuchBucket,
    NoSuchVersion,
    NotSupported,
    ObjectAttributes,
    StoreUnavailable,
)
from boxdrive_wsgi.stores.factory import store_from_settings
from boxdrive_wsgi.stores.gitlab import GitlabStore, paths
from boxdrive_wsgi.stores.gitlab.api import Action, GitlabError, RetryPolicy, _commit_parts
from tests.stores import fake_gitlab
from tests.stores.fake_gitlab import FakeGitlab, shared_server


@pytest.fixture
def fake() -> FakeGitlab:
    return shared_server().fake


@pytest.fixture
def store() -> GitlabStore:
    return fake_gitlab.make_store()


def project_files(fake: FakeGitlab, store: GitlabStore) -> dict[str, bytes]:
    project = next(p for p in fake.projects.values() if p.path == store.api.project)
    return fake.files(project)


def calls(fake: FakeGitlab, since: int, verb: str = "", fragment: str = "") -> int:
    return sum(
        1 for method, path in fake.requests[since:] if method.startswith(verb) and fragment in path
    )


# --------------------------------------------------------------------------- key encoding

ODD = [
    "a",
    "a/b",
    "a/",
    "a//b",
    "/lead",
    "..",
    "../x",
    ".hidden",
    "x/./y",
    "%",
    "~",
    "+",
    "",
    "é/日本",
]


def test_odd_keys_get_distinct_valid_paths() -> None:
    seen: dict[str, str] = {}
    for key in [*ODD, "x" * 1024, "é" * 512, "a/" * 511 + "b"]:
        where = paths.key_paths("bkt", key)
        for path in (where.data, where.meta, where.index):
            components = path.split("/")
            assert all(c not in ("", ".", "..") for c in components), path
            assert all(len(c) <= paths.COMPONENT_MAX + 1 for c in components), path
        assert where.data not in seen, (key, seen.get(where.data))
        seen[where.data] = key


def test_readable_layout() -> None:
    assert paths.key_paths("b", "photos/2024/cat.jpg").data == "b/photos~/2024~/cat.jpg"
    assert paths.key_paths("b", "a").data == "b/a"
    assert paths.key_paths("b", "a/b").data == "b/a~/b"
    assert paths.key_paths("b", "a/").data == "b/a~/%"
    assert paths.key_paths("b", "a/b").meta == "b/a~/.boxdrive-meta/b"
    assert paths.key_paths("b", ".x").data == "b/%2Ex"


@given(st.lists(st.text(max_size=40), min_size=2, max_size=6, unique=True))
def test_encoding_is_injective_and_decodable(keys: list[str]) -> None:
    datas = {paths.key_paths("b", k).data for k in keys}
    assert len(datas) == len(keys)
    for key in keys:
        for n, segment in enumerate(key.split("/")[:-1]):
            components = paths.dir_prefix(segment + "/").rstrip("/").split("/")
            assert paths.first_directory_segment(components) == (segment, len(components)), n


# --------------------------------------------------------------------------- layout, ETag


def test_layout_sidecar_and_stable_etag(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("photos", owner="alice")
    data = b"meow" * 1000
    info = store.put_object(
        "photos",
        "2024/cat.jpg",
        io.BytesIO(data),
        size=len(data),
        attributes=ObjectAttributes(content_type="image/jpeg", metadata={"k": "v"}),
    )
    assert info.etag == hashlib.md5(data).hexdigest()
    files = project_files(fake, store)
    assert files["photos/2024~/cat.jpg"] == data
    meta = json.loads(files["photos/2024~/.boxdrive-meta/cat.jpg"])
    assert meta["etag"] == info.etag and meta["attributes"]["content_type"] == "image/jpeg"
    marker = json.loads(files["photos/.boxdrive-bucket"])
    assert marker["owner"] == "alice"
    # A restarted store (a new instance) sees the same ETag and creation date.
    again = GitlabStore(store.api.url, fake.token, store.api.project, "main")
    assert again.head_object("photos", "2024/cat.jpg").etag == info.etag
    assert again.list_buckets() == store.list_buckets()
    time.sleep(1.1)
    assert again.head_bucket("photos").created == store.head_bucket("photos").created


def test_one_commit_per_write(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    start = len(fake.requests)
    store.put_object("b", "k", io.BytesIO(b"x"), size=1)
    store.delete_object("b", "k")
    assert calls(fake, start, "POST", "/commits") == 2


def test_listing_reads_no_file_per_key(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    for n in range(30):
        store.put_object("b", f"dir/{n:02d}", io.BytesIO(b"x"), size=1)
    start = len(fake.requests)
    page = store.list_objects("b", max_keys=10)
    assert [o.key for o in page.objects] == [f"dir/{n:02d}" for n in range(10)]
    assert all(o.size == 1 and o.etag == hashlib.md5(b"x").hexdigest() for o in page.objects)
    assert calls(fake, start, "GET", "/files/") == 0
    assert calls(fake, start) <= 5
    # The next page at the same commit is served from the cache: one call (branch head).
    mark = len(fake.requests)
    store.list_objects("b", start_after=page.last or "", max_keys=10)
    assert calls(fake, mark) == 1
    # With delimiter "/" only the prefix's own directory is read.
    mark = len(fake.requests)
    assert store.list_objects("b", delimiter="/").common_prefixes == ["dir/"]
    assert calls(fake, mark, "GET", "/tree") == 1


def test_the_lookup_names_the_config_slots_with_one_tree_call(
    fake: FakeGitlab, store: GitlabStore
) -> None:
    store.create_bucket("b")
    start = len(fake.requests)
    info = store.head_bucket("b")
    assert calls(fake, start) == 1  # the marker; the slots only when asked
    assert info.config_names == frozenset() and info.config_names == frozenset()
    assert calls(fake, start) == 2 and calls(fake, start, "GET", "/tree") == 1
    store.put_bucket_config("b", "cors", b"[]")
    store.put_bucket_config("b", "logging", b"{}")
    assert store.head_bucket("b").config_names == frozenset({"cors", "logging"})


def test_a_get_reads_no_config_slot_the_bucket_lacks(fake: FakeGitlab, store: GitlabStore) -> None:
    from tests.access_rules import ALICE, Prepared, call_for, flask_client, send

    store.create_bucket("b", owner=ALICE.identity.id)
    owned = ObjectAttributes(owner=ALICE.identity.id)
    store.put_object("b", "k", io.BytesIO(b"data"), size=4, attributes=owned)
    call = call_for("GetObject", Prepared("b"), ALICE, host="localhost")
    start = len(fake.requests)
    response = send(flask_client(store), call)
    assert response.status_code == 200, response.data
    assert calls(fake, start, "", paths.CONFIG) == 0
    assert calls(fake, start, "GET", "/tree") == 1


def test_delete_bucket_keeps_objects(store: GitlabStore) -> None:
    from boxdrive_wsgi.stores.base import BucketNotEmpty

    store.create_bucket("b")
    store.put_object("b", "k", io.BytesIO(b"x"), size=1)
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("b")
    assert store.get_object("b", "k").read_all() == b"x"


# --------------------------------------------------------------------------- sizes, bodies


@pytest.mark.parametrize("with_size", [True, False])
def test_entity_too_large_stores_nothing(with_size: bool) -> None:
    store = fake_gitlab.make_store(max_object_size=1000)
    store.create_bucket("b")
    data = b"x" * 1001
    with pytest.raises(EntityTooLarge):
        store.put_object("b", "k", io.BytesIO(data), size=len(data) if with_size else None)
    assert store.list_objects("b").objects == []
    store.put_object("b", "k", io.BytesIO(data[:1000]), size=1000)


def test_commit_body_streams_valid_json() -> None:
    from boxdrive_wsgi.stores.gitlab.api import _B64_PIECE, _CommitBody

    content = bytes(range(256)) * 10_000  # 2.5 MB
    with tempfile.TemporaryFile() as spool:
        spool.write(content)
        actions = [
            Action("create", "a/b", (spool, len(content))),
            Action("update", "a/.meta", b'{"x": 1}', "abc"),
            Action("delete", "old", last_commit_id="def"),
        ]
        body = _CommitBody(_commit_parts("main", 'say "hi"', actions))
        pieces = []
        while piece := body.read(8192):
            assert len(piece) <= 8192
            pieces.append(piece)
        raw = b"".join(pieces)
    assert len(raw) == len(body)
    document = json.loads(raw)
    assert document["branch"] == "main" and document["commit_message"] == 'say "hi"'
    first, second, third = document["actions"]
    assert base64.b64decode(first["content"]) == content and first["encoding"] == "base64"
    assert second["last_commit_id"] == "abc" and base64.b64decode(second["content"]) == b'{"x": 1}'
    assert third == {"action": "delete", "file_path": "old", "last_commit_id": "def"}
    assert _B64_PIECE % 3 == 0


# --------------------------------------------------------------------------- retries, errors


def test_429_then_success_honours_retry_after(fake: FakeGitlab) -> None:
    store = fake_gitlab.make_store(retry=RetryPolicy(attempts=3, backoff=5.0, max_wait=5.0))
    store.create_bucket("b")
    fake.inject(429, retry_after="0")
    began = time.monotonic()
    assert store.head_bucket("b").name == "b"
    assert time.monotonic() - began < 2, "Retry-After: 0 must not wait the back-off"


def test_5xx_retried_with_back_off(fake: FakeGitlab) -> None:
    store = fake_gitlab.make_store(retry=RetryPolicy(attempts=4, backoff=0.1, max_wait=1.0))
    store.create_bucket("b")
    fake.inject(502, 2)
    began = time.monotonic()
    store.put_object("b", "k", io.BytesIO(b"data"), size=4)
    assert time.monotonic() - began >= 0.1  # 0.05..0.1 then 0.1..0.2
    assert store.get_object("b", "k").read_all() == b"data"


def test_5xx_every_time_is_unavailable(fake: FakeGitlab) -> None:
    store = fake_gitlab.make_store(retry=RetryPolicy(attempts=3, backoff=0.01, max_wait=0.02))
    store.create_bucket("b")
    start = len(fake.requests)
    fake.inject(500, 3)
    with pytest.raises(StoreUnavailable):
        store.head_bucket("b")
    assert calls(fake, start) == 3
    assert store.head_bucket("b").name == "b"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_retried(fake: FakeGitlab, status: int) -> None:
    store = fake_gitlab.make_store()
    start = len(fake.requests)
    fake.inject(status)
    with pytest.raises(GitlabError) as caught:
        store.list_buckets()
    assert caught.value.status == status
    assert calls(fake, start) == 1


def test_missing_project_has_no_buckets() -> None:
    server = shared_server()
    store = GitlabStore(server.url, server.fake.token, "nobody/nothing", "main")
    assert store.list_buckets() == []
    with pytest.raises(NoSuchBucket):
        store.head_bucket("b")


def test_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    server = shared_server()
    secret = server.fake.token
    caplog.set_level(logging.DEBUG)
    store = fake_gitlab.make_store()
    store.create_bucket("b")
    store.put_object("b", "k", io.BytesIO(b"x"), size=1)
    store.list_objects("b")
    server.fake.inject(503)
    server.fake.inject(401)
    with pytest.raises(GitlabError) as caught:
        store.head_object("b", "k")
    wrong = GitlabStore(server.url, secret + "-wrong", store.api.project, "main")
    with pytest.raises(GitlabError) as refused:
        wrong.list_buckets()
    settings = Settings(store="gitlab", gitlab_url=server.url, gitlab_token=secret)
    for text in (caplog.text, repr(store), repr(wrong), str(caught.value), str(refused.value)):
        assert secret not in text
    assert secret not in repr(settings)
    assert "retrying" in caplog.text  # the log did record the retry


# --------------------------------------------------------------------------- settings


def test_settings_and_factory() -> None:
    server = shared_server()
    project = server.fake.new_project()
    settings = Settings.from_env(
        {
            "BOXDRIVE_STORE": "gitlab",
            "BOXDRIVE_GITLAB_URL": server.url,
            "BOXDRIVE_GITLAB_TOKEN": server.fake.token,
            "BOXDRIVE_GITLAB_PROJECT": project.path,
            "BOXDRIVE_GITLAB_MAX_OBJECT_SIZE": "123",
        }
    )
    assert settings.gitlab_branch == "main" and settings.gitlab_max_object_size == 123
    store = store_from_settings(settings)
    assert isinstance(store, GitlabStore) and store.max_object_size == 123
    store.create_bucket("b")
    assert [b.name for b in store.list_buckets()] == ["b"]
    with pytest.raises(ValueError, match="BOXDRIVE_GITLAB_TOKEN"):
        store_from_settings(settings.replace(gitlab_token=None))


# --------------------------------------------------------------------------- versions


def test_version_ids_are_full_commit_shas(store: GitlabStore) -> None:
    assert store.is_version_id("null") and store.is_version_id("0123456789abcdef" * 2 + "0" * 8)
    for bad in ("0" * 39, "0" * 41, "A" * 40, "g" * 40, "", "HEAD", "main"):
        assert not store.is_version_id(bad), bad


def test_version_page_costs_the_same_deep_in_history(fake: FakeGitlab, store: GitlabStore) -> None:
    """O(page) API calls: a page after the 30th version costs what the first page costs
    (the history restarts at the marker commit: no offset pages)."""
    store.create_bucket("b")
    for n in range(40):
        store.put_object("b", "k", io.BytesIO(b"%d" % n))
    store.put_object("b", "later", io.BytesIO(b"x"))
    store.list_object_versions("b", max_keys=1)  # the head's rows, read once
    start = len(fake.requests)
    first = store.list_object_versions("b", max_keys=5)
    first_cost = len(fake.requests) - start
    assert len(first.versions) == 5 and first.is_truncated
    deep = store.list_object_versions("b", max_keys=40)
    marker = str(deep.versions[29].version_id)
    start = len(fake.requests)
    page = store.list_object_versions("b", key_marker="k", version_id_marker=marker, max_keys=5)
    deep_cost = len(fake.requests) - start
    assert [v.version_id for v in page.versions] == [v.version_id for v in deep.versions[30:35]]
    assert calls(fake, start, "GET", "/commits") == 1
    # branch head + merge base + one commits page + one sidecar per version (+1 looked ahead)
    assert calls(fake, start, "GET", "/files/") <= 5 + 1
    assert deep_cost <= first_cost + 1 <= 5 + 1 + 3
    # sidecars at a commit are immutable: listing the same page again reads none
    start = len(fake.requests)
    store.list_object_versions("b", key_marker="k", version_id_marker=marker, max_keys=5)
    assert calls(fake, start, "GET", "/files/") == 0


def test_commits_of_another_branch_are_no_versions(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    store.put_object("b", "k", io.BytesIO(b"main"))
    project = next(p for p in fake.projects.values() if p.path == store.api.project)
    where = paths.key_paths("b", "k")
    with fake.lock:  # a commit on branch "dev" rewriting the same object
        sha = fake._commit(
            project, project.branches["main"], "dev", {where.data: b"dev", where.meta: b"{}"}
        )
        project.branches["dev"] = sha
    with pytest.raises(NoSuchVersion):
        store.head_object("b", "k", version_id=sha)
    with pytest.raises(NoSuchVersion):
        store.get_object("b", "k", version_id=sha)
    assert [v.version_id for v in store.list_object_versions("b").versions] != [sha]
    assert store.list_object_versions("b", key_marker="k", version_id_marker=sha).versions == []
    unknown = "f" * 40  # no such commit: GitLab's merge_base answers 400
    assert store.list_object_versions("b", key_marker="k", version_id_marker=unknown).versions == []
    with pytest.raises(NoSuchVersion):
        store.get_object("b", "k", version_id=unknown)


def test_history_cannot_be_rewritten(fake: FakeGitlab, store: GitlabStore) -> None:
    store.create_bucket("b")
    store.put_object("b", "k", io.BytesIO(b"one"))
    [version] = store.list_object_versions("b").versions
    start = len(fake.requests)
    with pytest.raises(NotSupported):
        store.delete_object("b", "k", version_id=str(version.version_id))
    with pytest.raises(NotSupported):
        store.set_bucket_versioning("b", "Enabled")
    assert calls(fake, start, "POST") == 0
    assert store.get_object("b", "k", version_id=str(version.version_id)).read_all() == b"one"
