"""A filesystem listing page decodes each distinct attributes text once: rows with the same
attributes share one ObjectAttributes, rows with other attributes keep their own."""

from __future__ import annotations

import io
from pathlib import Path

from boxdrive_wsgi.stores.base import ObjectAttributes
from boxdrive_wsgi.stores.filesystem import FilesystemStore

PLAIN = ObjectAttributes(content_type="text/plain")
TAGGED = ObjectAttributes(content_type="image/png", metadata={"colour": "blue"})


def test_rows_with_the_same_attributes_share_them(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    store.create_bucket("b")
    chosen = {"a": PLAIN, "b": TAGGED, "c": PLAIN, "d": ObjectAttributes(), "e": TAGGED}
    for key, attributes in chosen.items():
        store.put_object("b", key, io.BytesIO(b"x"), size=1, attributes=attributes)
    page = store.list_objects("b")
    found = {o.key: o.attributes for o in page.objects}
    assert found == chosen
    assert found["a"] is found["c"] and found["b"] is found["e"]
    assert found["a"] is not found["b"]
    # Pages do not share: each listing decodes its own.
    again = {o.key: o.attributes for o in store.list_objects("b").objects}
    assert again == chosen and again["a"] is not found["a"]
    store.close()
