"""The request documents S3 operations take, with their limits.

One table for every XML body the server parses: its root, which elements each
element may contain (anything else is MalformedXML, found while streaming), and
how large it may be (MaxMessageLengthExceeded beyond that, before it is read).
The limits are what S3's own bounds need, with room for markup and escaping.
"""

from __future__ import annotations

from .xml import Document

KIB = 1024
MIB = 1024 * KIB
#: Configuration documents (tagging, ACL, CORS, versioning, bucket location): S3
#: caps CORS at 64 KB, and the others are far smaller (50 tags, 100 grants).
SMALL_DOCUMENT_BYTES = 64 * KIB
SMALL_DOCUMENT_ELEMENTS = 10_000

#: 10,000 parts, each with a part number, an entity-escaped quoted ETag and a
#: checksum (SHA256, the longest, is 44 characters), is 1.76 MB; 3 MiB leaves room
#: for whitespace. Parsed, such a document takes about 8 MB.
COMPLETE_BODY_BYTES = 3 * MIB
#: Per part: Part, PartNumber, ETag and at most two checksum elements (an upload
#: has one algorithm; S3 clients send one value).
COMPLETE_BODY_ELEMENTS = 1 + 10_000 * 5

#: 1,000 keys of up to 1,024 bytes each, a version id and the conditions
#: (ETag, LastModifiedTime, Size): about 1.3 MB; 2 MiB leaves room for escaping.
DELETE_BODY_BYTES = 2 * MIB
DELETE_BODY_ELEMENTS = 2 + 1000 * 6


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _small(root: str, children: dict[str, frozenset[str]]) -> Document:
    """A configuration document: SMALL_DOCUMENT_BYTES and SMALL_DOCUMENT_ELEMENTS."""
    return Document(root, children, SMALL_DOCUMENT_BYTES, SMALL_DOCUMENT_ELEMENTS)


CHECKSUMS = "ChecksumCRC32 ChecksumCRC32C ChecksumCRC64NVME ChecksumSHA1 ChecksumSHA256"
TAG = {"Tag": _names("Key Value")}

COMPLETE_MULTIPART_UPLOAD = Document(
    root="CompleteMultipartUpload",
    children={
        "CompleteMultipartUpload": _names("Part"),
        "Part": _names(f"PartNumber ETag {CHECKSUMS}"),
    },
    max_bytes=COMPLETE_BODY_BYTES,
    max_elements=COMPLETE_BODY_ELEMENTS,
)
DELETE_OBJECTS = Document(
    root="Delete",
    children={
        "Delete": _names("Quiet Object"),
        "Object": _names("Key VersionId ETag LastModifiedTime Size"),
    },
    max_bytes=DELETE_BODY_BYTES,
    max_elements=DELETE_BODY_ELEMENTS,
)
TAGGING = _small("Tagging", {"Tagging": _names("TagSet"), "TagSet": _names("Tag"), **TAG})
ACCESS_CONTROL_POLICY = _small(
    "AccessControlPolicy",
    {
        "AccessControlPolicy": _names("Owner AccessControlList"),
        "Owner": _names("ID DisplayName"),
        "AccessControlList": _names("Grant"),
        "Grant": _names("Grantee Permission"),
        "Grantee": _names("ID DisplayName URI EmailAddress"),
    },
)
CORS_CONFIGURATION = _small(
    "CORSConfiguration",
    {
        "CORSConfiguration": _names("CORSRule"),
        "CORSRule": _names(
            "ID AllowedHeader AllowedMethod AllowedOrigin ExposeHeader MaxAgeSeconds"
        ),
    },
)
SERVER_SIDE_ENCRYPTION_CONFIGURATION = _small(
    "ServerSideEncryptionConfiguration",
    {
        "ServerSideEncryptionConfiguration": _names("Rule"),
        "Rule": _names("ApplyServerSideEncryptionByDefault BucketKeyEnabled"),
        "ApplyServerSideEncryptionByDefault": _names("SSEAlgorithm KMSMasterKeyID"),
    },
)
VERSIONING_CONFIGURATION = _small(
    "VersioningConfiguration",
    {"VersioningConfiguration": _names("Status MfaDelete")},
)
CREATE_BUCKET_CONFIGURATION = _small(
    "CreateBucketConfiguration",
    {
        "CreateBucketConfiguration": _names("LocationConstraint Location Bucket Tags"),
        "Location": _names("Name Type"),
        "Bucket": _names("DataRedundancy Type"),
        "Tags": _names("Tag"),
        **TAG,
    },
)
OBJECT_LOCK_CONFIGURATION = _small(
    "ObjectLockConfiguration",
    {
        "ObjectLockConfiguration": _names("ObjectLockEnabled Rule"),
        "Rule": _names("DefaultRetention"),
        "DefaultRetention": _names("Mode Days Years"),
    },
)
RETENTION = _small("Retention", {"Retention": _names("Mode RetainUntilDate")})
LEGAL_HOLD = _small("LegalHold", {"LegalHold": _names("Status")})
_LIFECYCLE_FILTER = "Prefix Tag And ObjectSizeGreaterThan ObjectSizeLessThan"
#: S3 allows 1,000 rules; each with its filter (up to 10 tags here), expirations and
#: transitions is at most ~40 elements and ~3 KB with long prefixes.
LIFECYCLE_CONFIGURATION = Document(
    "LifecycleConfiguration",
    {
        "LifecycleConfiguration": _names("Rule"),
        "Rule": _names(
            "ID Prefix Filter Status Expiration Transition NoncurrentVersionExpiration "
            "NoncurrentVersionTransition AbortIncompleteMultipartUpload"
        ),
        "Filter": _names(_LIFECYCLE_FILTER),
        "And": _names(_LIFECYCLE_FILTER),
        **TAG,
        "Expiration": _names("Days Date ExpiredObjectDeleteMarker"),
        "Transition": _names("Days Date StorageClass"),
        "NoncurrentVersionExpiration": _names("NoncurrentDays NewerNoncurrentVersions"),
        "NoncurrentVersionTransition": _names(
            "NoncurrentDays NewerNoncurrentVersions StorageClass"
        ),
        "AbortIncompleteMultipartUpload": _names("DaysAfterInitiation"),
    },
    max_bytes=4 * MIB,
    max_elements=1 + 1000 * 60,
)
#: A bucket policy is JSON, not XML: only the byte limit applies (the policy itself
#: may be 20 KiB, see ``policy.document``; larger is a MalformedPolicy, not unread).
BUCKET_POLICY = _small("Policy", {})
PUBLIC_ACCESS_BLOCK_CONFIGURATION = _small(
    "PublicAccessBlockConfiguration",
    {
        "PublicAccessBlockConfiguration": _names(
            "BlockPublicAcls IgnorePublicAcls BlockPublicPolicy RestrictPublicBuckets"
        )
    },
)
OWNERSHIP_CONTROLS = _small(
    "OwnershipControls",
    {"OwnershipControls": _names("Rule"), "Rule": _names("ObjectOwnership")},
)
BUCKET_LOGGING_STATUS = _small(
    "BucketLoggingStatus",
    {
        "BucketLoggingStatus": _names("LoggingEnabled"),
        "LoggingEnabled": _names("TargetBucket TargetPrefix TargetGrants TargetObjectKeyFormat"),
        "TargetGrants": _names("Grant"),
        "Grant": _names("Grantee Permission"),
        "Grantee": _names("ID DisplayName URI EmailAddress"),
        "TargetObjectKeyFormat": _names("SimplePrefix PartitionedPrefix"),
        "PartitionedPrefix": _names("PartitionDateSource"),
    },
)
