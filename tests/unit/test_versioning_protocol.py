"""Versioning on the wire: VersioningConfiguration documents, version ids a client
sends, the version headers, x-amz-copy-source's ?versionId=."""

from __future__ import annotations

import pytest

from boxdrive_wsgi.protocol import versioning
from boxdrive_wsgi.protocol.copy_source import parse_copy_source
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.protocol.versioning import (
    VersioningConfiguration,
    check_version_id,
    copy_source_version_headers,
    parse_versioning_configuration,
    render_versioning,
    requested_version,
    version_headers,
    written_version_headers,
)

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def document(inner: str) -> bytes:
    return f"<VersioningConfiguration {NS}>{inner}</VersioningConfiguration>".encode()


def code_of(body: bytes) -> str:
    with pytest.raises(S3Error) as caught:
        parse_versioning_configuration(body)
    return caught.value.code


@pytest.mark.parametrize("status", ["Enabled", "Suspended"])
def test_statuses_parse(status: str) -> None:
    parsed = parse_versioning_configuration(document(f"<Status>{status}</Status>"))
    assert parsed == VersioningConfiguration(status)
    spaced = parse_versioning_configuration(document(f"<Status>\n {status} </Status>"))
    assert spaced.status == status


def test_mfa_delete_disabled_is_accepted() -> None:
    body = document("<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>")
    assert parse_versioning_configuration(body) == VersioningConfiguration("Enabled", "Disabled")


@pytest.mark.parametrize(
    "inner",
    [
        "",  # no Status: S3 "The Versioning element must be specified"
        "<Status></Status>",
        "<Status>enabled</Status>",  # values are case-sensitive
        "<Status>Disabled</Status>",  # never back to unversioned
        "<Status>Off</Status>",
        "<MfaDelete>Disabled</MfaDelete>",
        "<Status>Enabled</Status><MfaDelete>Maybe</MfaDelete>",
    ],
)
def test_bad_values_are_illegal_configurations(inner: str) -> None:
    assert code_of(document(inner)) == "IllegalVersioningConfigurationException"


def test_mfa_delete_enabled_is_not_implemented() -> None:
    body = document("<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>")
    assert code_of(body) == "NotImplemented"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<VersioningConfiguration><Status>Enabled</Status>",  # not closed
        b"<Versioning><Status>Enabled</Status></Versioning>",  # another root
        document("<Status>Enabled</Status><Other/>"),  # an element S3 does not define
        document("<Status><Status>Enabled</Status></Status>"),
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "Enabled">]>'
        b"<VersioningConfiguration><Status>&x;</Status></VersioningConfiguration>",
    ],
)
def test_malformed_documents(body: bytes) -> None:
    assert code_of(body) == "MalformedXML"


def test_oversized_document_is_refused_before_parsing() -> None:
    body = document("<Status>Enabled</Status>" + " " * 70_000)
    assert code_of(body) == "MaxMessageLengthExceeded"


def test_render_versioning() -> None:
    assert list(render_versioning(None)) == []
    assert list(render_versioning("Suspended")) == [("Status", "Suspended")]


@pytest.mark.parametrize("value", ["null", "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "a" * 64])
def test_version_ids_that_may_be_one(value: str) -> None:
    assert check_version_id(value) == value


@pytest.mark.parametrize("value", ["", "a" * 1025, "with space", "tab\t", "é", "\x00"])
def test_malformed_version_ids(value: str) -> None:
    with pytest.raises(S3Error) as caught:
        check_version_id(value, "version-id-marker")
    error = caught.value
    assert (error.code, error.status, error.message) == (
        "InvalidArgument",
        400,
        "Invalid version id specified",
    )
    assert error.extra == {"ArgumentName": "version-id-marker", "ArgumentValue": value}


def test_requested_version() -> None:
    assert requested_version({}) is None
    assert requested_version({"versionId": "null"}) == "null"
    assert requested_version({"versionId": "abc"}) == "abc"
    with pytest.raises(S3Error):
        requested_version({"versionId": ""})


def test_version_headers() -> None:
    assert version_headers(None) == {}  # never versioned: S3 says nothing
    assert version_headers("null") == {"x-amz-version-id": "null"}
    assert version_headers("v1", True) == {
        "x-amz-version-id": "v1",
        "x-amz-delete-marker": "true",
    }
    assert version_headers(None, True) == {"x-amz-delete-marker": "true"}


def test_written_version_headers_name_only_new_versions() -> None:
    assert written_version_headers(None) == {}
    assert written_version_headers("null") == {}  # Suspended: S3 names no version
    assert written_version_headers("v2") == {"x-amz-version-id": "v2"}


def test_copy_source_version_headers() -> None:
    assert copy_source_version_headers(None) == {}
    assert copy_source_version_headers("v1") == {versioning.COPY_SOURCE_VERSION_HEADER: "v1"}


def test_copy_source_carries_any_well_formed_version() -> None:
    assert parse_copy_source("/b/k?versionId=v%2B1").version_id == "v+1"
    assert parse_copy_source("b/k?versionId=null").version_id == "null"
    assert parse_copy_source("b/k%3Fq").version_id is None
    with pytest.raises(S3Error) as empty:
        parse_copy_source("b/k?versionId=")
    assert empty.value.code == "InvalidArgument"
    with pytest.raises(S3Error) as other:
        parse_copy_source("b/k?partNumber=1")
    assert other.value.code == "InvalidArgument"
