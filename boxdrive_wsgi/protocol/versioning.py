"""Bucket versioning on the wire: the VersioningConfiguration document, the version id
a request names (``?versionId=``, ListObjectVersions' markers), and the headers that
tell which version a request read, wrote or deleted. Pure functions over values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import xml
from .documents import VERSIONING_CONFIGURATION
from .errors import S3Error

#: The statuses PutBucketVersioning takes (a bucket never goes back to unversioned).
STATUSES = ("Enabled", "Suspended")
#: MfaDelete values; "Enabled" needs MFA devices, which this server has none of.
MFA_DELETE = ("Enabled", "Disabled")
#: The version id of the null version (written while unversioned or Suspended).
NULL = "null"
VERSION_ID_HEADER = "x-amz-version-id"
DELETE_MARKER_HEADER = "x-amz-delete-marker"
COPY_SOURCE_VERSION_HEADER = "x-amz-copy-source-version-id"
#: The query parameter naming a version (GET, HEAD, DELETE, ?tagging, ?acl, ...).
VERSION_ID_PARAMETER = "versionId"
#: No store makes ids this long (the contract: at most 64): longer is malformed.
MAX_VERSION_ID_LENGTH = 1024
INVALID_VERSION_ID = "Invalid version id specified"


@dataclass(frozen=True)
class VersioningConfiguration:
    """What a PutBucketVersioning asks: the status and, if given, MfaDelete."""

    status: str
    mfa_delete: str | None = None


def parse_versioning_configuration(body: bytes) -> VersioningConfiguration:
    """A PutBucketVersioning body: MalformedXML unless it is a VersioningConfiguration
    document; IllegalVersioningConfigurationException for a missing or unknown Status
    or an unknown MfaDelete; NotImplemented for MfaDelete Enabled (no MFA here)."""
    root = xml.parse(body, VERSIONING_CONFIGURATION)
    if root.tag != VERSIONING_CONFIGURATION.root:
        raise S3Error("MalformedXML")
    status = _text(xml.child_text(root, "Status"))
    mfa = _text(xml.child_text(root, "MfaDelete"))
    if mfa is not None and mfa not in MFA_DELETE:
        raise S3Error(
            "IllegalVersioningConfigurationException",
            "The MfaDelete element must be Enabled or Disabled",
        )
    if status not in STATUSES:
        raise S3Error("IllegalVersioningConfigurationException")
    if mfa == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not implemented")
    return VersioningConfiguration(status, mfa)


def _text(value: str | None) -> str | None:
    return None if value is None else value.strip()


def render_versioning(status: str | None) -> xml.Children:
    """GetBucketVersioning's document: empty for a bucket never versioned."""
    return [] if status is None else [("Status", status)]


def invalid_version_id(value: str, name: str = VERSION_ID_PARAMETER) -> S3Error:
    return S3Error(
        "InvalidArgument",
        INVALID_VERSION_ID,
        extra={"ArgumentName": name, "ArgumentValue": value},
    )


def check_version_id(value: str, name: str = VERSION_ID_PARAMETER) -> str:
    """A version id as a client sent it: S3 answers InvalidArgument for the empty
    string and for what no store could have made (too long, not printable ASCII)."""
    if value == NULL:
        return value
    if not value or len(value) > MAX_VERSION_ID_LENGTH or not _printable(value):
        raise invalid_version_id(value, name)
    return value


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value


def requested_version(query: Mapping[str, str]) -> str | None:
    """The ``?versionId=`` of a request (checked), or None when it names none."""
    value = query.get(VERSION_ID_PARAMETER)
    return None if value is None else check_version_id(value)


def version_headers(version_id: str | None, delete_marker: bool = False) -> dict[str, str]:
    """x-amz-version-id (and x-amz-delete-marker: true) of the version a read or a delete
    concerns; nothing for a bucket never versioned (``version_id`` None)."""
    headers: dict[str, str] = {}
    if version_id is not None:
        headers[VERSION_ID_HEADER] = version_id
    if delete_marker:
        headers[DELETE_MARKER_HEADER] = "true"
    return headers


def written_version_headers(version_id: str | None) -> dict[str, str]:
    """x-amz-version-id of what a PUT, copy or multipart completion wrote: S3 names new
    versions of an Enabled bucket, and says nothing of a null version (unversioned or
    Suspended bucket)."""
    if version_id is None or version_id == NULL:
        return {}
    return {VERSION_ID_HEADER: version_id}


def copy_source_version_headers(version_id: str | None) -> dict[str, str]:
    """x-amz-copy-source-version-id: the source version a copy read (versioned source)."""
    return {} if version_id is None else {COPY_SOURCE_VERSION_HEADER: version_id}
