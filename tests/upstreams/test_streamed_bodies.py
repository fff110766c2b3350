"""Bodies of known length streamed to each real upstream, not spooled (the store's
``spool_memory`` is set low so small bodies take that path): PutObject and UploadPart
arrive whole with the right ETag, and a body that ends early or fails its check while
upstream reads it stores nothing, with the body's own error (not botocore's)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores import IncompleteBody
from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.stores.s3.support import Streamed, request_body

from .conftest import open_lane

SIZE = 300_000


class Failing:
    """A body that raises ``error`` once ``after`` bytes were read (a check failing at
    the end, as the HTTP layer's BadDigest does)."""

    def __init__(self, data: bytes, after: int, error: Exception) -> None:
        self._data = io.BytesIO(data)
        self._after = after
        self._error = error

    def read(self, n: int = -1, /) -> bytes:
        if self._data.tell() >= self._after:
            raise self._error
        return self._data.read(min(n, self._after - self._data.tell()))


class Digest(Exception):
    """Stands in for the HTTP layer's BadDigest."""


@pytest.fixture(params=["moto-prefix", "rgw-prefix"])
def store(request: pytest.FixtureRequest) -> Iterator[S3Store]:
    with open_lane(request.param) as instance:
        instance.spool_memory = 64 * 1024
        instance.create_bucket("b")
        yield instance


def test_bodies_over_the_spool_size_are_streamed() -> None:
    assert isinstance(request_body(io.BytesIO(b"x" * 10), 10, stream=True, memory=5), Streamed)
    assert not isinstance(request_body(io.BytesIO(b"x" * 10), 10, stream=True, memory=10), Streamed)
    assert not isinstance(request_body(io.BytesIO(b"x"), None, stream=True, memory=0), Streamed)
    assert not isinstance(request_body(io.BytesIO(b"x" * 10), 10, stream=False, memory=5), Streamed)


def test_put_and_part_streamed(store: S3Store) -> None:
    data = os.urandom(SIZE)
    info = store.put_object("b", "k", io.BytesIO(data), size=SIZE)
    assert info.etag == hashlib.md5(data).hexdigest()
    assert store.get_object("b", "k").read_all() == data
    assert store.head_object("b", "k").etag == info.etag
    upload_id = store.create_multipart_upload("b", "mp")
    part = store.upload_part("b", "mp", upload_id, 1, io.BytesIO(data), size=SIZE)
    assert part.etag == info.etag and part.size == SIZE
    store.complete_multipart_upload("b", "mp", upload_id, [(1, part.etag)])
    assert store.get_object("b", "mp").read_all() == data


def test_a_short_streamed_body_stores_nothing(store: S3Store) -> None:
    store.put_object("b", "k", io.BytesIO(b"old"), size=3)
    with pytest.raises(IncompleteBody):
        store.put_object("b", "k", io.BytesIO(os.urandom(SIZE - 1)), size=SIZE)
    assert store.get_object("b", "k").read_all() == b"old"
    with pytest.raises(IncompleteBody):
        store.put_object("b", "fresh", io.BytesIO(os.urandom(1000)), size=SIZE)
    assert [o.key for o in store.list_objects("b").objects] == ["k"]


def test_a_body_failing_its_check_at_the_end_stores_nothing(store: S3Store) -> None:
    data = os.urandom(SIZE)
    with pytest.raises(Digest):
        store.put_object("b", "k", Failing(data, SIZE - 10, Digest("bad")), size=SIZE)
    assert store.list_objects("b").objects == []
    upload_id = store.create_multipart_upload("b", "mp")
    with pytest.raises(Digest):
        store.upload_part("b", "mp", upload_id, 1, Failing(data, SIZE - 10, Digest("x")), size=SIZE)
    assert store.list_parts("b", "mp", upload_id).parts == []
    store.abort_multipart_upload("b", "mp", upload_id)
