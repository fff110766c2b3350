"""Contract: one ETag per object, everywhere (completion, HEAD, GET, listing, copies).

Clients compare them: ``aws s3 cp`` checks a download against the listing's ETag and
then sends ``If-Match`` with it on every ranged GET, so a listing that shows the plain
MD5 of a multipart object while HEAD shows its ``-N`` ETag breaks every download.
"""

from __future__ import annotations

import io

from ...stores import ObjectInfo, ObjectStore
from ..helpers import MIN_PART_SIZE, pattern, put

MIN = MIN_PART_SIZE  # what mp_store sets


def multipart_object(store: ObjectStore, bucket: str, key: str) -> ObjectInfo:
    upload_id = store.create_multipart_upload(bucket, key)
    parts = []
    for number, data in enumerate([pattern(MIN, 1), pattern(MIN, 2), pattern(99, 3)], 1):
        part = store.upload_part(bucket, key, upload_id, number, io.BytesIO(data), size=len(data))
        parts.append((number, part.etag))
    return store.complete_multipart_upload(bucket, key, upload_id, parts)


def etags_everywhere(store: ObjectStore, bucket: str, key: str) -> dict[str, str]:
    with store.get_object(bucket, key) as body:
        got = body.info.etag
    listed = {o.key: o.etag for o in store.list_objects(bucket).objects}
    under = {o.key: o.etag for o in store.list_objects(bucket, prefix=key).objects}
    return {
        "head": store.head_object(bucket, key).etag,
        "get": got,
        "list": listed[key],
        "list-prefix": under[key],
    }


def test_multipart_object_has_one_etag(mp_store: ObjectStore, bucket: str) -> None:
    info = multipart_object(mp_store, bucket, "big")
    assert info.etag.endswith("-3")
    assert etags_everywhere(mp_store, bucket, "big") == dict.fromkeys(
        ["head", "get", "list", "list-prefix"], info.etag
    )


def test_copies_have_one_etag(mp_store: ObjectStore, bucket: str) -> None:
    multipart_object(mp_store, bucket, "big")
    put(mp_store, bucket, "small", b"single part")
    for source in ("big", "small"):
        copied = mp_store.copy_object(bucket, source, bucket, f"copy-of-{source}")
        seen = etags_everywhere(mp_store, bucket, f"copy-of-{source}")
        assert seen == dict.fromkeys(seen, copied.etag), source


def test_replaced_multipart_object_lists_its_new_etag(mp_store: ObjectStore, bucket: str) -> None:
    multipart_object(mp_store, bucket, "k")
    replaced = put(mp_store, bucket, "k", b"now a single part")
    seen = etags_everywhere(mp_store, bucket, "k")
    assert seen == dict.fromkeys(seen, replaced.etag)
