"""Versioning through the blueprint (Flask's test client over the memory store): the
exact headers and documents, S3's errors, and 501 from a store that keeps no versions.
Real servers and boto3: tests/e2e/test_versioning.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from boxdrive_wsgi.stores.memory import MemoryStore

from ..access_rules import error_code, flask_client

ENABLED = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
SUSPENDED = b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"


class UnversionedStore(MemoryStore):
    """A store that declares no versions (as the S3 and GitLab stores do)."""

    capabilities = replace(MemoryStore.capabilities, versioning=False)


@pytest.fixture
def client() -> FlaskClient:
    c = flask_client(MemoryStore(), anonymous=True)
    assert c.put("/bkt").status_code == 200
    return c


def entries(body: bytes) -> list[tuple[str, str, str, str]]:
    """(kind, key, version id, is latest) of a ListVersionsResult, in document order."""
    root = ET.fromstring(body)
    found = []
    for element in root:
        kind = element.tag.split("}")[-1]
        if kind in ("Version", "DeleteMarker"):
            text = {child.tag.split("}")[-1]: child.text or "" for child in element}
            found.append((kind, text["Key"], text["VersionId"], text["IsLatest"]))
    return found


def test_status_documents(client: FlaskClient) -> None:
    empty = client.get("/bkt?versioning")
    assert empty.status_code == 200
    assert empty.data.endswith(
        b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/" />'
    )
    assert client.put("/bkt?versioning", data=SUSPENDED).status_code == 200
    assert b"<Status>Suspended</Status>" in client.get("/bkt?versioning").data
    bad = client.put("/bkt?versioning", data=b"<VersioningConfiguration><Status>Off</Status>")
    assert (bad.status_code, error_code(bad.data)) == (400, "MalformedXML")
    off = client.put(
        "/bkt?versioning",
        data=b"<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>",
    )
    assert (off.status_code, error_code(off.data)) == (
        400,
        "IllegalVersioningConfigurationException",
    )
    missing = client.put("/nope-bucket?versioning", data=ENABLED)
    assert (missing.status_code, error_code(missing.data)) == (404, "NoSuchBucket")


def test_never_versioned_answers_no_version_headers(client: FlaskClient) -> None:
    put = client.put("/bkt/k", data=b"1")
    assert "x-amz-version-id" not in put.headers
    assert "x-amz-version-id" not in client.get("/bkt/k").headers
    assert client.get("/bkt/k?versionId=null").data == b"1"
    deleted = client.delete("/bkt/k")
    assert deleted.status_code == 204
    assert (
        "x-amz-version-id" not in deleted.headers and "x-amz-delete-marker" not in deleted.headers
    )
    absent = client.head("/bkt/k")
    assert absent.status_code == 404
    assert absent.headers["x-amz-delete-marker"] == "false"


def test_versions_markers_and_their_errors(client: FlaskClient) -> None:
    assert client.put("/bkt?versioning", data=ENABLED).status_code == 200
    first = client.put("/bkt/k", data=b"1").headers["x-amz-version-id"]
    second = client.put("/bkt/k", data=b"2").headers["x-amz-version-id"]
    assert first != second
    got = client.get(f"/bkt/k?versionId={first}")
    assert got.data == b"1" and got.headers["x-amz-version-id"] == first

    deleted = client.delete("/bkt/k")
    assert deleted.headers["x-amz-delete-marker"] == "true"
    marker = deleted.headers["x-amz-version-id"]

    latest = client.get("/bkt/k")
    assert (latest.status_code, error_code(latest.data)) == (404, "NoSuchKey")
    assert latest.headers["x-amz-delete-marker"] == "true"
    assert latest.headers["x-amz-version-id"] == marker

    on_marker = client.get(f"/bkt/k?versionId={marker}")
    assert (on_marker.status_code, error_code(on_marker.data)) == (405, "MethodNotAllowed")
    assert on_marker.headers["x-amz-delete-marker"] == "true"
    assert on_marker.headers["x-amz-version-id"] == marker
    assert "Last-Modified" in on_marker.headers

    malformed = client.get("/bkt/k?versionId=not%20one")
    assert (malformed.status_code, error_code(malformed.data)) == (400, "InvalidArgument")
    unknown = client.get("/bkt/k?versionId=" + "A" * 32)
    assert (unknown.status_code, error_code(unknown.data)) == (404, "NoSuchVersion")

    listed = client.get("/bkt?versions")
    assert entries(listed.data) == [
        ("DeleteMarker", "k", marker, "true"),
        ("Version", "k", second, "false"),
        ("Version", "k", first, "false"),
    ]
    page = client.get(f"/bkt?versions&max-keys=1&key-marker=k&version-id-marker={marker}")
    assert entries(page.data) == [("Version", "k", second, "false")]
    assert b"<NextKeyMarker>k</NextKeyMarker>" in page.data
    assert f"<NextVersionIdMarker>{second}</NextVersionIdMarker>".encode() in page.data
    lone = client.get(f"/bkt?versions&version-id-marker={first}")
    assert (lone.status_code, error_code(lone.data)) == (400, "InvalidArgument")
    foreign = client.get("/bkt?versions&key-marker=k&version-id-marker=AAAA")
    assert (foreign.status_code, error_code(foreign.data)) == (400, "InvalidArgument")

    removed = client.delete(f"/bkt/k?versionId={marker}")
    assert removed.headers["x-amz-delete-marker"] == "true"
    assert removed.headers["x-amz-version-id"] == marker
    assert client.get("/bkt/k").data == b"2"


def test_suspended_writes_name_no_version(client: FlaskClient) -> None:
    assert client.put("/bkt?versioning", data=ENABLED).status_code == 200
    assert client.put("/bkt?versioning", data=SUSPENDED).status_code == 200
    put = client.put("/bkt/k", data=b"1")
    assert "x-amz-version-id" not in put.headers
    assert client.head("/bkt/k").headers["x-amz-version-id"] == "null"
    deleted = client.delete("/bkt/k")
    assert deleted.headers["x-amz-version-id"] == "null"
    assert deleted.headers["x-amz-delete-marker"] == "true"


def test_a_store_without_versions_answers_501() -> None:
    client = flask_client(UnversionedStore(), anonymous=True)
    assert client.put("/bkt").status_code == 200
    assert client.put("/bkt/k", data=b"1").status_code == 200
    for answer in (
        client.put("/bkt?versioning", data=ENABLED),
        client.put("/bkt?versioning", data=SUSPENDED),
        client.get("/bkt/k?versionId=" + "A" * 32),
        client.delete("/bkt/k?versionId=abc"),
        client.put("/bkt/c", headers={"x-amz-copy-source": "/bkt/k?versionId=abc"}),
    ):
        assert (answer.status_code, error_code(answer.data)) == (501, "NotImplemented")
    # what holds for every store: the null version, the empty status, null listings
    assert client.get("/bkt/k?versionId=null").data == b"1"
    assert b"<Status>" not in client.get("/bkt?versioning").data
    assert entries(client.get("/bkt?versions").data) == [("Version", "k", "null", "true")]
    copied = client.put("/bkt/c", headers={"x-amz-copy-source": "/bkt/k?versionId=null"})
    assert copied.status_code == 200 and "x-amz-copy-source-version-id" not in copied.headers
