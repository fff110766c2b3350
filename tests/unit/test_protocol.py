"""Pure protocol helpers: ranges, names, conditionals, XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from boxdrive_wsgi.protocol import xml
from boxdrive_wsgi.protocol.conditionals import check_read_conditions, write_conditions
from boxdrive_wsgi.protocol.documents import DELETE_OBJECTS
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.protocol.headers import attributes_from_headers
from boxdrive_wsgi.protocol.names import is_valid_bucket_name
from boxdrive_wsgi.protocol.ranges import parse_range
from boxdrive_wsgi.stores.base import ByteRange, InvalidRange
from boxdrive_wsgi.stores.errors import NoSuchKey, PreconditionFailed
from boxdrive_wsgi.stores.model import ObjectInfo, WriteMode, WriteOptions


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=5-", ByteRange(5, None)),
        ("bytes=-5", ByteRange(None, 5)),
        ("bytes=-0", ByteRange(None, 0)),
        ("bytes=10-5", None),
        ("bytes=0-1,3-4", None),
        ("items=0-1", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header) == expected


def test_byte_range_resolution() -> None:
    assert ByteRange(0, 0).resolve(10) == (0, 1)
    assert ByteRange(5, 100).resolve(10) == (5, 10)
    assert ByteRange(None, 3).resolve(10) == (7, 10)
    assert ByteRange(None, 30).resolve(10) == (0, 10)
    for bad in (ByteRange(10, None), ByteRange(None, 0)):
        with pytest.raises(InvalidRange):
            bad.resolve(10)
    with pytest.raises(InvalidRange):
        ByteRange(0, None).resolve(0)


@pytest.mark.parametrize(
    "name", ["abc", "my-bucket", "my.bucket.name", "a" * 63, "0bucket", "bucket9"]
)
def test_valid_bucket_names(name: str) -> None:
    assert is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Bucket", "bucket_", "-bucket", "bucket-", "my..bucket", "my.-bucket",
     "192.168.5.4", "xn--bucket", "bucket-s3alias", "with space", ""],
)  # fmt: skip
def test_invalid_bucket_names(name: str) -> None:
    assert not is_valid_bucket_name(name)


MODIFIED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
BEFORE = "Tue, 30 Apr 2024 12:00:00 GMT"
AFTER = "Thu, 02 May 2024 12:00:00 GMT"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, None),
        ({"If-Match": '"abc"'}, None),
        ({"If-Match": '"other"'}, "PreconditionFailed"),
        ({"If-Match": "*"}, None),
        ({"If-None-Match": '"abc"'}, "NotModified"),
        ({"If-None-Match": '"other"'}, None),
        ({"If-Modified-Since": AFTER}, "NotModified"),
        ({"If-Modified-Since": BEFORE}, None),
        ({"If-Unmodified-Since": BEFORE}, "PreconditionFailed"),
        ({"If-Unmodified-Since": AFTER}, None),
        # If-Match that holds wins over a failing If-Unmodified-Since (S3, RFC 7232 3.4).
        ({"If-Match": '"abc"', "If-Unmodified-Since": BEFORE}, None),
        # If-None-Match that fails wins over If-Modified-Since that holds.
        ({"If-None-Match": '"abc"', "If-Modified-Since": BEFORE}, "NotModified"),
        ({"If-None-Match": '"other"', "If-Modified-Since": AFTER}, None),
        ({"If-Modified-Since": "not a date"}, None),
    ],
)
def test_read_conditions(headers: dict[str, str], code: str | None) -> None:
    if code is None:
        check_read_conditions(headers, "abc", MODIFIED)
        return
    with pytest.raises(S3Error) as raised:
        check_read_conditions(headers, "abc", MODIFIED)
    assert raised.value.code == code


def test_write_conditions() -> None:
    assert write_conditions({}) == WriteOptions()
    assert write_conditions({"If-None-Match": "*"}) == WriteOptions(WriteMode.CREATE)
    assert write_conditions({"If-Match": '"abc"'}) == WriteOptions(WriteMode.UPDATE, "abc")
    assert write_conditions({"If-Match": " * "}) == WriteOptions(WriteMode.UPDATE, "*")
    both = write_conditions({"If-Match": '"abc"', "If-None-Match": "*"})
    current = ObjectInfo("b", "k", 1, "abc", datetime.now(UTC))
    with pytest.raises(PreconditionFailed):  # the key exists: If-None-Match fails
        both.check("b", "k", current)
    with pytest.raises(NoSuchKey):  # it does not: If-Match fails
        both.check("b", "k", None)
    with pytest.raises(S3Error):
        write_conditions({"If-None-Match": '"abc"'})


def test_attributes_from_headers() -> None:
    attributes = attributes_from_headers(
        {
            "Content-Type": "text/plain",
            "X-Amz-Meta-Color": " blue ",
            "Content-Encoding": "aws-chunked,gzip",
            "Cache-Control": "no-cache",
            "Authorization": "ignored",
        }
    )
    assert attributes.content_type == "text/plain"
    assert attributes.metadata == {"color": "blue"}
    assert attributes.headers == {"Content-Encoding": "gzip", "Cache-Control": "no-cache"}


def test_metadata_limit() -> None:
    with pytest.raises(S3Error) as raised:
        attributes_from_headers({"x-amz-meta-big": "x" * 3000})
    assert raised.value.code == "MetadataTooLarge"


def test_error_document() -> None:
    error = S3Error("NoSuchKey", resource="/b/k", extra={"Key": "k"})
    fields = frozenset({"Code", "Message", "Key", "Resource", "RequestId"})
    error_document = xml.Document("Error", {"Error": fields}, 4096, 16)
    document = xml.parse(xml.render_error(error, "REQ1"), error_document)
    assert document.tag == "Error"
    assert xml.child_text(document, "Code") == "NoSuchKey"
    assert xml.child_text(document, "Key") == "k"
    assert xml.child_text(document, "Resource") == "/b/k"
    assert xml.child_text(document, "RequestId") == "REQ1"
    assert error.status == 404


@pytest.mark.parametrize(
    "body",
    [b"", b"<notclosed>", b'<!DOCTYPE x [<!ENTITY e "boom">]><Delete>&e;</Delete>'],
)
def test_parse_rejects_bad_xml(body: bytes) -> None:
    with pytest.raises(S3Error) as raised:
        xml.parse(body, DELETE_OBJECTS)
    assert raised.value.code == "MalformedXML"


def test_parse_strips_namespace() -> None:
    root = xml.parse(
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet></Delete>',
        DELETE_OBJECTS,
    )
    assert root.tag == "Delete"
    assert xml.child_text(root, "Quiet") == "true"
