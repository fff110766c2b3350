"""AsyncStoreAdapter beyond the contract: threads, back-pressure, cancellation, fork, close."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from flask import Flask
from waitress.server import create_server

from boxdrive_wsgi import make_blueprint
from boxdrive_wsgi.auth.credentials import Credentials, User
from boxdrive_wsgi.stores.aio import (
    AsyncObjectBody,
    AsyncStoreAdapter,
    BoxDriveStoreAdapter,
    is_boxdrive_style,
)
from boxdrive_wsgi.stores.aio.shim import BoxDriveShim
from boxdrive_wsgi.stores.base import (
    BucketAlreadyExists,
    NoSuchKey,
    ObjectAttributes,
    ObjectInfo,
    StoreError,
)
from boxdrive_wsgi.testing.helpers import md5, pattern

from .async_memory import AsyncMemoryStore
from .boxdrive_shaped import BoxDriveShapedStore


class Streaming(AsyncMemoryStore):
    """Serves an endless body for key "endless" and records what its producer did."""

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self.released = threading.Event()

    async def get_object(self, bucket: str, key: str, *, byte_range: Any = None) -> Any:
        if key != "endless":
            return await super().get_object(bucket, key, byte_range=byte_range)
        info = ObjectInfo(bucket, key, 10**12, "0" * 32, time_now())

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    self.produced += 1
                    yield b"x" * 1024
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            except GeneratorExit:
                self.cancelled.set()
                raise
            finally:
                self.finished.set()

        async def release() -> None:
            self.released.set()

        return AsyncObjectBody(info, chunks(), on_close=release)


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def adapter() -> Iterator[AsyncStoreAdapter]:
    instance = AsyncStoreAdapter(Streaming(), buffer_chunks=3, timeout=20)
    instance.create_bucket("b")
    yield instance
    instance.close()


def test_slow_consumer_bounds_the_buffer(adapter: AsyncStoreAdapter) -> None:
    store: Streaming = adapter.store
    body = adapter.get_object("b", "endless")
    chunks = iter(body)
    for consumed in range(1, 6):
        next(chunks)
        time.sleep(0.05)  # the producer has all the time it wants to run ahead
        assert store.produced <= consumed + adapter.buffer_chunks
    assert store.produced == 5 + adapter.buffer_chunks
    body.close()


def test_closing_mid_stream_cancels_the_producer(adapter: AsyncStoreAdapter) -> None:
    store: Streaming = adapter.store
    body = adapter.get_object("b", "endless")
    assert len(next(iter(body))) == 1024
    body.close()  # client disconnect
    assert store.cancelled.is_set() and store.finished.is_set() and store.released.is_set()
    produced = store.produced
    time.sleep(0.05)
    assert store.produced == produced


def test_closing_before_reading_releases(adapter: AsyncStoreAdapter) -> None:
    store: Streaming = adapter.store
    adapter.get_object("b", "endless").close()
    assert store.released.wait(5)


def test_request_body_is_read_by_the_calling_thread_in_chunks(adapter: AsyncStoreAdapter) -> None:
    readers: set[int] = set()
    sizes: list[int] = []
    data = pattern(3 * 1024 * 1024 + 5)
    source = io.BytesIO(data)

    class Body:
        def read(self, size: int = -1, /) -> bytes:
            readers.add(threading.get_ident())
            sizes.append(size)
            return source.read(size)

    info = adapter.put_object("b", "k", Body(), size=len(data))
    assert info.etag == md5(data)
    assert readers == {threading.get_ident()}
    assert all(0 < s <= 1024 * 1024 for s in sizes)


class Failing(AsyncMemoryStore):
    class Custom(Exception):
        pass

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def head_object(self, bucket: str, key: str) -> ObjectInfo:
        if key == "custom":
            raise Failing.Custom("mine")
        if key == "store-error":
            raise NoSuchKey(bucket, key)
        self.started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("not reached")


def test_exceptions_keep_their_type_and_timeouts_cancel() -> None:
    adapter = AsyncStoreAdapter(Failing(), timeout=0.3)
    store: Failing = adapter.store
    try:
        with pytest.raises(Failing.Custom):
            adapter.head_object("b", "custom")
        with pytest.raises(NoSuchKey) as caught:
            adapter.head_object("b", "store-error")
        assert isinstance(caught.value, StoreError) and caught.value.key == "store-error"
        with pytest.raises(TimeoutError):
            adapter.head_object("b", "slow")
        assert store.cancelled.wait(5)
    finally:
        adapter.close()


def test_close_joins_the_thread_and_closes_the_store() -> None:
    store = AsyncMemoryStore()
    adapter = AsyncStoreAdapter(store)
    assert adapter.loop_thread is None  # lazy
    adapter.create_bucket("b")
    thread = adapter.loop_thread
    assert thread is not None and thread.is_alive() and thread.daemon
    adapter.close()
    assert not thread.is_alive()
    assert store.closed
    adapter.close()  # twice is fine


def _child(adapter: AsyncStoreAdapter, parent_thread: int, results: Any) -> None:
    try:
        adapter.put_object("b", "child", io.BytesIO(b"from the child"))
        body = adapter.get_object("b", "child").read_all()
        thread = adapter.loop_thread
        assert thread is not None
        results.put((body, thread.native_id != parent_thread, adapter.head_object("b", "k").size))
    except BaseException as exc:
        results.put(repr(exc))
    finally:
        adapter.close()


def test_loop_restarts_after_fork() -> None:
    adapter = AsyncStoreAdapter(AsyncMemoryStore(), timeout=20)
    try:
        adapter.create_bucket("b")
        adapter.put_object("b", "k", io.BytesIO(b"before fork"))
        parent = adapter.loop_thread
        assert parent is not None and parent.native_id is not None
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        proc = ctx.Process(target=_child, args=(adapter, parent.native_id, results))
        proc.start()
        outcome = results.get(timeout=30)
        proc.join(30)
        assert outcome == (b"from the child", True, len(b"before fork"))
        assert proc.exitcode == 0
        # The parent's loop is untouched by the child.
        assert adapter.loop_thread is parent and parent.is_alive()
        assert adapter.get_object("b", "k").read_all() == b"before fork"
    finally:
        adapter.close()


# --------------------------------------------------------------------------- BoxDrive


def test_boxdrive_style_is_detected_and_wrapped() -> None:
    assert is_boxdrive_style(BoxDriveShapedStore())
    assert not is_boxdrive_style(AsyncMemoryStore())
    adapter = AsyncStoreAdapter(BoxDriveShapedStore())
    try:
        assert isinstance(adapter.store, BoxDriveShim)
    finally:
        adapter.close()


def test_objects_written_by_boxdrive_itself_are_readable() -> None:
    native = BoxDriveShapedStore()
    adapter = BoxDriveStoreAdapter(native)
    try:
        adapter.run(native.create_bucket("legacy"))
        adapter.run(native.put_object("legacy", "old.txt", b"written by BoxDrive", "text/plain"))
        assert [b.name for b in adapter.list_buckets()] == ["legacy"]
        info = adapter.head_object("legacy", "old.txt")
        assert (info.size, info.etag, info.content_type) == (
            19,
            md5(b"written by BoxDrive"),
            "text/plain",
        )
        assert adapter.get_object("legacy", "old.txt").read_all() == b"written by BoxDrive"
        # Our writes keep what BoxDrive cannot, in the hidden sidecar bucket.
        attrs = ObjectAttributes(
            "application/vnd.x+json", {"a": "1"}, {"Cache-Control": "no-cache"}
        )
        adapter.put_object("legacy", "new", io.BytesIO(b"{}"), attributes=attrs)
        head = adapter.head_object("legacy", "new")
        assert (head.content_type, dict(head.metadata)) == ("application/vnd.x+json", {"a": "1"})
        assert [b.name for b in adapter.list_buckets()] == ["legacy"]
        # BoxDrive rewriting the object behind our back: the stale record is ignored.
        adapter.run(native.put_object("legacy", "new", b"[]", None))
        assert adapter.head_object("legacy", "new").metadata == {}
    finally:
        adapter.close()


# --------------------------------------------------------------------------- many clients


@pytest.fixture
def served() -> Iterator[tuple[str, AsyncStoreAdapter]]:
    adapter = AsyncStoreAdapter(AsyncMemoryStore(), timeout=30)
    app = Flask("async-served")
    users = Credentials([User("main", "AKIAASYNC", "async-secret")])
    app.register_blueprint(make_blueprint(adapter, credentials=users))
    server = create_server(app, host="127.0.0.1", port=0, threads=16)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", adapter
    server.close()
    adapter.close()


def test_sixteen_boto3_threads_through_waitress(served: tuple[str, AsyncStoreAdapter]) -> None:
    endpoint, _ = served
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="AKIAASYNC",
        aws_secret_access_key="async-secret",
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            max_pool_connections=32,
            read_timeout=30,
        ),
    )
    s3.create_bucket(Bucket="shared")
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def client(n: int) -> None:
        try:
            barrier.wait()
            for i in range(6):
                data = pattern(70_000 + n * 1000 + i, seed=n)
                key = f"t{n}/o{i}"
                s3.put_object(Bucket="shared", Key=key, Body=data)
                assert s3.get_object(Bucket="shared", Key=key)["Body"].read() == data
                s3.list_objects_v2(Bucket="shared", Prefix=f"t{n}/")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "deadlock: a client thread hung"
    assert errors == []
    listed = s3.list_objects_v2(Bucket="shared")
    assert listed["KeyCount"] == 96


def test_owners_survive_boxdrive_dates_of_now() -> None:
    """BoxDrive's GitlabStore reports "now" as every bucket's creation date: the owner
    recorded in the sidecar must still apply (it used to read as None)."""
    moments = iter(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in range(10**6))
    adapter = BoxDriveStoreAdapter(
        BoxDriveShapedStore(dates_of_now=True, clock=lambda: next(moments))
    )
    try:
        assert adapter.create_bucket("mine", owner="alice").owner == "alice"
        adapter.create_bucket("nobodys")
        assert adapter.head_bucket("mine").owner == "alice"
        assert {b.name: b.owner for b in adapter.list_buckets()} == {
            "mine": "alice",
            "nobodys": None,
        }
        with pytest.raises(BucketAlreadyExists) as caught:
            adapter.create_bucket("mine", owner="bob")
        assert caught.value.owner == "alice"
    finally:
        adapter.close()


def test_bucket_recreated_behind_our_back_has_no_owner() -> None:
    native = BoxDriveShapedStore()
    adapter = BoxDriveStoreAdapter(native)
    try:
        adapter.create_bucket("b", owner="alice")
        adapter.run(native.delete_bucket("b"))
        native.buckets.clear()
        adapter.run(_later(native.create_bucket("b")))
        assert adapter.head_bucket("b").owner is None
    finally:
        adapter.close()


async def _later(coro: Any) -> Any:
    await asyncio.sleep(1.05)  # a creation date one second on (records keep seconds)
    return await coro


def test_read_only_versions_are_not_declared_through_the_adapter() -> None:
    """The adapter forwards version ids to a versioning async store only: one that
    declares read-only versions is served as a store without versions."""
    from boxdrive_wsgi.stores.capabilities import Capabilities

    class ReadOnlyHistory(AsyncMemoryStore):
        capabilities = Capabilities(version_reads=True, bucket_config=True)

    adapter = AsyncStoreAdapter(ReadOnlyHistory())
    try:
        assert not adapter.capabilities.version_reads and not adapter.capabilities.versioning
        assert adapter.capabilities.bucket_config
    finally:
        adapter.close()


def test_the_lookup_forwards_the_config_slots_the_async_store_names() -> None:
    """An async store that names its slots with the lookup (``BucketInfo.config_names``)
    spares the HTTP layer a read of each slot it lacks; the adapter passes them on."""
    adapter = AsyncStoreAdapter(AsyncMemoryStore())
    try:
        adapter.create_bucket("b")
        assert adapter.head_bucket("b").config_names == frozenset()
        adapter.put_bucket_config("b", "cors", b"[]")
        assert adapter.head_bucket("b").config_names == frozenset({"cors"})
    finally:
        adapter.close()
