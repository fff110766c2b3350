"""BucketLoggingStatus: a bucket's server access logging configuration. Pure.

The document PutBucketLogging takes and GetBucketLogging returns::

    <BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <LoggingEnabled>
        <TargetBucket>logs</TargetBucket>
        <TargetPrefix>photos/</TargetPrefix>
        <TargetGrants><Grant><Grantee xsi:type="CanonicalUser"><ID>..</ID></Grantee>
                             <Permission>READ</Permission></Grant></TargetGrants>
        <TargetObjectKeyFormat><PartitionedPrefix>
          <PartitionDateSource>EventTime</PartitionDateSource>
        </PartitionedPrefix></TargetObjectKeyFormat>
      </LoggingEnabled>
    </BucketLoggingStatus>

An empty ``<BucketLoggingStatus/>`` turns logging off. Stored as JSON in the bucket
configuration slot ``logging`` (``LoggingConfig.to_json``), with the time it last
changed (GetBucketLogging's Last-Modified; putting the same configuration keeps it).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import xml
from .acl import FULL_CONTROL, READ, WRITE, Directory, Grant, grant_element, xml_grant
from .documents import BUCKET_LOGGING_STATUS
from .errors import S3Error

SLOT = "logging"
SIMPLE = "SimplePrefix"
PARTITIONED = "PartitionedPrefix"
DATE_SOURCES = frozenset({"EventTime", "DeliveryTime"})
#: What a target grant may give on the delivered log objects (S3's list).
TARGET_PERMISSIONS = frozenset({FULL_CONTROL, READ, WRITE})
#: S3 limits a prefix like a key (1024 bytes); the timestamp and unique part follow it.
MAX_PREFIX_BYTES = 512


@dataclass(frozen=True)
class LoggingConfig:
    target_bucket: str
    target_prefix: str = ""
    #: SIMPLE or PARTITIONED
    key_format: str = SIMPLE
    #: for PARTITIONED: which time names the day partition (EventTime, DeliveryTime)
    date_source: str = "EventTime"
    grants: tuple[Grant, ...] = ()
    #: epoch seconds of the last change (set when stored)
    modified: float = 0.0

    def same_as(self, other: LoggingConfig | None) -> bool:
        return other is not None and replace(other, modified=self.modified) == self

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "bucket": self.target_bucket,
                "prefix": self.target_prefix,
                "format": self.key_format,
                "date_source": self.date_source,
                "grants": [[g.grantee_type, g.grantee, g.permission] for g in self.grants],
                "modified": self.modified,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, stored: bytes | None) -> LoggingConfig | None:
        """The stored configuration; None when absent or unreadable (logs nothing)."""
        if not stored:
            return None
        try:
            data = json.loads(stored)
            return cls(
                target_bucket=str(data["bucket"]),
                target_prefix=str(data.get("prefix", "")),
                key_format=PARTITIONED if data.get("format") == PARTITIONED else SIMPLE,
                date_source=str(data.get("date_source", "EventTime")),
                grants=tuple(Grant(str(t), str(g), str(p)) for t, g, p in data.get("grants", [])),
                modified=float(data.get("modified", 0.0)),
            )
        except (ValueError, KeyError, TypeError):
            return None


def parse_logging_status(body: bytes, directory: Directory) -> LoggingConfig | None:
    """The configuration a PutBucketLogging body asks for; None: logging off.
    MalformedXML for anything S3 would not take."""
    root = xml.parse(body, BUCKET_LOGGING_STATUS)
    enabled = root.find("LoggingEnabled")
    if enabled is None:
        return None
    bucket = (xml.child_text(enabled, "TargetBucket") or "").strip()
    prefix = xml.child_text(enabled, "TargetPrefix")
    if not bucket or prefix is None:
        raise S3Error("MalformedXML", "LoggingEnabled needs TargetBucket and TargetPrefix")
    if len(prefix.encode()) > MAX_PREFIX_BYTES:
        raise S3Error("InvalidArgument", f"TargetPrefix is longer than {MAX_PREFIX_BYTES} bytes")
    key_format, date_source = SIMPLE, "EventTime"
    form = enabled.find("TargetObjectKeyFormat")
    if form is not None:
        kinds = list(form)
        if len(kinds) != 1:
            raise S3Error("MalformedXML", "TargetObjectKeyFormat takes one of its forms")
        key_format = kinds[0].tag
        if key_format == PARTITIONED:
            date_source = (xml.child_text(kinds[0], "PartitionDateSource") or "EventTime").strip()
            if date_source not in DATE_SOURCES:
                raise S3Error("MalformedXML", f"Invalid PartitionDateSource {date_source!r}")
    return LoggingConfig(bucket, prefix, key_format, date_source, _grants(enabled, directory))


def _grants(enabled: ET.Element, directory: Directory) -> tuple[Grant, ...]:
    container = enabled.find("TargetGrants")
    if container is None:
        return ()
    grants: list[Grant] = []
    for element in container:
        permission = (xml.child_text(element, "Permission") or "").strip()
        grantee = element.find("Grantee")
        if permission not in TARGET_PERMISSIONS or grantee is None:
            raise S3Error("MalformedXML", "Invalid TargetGrants")
        try:
            grants.append(xml_grant(grantee, permission, directory))
        except S3Error:
            raise S3Error("MalformedXML", "Invalid TargetGrants grantee") from None
    return tuple(grants)


def render_logging_status(
    config: LoggingConfig | None, display_name: Callable[[str], str]
) -> bytes:
    root = ET.Element("BucketLoggingStatus", {"xmlns": xml.NAMESPACE})
    if config is not None:
        enabled = ET.SubElement(root, "LoggingEnabled")
        ET.SubElement(enabled, "TargetBucket").text = config.target_bucket
        ET.SubElement(enabled, "TargetPrefix").text = config.target_prefix
        if config.grants:
            grants = ET.SubElement(enabled, "TargetGrants")
            for grant in config.grants:
                grant_element(grants, grant, display_name)
        form = ET.SubElement(ET.SubElement(enabled, "TargetObjectKeyFormat"), config.key_format)
        if config.key_format == PARTITIONED:
            ET.SubElement(form, "PartitionDateSource").text = config.date_source
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))
