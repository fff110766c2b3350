"""S3Store's upstream names, one mapping for every part of the store (``s3.layout``)."""

from __future__ import annotations

from boxdrive_wsgi.stores.s3 import S3Store
from boxdrive_wsgi.stores.s3.layout import Layout
from boxdrive_wsgi.stores.s3.multipart import S3Multipart


def test_one_to_one_names_are_upstreams_own() -> None:
    layout = Layout()
    assert layout.one_to_one
    assert layout.where("b", "a/k") == {"Bucket": "b", "Key": "a/k"}
    assert layout.base("b") == ""
    assert layout.reserved(".boxdrive/bucket.json") and not layout.reserved("k")
    assert layout.probe_location("b") == ("b", ".boxdrive/probe-")


def test_prefix_names_live_under_the_prefix_of_one_bucket() -> None:
    layout = Layout("up", "p/")
    assert not layout.one_to_one
    assert layout.where("b", "a/k") == {"Bucket": "up", "Key": "p/b/a/k"}
    assert layout.marker("b") == "p/b"
    assert layout.config_key("b", "cors") == "p/.config/b/cors"
    assert layout.config_key("b") == "p/.config/b/"
    assert layout.probe_location("b") == ("up", "p/.probe/")
    assert not layout.reserved(".boxdrive/bucket.json")  # a client's key there


def test_the_store_and_its_multipart_share_one_layout() -> None:
    store = S3Store(endpoint_url="http://127.0.0.1:9", bucket="up", prefix="p/")
    assert store.layout == Layout("up", "p/")
    assert isinstance(store.multipart_backend(), S3Multipart)
    assert not hasattr(store, "_ub") and not hasattr(store, "_uk")
