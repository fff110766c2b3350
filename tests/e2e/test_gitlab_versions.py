"""GitLab's branch history as read-only versions, over a real waitress with boto3:
ListObjectVersions lists each key's commits (newest first, deletions as delete markers),
GET/HEAD ?versionId=<commit> read that revision, CopyObject restores one; changing
the history (PutBucketVersioning, DELETE ?versionId=) is 501 NotImplemented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.stores.fake_gitlab import shared_server

from .conftest import make_client, unique_bucket_name
from .servers import RunningServer, running_waitress

SHA = re.compile(r"[0-9a-f]{40}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    fake = shared_server()
    project = fake.fake.new_project("group/e2e-versions")
    env = {
        "BOXDRIVE_STORE": "gitlab",
        "BOXDRIVE_GITLAB_URL": fake.url,
        "BOXDRIVE_GITLAB_TOKEN": fake.fake.token,
        "BOXDRIVE_GITLAB_PROJECT": project.path,
    }
    with running_waitress(tmp_path_factory.mktemp("gitlab-versions"), extra_env=env) as running:
        yield running


def error_of(call: object) -> tuple[str, int]:
    assert callable(call)
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_history_as_versions(server: RunningServer, tmp_path: Path) -> None:
    s3 = make_client(server)
    bucket = unique_bucket_name("glv")
    s3.create_bucket(Bucket=bucket)
    first = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"first draft")
    assert "VersionId" not in first  # buckets stay never versioned
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"second")
    s3.delete_object(Bucket=bucket, Key="doc.txt")
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"third")
    s3.put_object(Bucket=bucket, Key="other", Body=b"o")

    listed = s3.list_object_versions(Bucket=bucket, Prefix="doc")
    versions, markers = listed["Versions"], listed["DeleteMarkers"]
    assert [v["IsLatest"] for v in versions] == [True, False, False]
    assert [v["Size"] for v in versions] == [5, 6, 11]
    assert len(markers) == 1 and not markers[0]["IsLatest"]
    ids = [v["VersionId"] for v in versions]
    assert all(SHA.fullmatch(i) for i in [*ids, markers[0]["VersionId"]])
    latest, second, oldest = ids

    got = s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=oldest)
    assert got["Body"].read() == b"first draft" and got["VersionId"] == oldest
    assert s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=second)["Body"].read() == b"second"
    head = s3.head_object(Bucket=bucket, Key="doc.txt", VersionId=latest)
    assert head["ContentLength"] == 5 and head["VersionId"] == latest
    ranged = s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=oldest, Range="bytes=6-10")
    assert ranged["Body"].read() == b"draft"
    marker = markers[0]["VersionId"]
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=marker)) == (
        "MethodNotAllowed",
        405,
    )
    other = s3.list_object_versions(Bucket=bucket, Prefix="other")["Versions"][0]["VersionId"]
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=other)) == (
        "NoSuchVersion",
        404,
    )
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="doc.txt", VersionId="xyz")) == (
        "InvalidArgument",
        400,
    )

    # restore the first draft by copying that version over the key
    source = {"Bucket": bucket, "Key": "doc.txt", "VersionId": oldest}
    copied = s3.copy_object(Bucket=bucket, Key="doc.txt", CopySource=source)
    assert copied["CopySourceVersionId"] == oldest
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"first draft"

    # paging with the key and version id markers walks the same listing
    full = s3.list_object_versions(Bucket=bucket)
    everything = sorted(
        full["Versions"] + full["DeleteMarkers"],
        key=lambda v: (v["Key"], -v["LastModified"].timestamp()),
    )
    assert len(everything) == 6
    seen: list[str] = []
    markers_query: dict[str, str] = {}
    for _ in range(10):
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=2, **markers_query)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) <= 2
        seen += [v["VersionId"] for v in entries]
        if not page["IsTruncated"]:
            break
        markers_query = {
            "KeyMarker": page["NextKeyMarker"],
            "VersionIdMarker": page["NextVersionIdMarker"],
        }
    assert sorted(seen) == sorted(v["VersionId"] for v in everything)
    assert len(seen) == len(set(seen)) == 6

    # the history is read-only
    assert error_of(
        lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    ) == ("NotImplemented", 501)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    assert error_of(lambda: s3.delete_object(Bucket=bucket, Key="doc.txt", VersionId=second)) == (
        "NotImplemented",
        501,
    )
    assert error_of(
        lambda: s3.put_object_tagging(
            Bucket=bucket, Key="doc.txt", VersionId=second, Tagging={"TagSet": []}
        )
    ) == ("NotImplemented", 501)
    batch = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "doc.txt", "VersionId": second}]}
    )
    assert [e["Code"] for e in batch["Errors"]] == ["NotImplemented"]
    assert s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=second)["Body"].read() == b"second"
    # GetObjectTagging of a version reads that revision's tags
    assert s3.get_object_tagging(Bucket=bucket, Key="doc.txt", VersionId=second)["TagSet"] == []
