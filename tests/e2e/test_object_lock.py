"""Object lock over a real server with boto3: a lock bucket, default retention, locked
versions that cannot be deleted, governance bypass (by the owner, not by another user),
compliance that nobody shortens, legal hold, DeleteObjects, headers on PUT/copy/multipart."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from .conftest import make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

FAR = datetime(2099, 1, 1, tzinfo=UTC)
STORES = ("filesystem", "memory")


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], str(response["Error"]["Code"])


@pytest.fixture(scope="module", params=STORES)
def lock_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("lock")
    users = root / "users.json"
    users.write_text(
        json.dumps(
            [
                {"name": "owner", "access_key": "AKOWNER000000000001", "secret_key": "s" * 40},
                {"name": "other", "access_key": "AKOTHER000000000002", "secret_key": "t" * 40},
            ]
        )
    )
    env = {"BOXDRIVE_STORE": request.param, "BOXDRIVE_USERS_FILE": str(users)}
    with running_waitress(root / "data", extra_env=env, log_dir=root) as server:
        server.access_key, server.secret_key = "AKOWNER000000000001", "s" * 40
        yield server


@pytest.fixture(scope="module")
def s3(lock_server: RunningServer):
    return make_client(lock_server)


@pytest.fixture(scope="module")
def other(lock_server: RunningServer):
    return make_client(replace(lock_server, access_key="AKOTHER000000000002", secret_key="t" * 40))


@pytest.fixture
def bucket(s3) -> Iterator[str]:
    name = unique_bucket_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    versions = s3.list_object_versions(Bucket=name)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        with contextlib.suppress(ClientError):  # COMPLIANCE stays (memory: gone with the server)
            s3.put_object_legal_hold(
                Bucket=name,
                Key=entry["Key"],
                VersionId=entry["VersionId"],
                LegalHold={"Status": "OFF"},
            )
        with contextlib.suppress(ClientError):
            s3.delete_object(
                Bucket=name,
                Key=entry["Key"],
                VersionId=entry["VersionId"],
                BypassGovernanceRetention=True,
            )


def test_lock_bucket_is_versioned_and_stays_so(s3, bucket: str) -> None:
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert code(refused) == (409, "InvalidBucketState")


def test_configuration_needs_versioning_and_validates(s3) -> None:
    name = unique_bucket_name("lock")
    s3.create_bucket(Bucket=name)
    rule = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    try:
        with pytest.raises(ClientError) as absent:
            s3.get_object_lock_configuration(Bucket=name)
        assert code(absent) == (404, "ObjectLockConfigurationNotFoundError")
        with pytest.raises(ClientError) as unversioned:
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=rule)
        assert code(unversioned) == (409, "InvalidBucketState")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=rule)
        got = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        assert got == rule
        bad = {
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}},
        }
        with pytest.raises(ClientError) as invalid:
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=bad)
        assert code(invalid) == (400, "InvalidRetentionPeriod")
    finally:
        s3.delete_bucket(Bucket=name)


def test_retained_version_cannot_be_deleted_without_bypass(s3, other, bucket: str) -> None:
    put = s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"data",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=FAR,
    )
    version = put["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] == FAR
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
    assert code(refused) == (403, "AccessDenied")
    # a plain delete only adds a marker: allowed, the version stays
    assert s3.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read() == b"data"
    # another user the bucket ACL lets delete may not bypass (the bucket owner's right)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert other.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    with pytest.raises(ClientError) as stranger:
        other.delete_object(
            Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True
        )
    assert code(stranger) == (403, "AccessDenied")
    assert s3.head_object(Bucket=bucket, Key="k", VersionId=version)["ContentLength"] == 4
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket=bucket, Key="k", VersionId=version)
    assert code(gone)[0] == 404


def test_retention_changes(s3, bucket: str) -> None:
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    with pytest.raises(ClientError) as none_yet:
        s3.get_object_retention(Bucket=bucket, Key="k")
    assert code(none_yet) == (404, "NoSuchObjectLockConfiguration")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    s3.put_object_retention(
        Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon}
    )
    got = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=version)["Retention"]
    assert got == {"Mode": "GOVERNANCE", "RetainUntilDate": soon}
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": soon - timedelta(days=1)}
    with pytest.raises(ClientError) as refused:
        s3.put_object_retention(Bucket=bucket, Key="k", Retention=shorter)
    assert code(refused) == (403, "AccessDenied")
    s3.put_object_retention(
        Bucket=bucket, Key="k", Retention=shorter, BypassGovernanceRetention=True
    )
    compliance = {"Mode": "COMPLIANCE", "RetainUntilDate": soon}
    s3.put_object_retention(
        Bucket=bucket, Key="k", Retention=compliance, BypassGovernanceRetention=True
    )
    for relaxed in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": soon - timedelta(hours=1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": FAR},
    ):
        with pytest.raises(ClientError) as never:
            s3.put_object_retention(
                Bucket=bucket, Key="k", Retention=relaxed, BypassGovernanceRetention=True
            )
        assert code(never) == (403, "AccessDenied")
    with pytest.raises(ClientError) as compliant:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert code(compliant) == (403, "AccessDenied")


def test_legal_hold(s3, bucket: str) -> None:
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k")["LegalHold"] == {"Status": "ON"}
    with pytest.raises(ClientError) as held:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert code(held) == (403, "AccessDenied")
    s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="k")["LegalHold"] == {"Status": "OFF"}
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version)


def test_default_retention_and_delete_objects(s3, bucket: str) -> None:
    rule = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=rule)
    locked = s3.put_object(Bucket=bucket, Key="a", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="a")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(hours=23)
    s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )
    free = s3.put_object(Bucket=bucket, Key="b", Body=b"x")["VersionId"]
    objects = [{"Key": "a", "VersionId": locked}, {"Key": "b", "VersionId": free}]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in answer["Errors"]] == [
        ("a", locked, "AccessDenied")
    ]
    assert [(d["Key"], d["VersionId"]) for d in answer["Deleted"]] == [("b", free)]
    bypassed = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": objects[:1]}, BypassGovernanceRetention=True
    )
    assert not bypassed.get("Errors") and [d["Key"] for d in bypassed["Deleted"]] == ["a"]


def test_lock_headers_on_copy_and_multipart(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    s3.copy_object(
        Bucket=bucket,
        Key="copy",
        CopySource={"Bucket": bucket, "Key": "src"},
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=FAR,
    )
    assert s3.head_object(Bucket=bucket, Key="copy")["ObjectLockMode"] == "GOVERNANCE"
    assert "ObjectLockMode" not in s3.head_object(Bucket=bucket, Key="src")
    upload = s3.create_multipart_upload(
        Bucket=bucket,
        Key="mp",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(seconds=5),
    )["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )
    with pytest.raises(ClientError) as refused:
        s3.delete_object(
            Bucket=bucket, Key="mp", VersionId=done["VersionId"], BypassGovernanceRetention=True
        )
    assert code(refused) == (403, "AccessDenied")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ObjectLockMode": "GOVERNANCE"}, (400, "InvalidArgument")),
        (
            {
                "ObjectLockMode": "GOVERNANCE",
                "ObjectLockRetainUntilDate": datetime(2020, 1, 1, tzinfo=UTC),
            },
            (400, "InvalidArgument"),
        ),
        ({"ObjectLockLegalHoldStatus": "MAYBE"}, (400, "InvalidArgument")),
    ],
)
def test_invalid_lock_headers(
    s3, bucket: str, headers: dict[str, object], expected: tuple[int, str]
) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", **headers)
    assert code(refused) == expected
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_put_with_retention_needs_a_digest(lock_server: RunningServer, bucket: str) -> None:
    """Content-MD5 or a checksum, as S3 requires for a PUT with a retention period."""
    bare = make_client(lock_server, request_checksum_calculation="when_required")
    with pytest.raises(ClientError) as refused:
        bare.put_object(
            Bucket=bucket,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=FAR,
        )
    assert code(refused) == (400, "InvalidRequest")
    bare.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"x",
        ChecksumAlgorithm="CRC32",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=FAR,
    )
