"""Bucket versioning end to end, with boto3 over real servers: waitress over the memory
and the filesystem store, and gunicorn (two worker processes sharing one filesystem
store, so consecutive requests land on different processes).

Enable, overwrite, delete (a marker), read old versions, restore one by copy, delete
versions for good, suspend (the null version), list versions page by page, DeleteObjects
with versions, multipart completes and part copies of versions; and what a bucket never
versioned must keep answering (no version headers, ``?versionId=null`` works).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import pytest
import requests
from botocore.exceptions import ClientError

from . import raw
from .conftest import empty_and_delete_bucket, make_client, unique_bucket_name
from .servers import RunningServer, running_shipped, running_waitress

PART = 5 * 1024 * 1024


@pytest.fixture(scope="module", params=["waitress-memory", "waitress", "gunicorn"])
def versioned_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("versioning-data")
    log_dir = tmp_path_factory.mktemp("versioning-log")
    if request.param == "waitress-memory":
        with running_waitress(
            data_dir, extra_env={"BOXDRIVE_STORE": "memory"}, log_dir=log_dir
        ) as server:
            yield server
    else:
        with running_shipped(
            request.param, data_dir, log_dir, extra_env={"BOXDRIVE_STORE": "filesystem"}
        ) as server:
            yield server


@pytest.fixture(scope="module")
def client(versioned_server: RunningServer):
    return make_client(versioned_server)


@pytest.fixture
def vbucket(client) -> Iterator[str]:
    """A bucket with versioning Enabled."""
    name = unique_bucket_name("ver")
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    empty_and_delete_bucket(client, name)


@pytest.fixture
def plain(client) -> Iterator[str]:
    """A bucket never versioned."""
    name = unique_bucket_name("plain")
    client.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(client, name)


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], str(response["Error"]["Code"])


def headers_of(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return dict(exc.value.response["ResponseMetadata"]["HTTPHeaders"])


def body(client, bucket: str, key: str, **kwargs: str) -> bytes:
    return bytes(client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read())


Entry = tuple[str, str, bool, bool]


def versions_of(server: RunningServer, bucket: str, **params: str) -> list[Entry]:
    """(key, version id, is latest, is a marker) of every entry, in the document's order
    (boto3 splits Version and DeleteMarker entries apart), following the pages."""
    entries: list[Entry] = []
    query = dict(params)
    for _ in range(1000):
        response = raw.request(server, "GET", f"/{bucket}", params={"versions": "", **query})
        assert response.status_code == 200, response.text
        root = raw.xml_root(response.content)
        for element in root:
            kind = raw.strip_ns(element.tag)
            if kind in ("Version", "DeleteMarker"):
                entries.append(
                    (
                        unquote(raw.find_text(element, "Key") or "")
                        if params.get("encoding-type") == "url"
                        else raw.find_text(element, "Key") or "",
                        raw.find_text(element, "VersionId") or "",
                        raw.find_text(element, "IsLatest") == "true",
                        kind == "DeleteMarker",
                    )
                )
        if raw.find_text(root, "IsTruncated") != "true":
            return entries
        query["key-marker"] = raw.find_text(root, "NextKeyMarker") or ""
        query["version-id-marker"] = raw.find_text(root, "NextVersionIdMarker") or ""
    raise AssertionError("the listing never ended")


def test_status_round_trip_and_never_back(client, plain: str) -> None:
    got = client.get_bucket_versioning(Bucket=plain)
    assert "Status" not in got and "MFADelete" not in got
    client.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    assert client.get_bucket_versioning(Bucket=plain)["Status"] == "Enabled"
    client.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Suspended"})
    assert client.get_bucket_versioning(Bucket=plain)["Status"] == "Suspended"
    for bad in ("Disabled", "enabled", ""):
        with pytest.raises(ClientError) as refused:
            client.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": bad})
        assert error_of(refused) == (400, "IllegalVersioningConfigurationException")
    assert client.get_bucket_versioning(Bucket=plain)["Status"] == "Suspended"
    with pytest.raises(ClientError) as mfa:
        client.put_bucket_versioning(
            Bucket=plain, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}
        )
    assert error_of(mfa) == (501, "NotImplemented")
    with pytest.raises(ClientError) as missing:
        client.get_bucket_versioning(Bucket=unique_bucket_name())
    assert error_of(missing) == (404, "NoSuchBucket")


def test_overwrite_delete_read_restore(versioned_server: RunningServer, client, plain: str) -> None:
    bucket, key = plain, "doc.txt"
    first = client.put_object(Bucket=bucket, Key=key, Body=b"v0")
    assert "VersionId" not in first  # never versioned: no version ids
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [
        client.put_object(Bucket=bucket, Key=key, Body=b"v%d" % n)["VersionId"] for n in (1, 2, 3)
    ]
    assert len(set(ids)) == 3 and "null" not in ids

    head = client.head_object(Bucket=bucket, Key=key)
    assert head["VersionId"] == ids[2]
    old = client.get_object(Bucket=bucket, Key=key, VersionId=ids[0])
    assert old["Body"].read() == b"v1" and old["VersionId"] == ids[0]
    assert body(client, bucket, key, VersionId="null") == b"v0"  # from before versioning
    assert client.head_object(Bucket=bucket, Key=key, VersionId="null")["VersionId"] == "null"

    deleted = client.delete_object(Bucket=bucket, Key=key)
    marker = deleted["VersionId"]
    assert deleted["DeleteMarker"] is True and marker not in ids
    with pytest.raises(ClientError) as gone:
        client.get_object(Bucket=bucket, Key=key)
    assert error_of(gone) == (404, "NoSuchKey")
    assert headers_of(gone)["x-amz-delete-marker"] == "true"
    assert headers_of(gone)["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as head_gone:
        client.head_object(Bucket=bucket, Key=key)
    assert error_of(head_gone)[0] == 404
    assert headers_of(head_gone)["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as on_marker:
        client.get_object(Bucket=bucket, Key=key, VersionId=marker)
    assert error_of(on_marker) == (405, "MethodNotAllowed")
    assert headers_of(on_marker)["x-amz-delete-marker"] == "true"
    assert headers_of(on_marker)["x-amz-version-id"] == marker
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)

    assert versions_of(versioned_server, bucket) == [
        (key, marker, True, True),
        (key, ids[2], False, False),
        (key, ids[1], False, False),
        (key, ids[0], False, False),
        (key, "null", False, False),
    ]

    # restore v2 by copying it onto its own key: a new latest version
    restored = client.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key, "VersionId": ids[1]}
    )
    assert restored["CopySourceVersionId"] == ids[1]
    new_id = restored["VersionId"]
    assert new_id not in ids and new_id != marker
    assert body(client, bucket, key) == b"v2"
    assert client.head_object(Bucket=bucket, Key=key)["VersionId"] == new_id

    # delete a version for good: it is no more, the others stay
    gone_for_good = client.delete_object(Bucket=bucket, Key=key, VersionId=ids[0])
    assert gone_for_good["VersionId"] == ids[0] and "DeleteMarker" not in gone_for_good
    with pytest.raises(ClientError) as no_version:
        client.get_object(Bucket=bucket, Key=key, VersionId=ids[0])
    assert error_of(no_version) == (404, "NoSuchVersion")
    # again: S3 answers 204 for a version that is not there
    again = client.delete_object(Bucket=bucket, Key=key, VersionId=ids[0])
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204
    # removing the marker by its id
    unmarked = client.delete_object(Bucket=bucket, Key=key, VersionId=marker)
    assert unmarked["DeleteMarker"] is True and unmarked["VersionId"] == marker
    assert [v[1] for v in versions_of(versioned_server, bucket)] == [new_id, ids[2], ids[1], "null"]


def test_malformed_and_unknown_version_ids(client, vbucket: str) -> None:
    client.put_object(Bucket=vbucket, Key="k", Body=b"1")
    for bad in ("has space", "x" * 2000):
        with pytest.raises(ClientError) as malformed:
            client.get_object(Bucket=vbucket, Key="k", VersionId=bad)
        assert error_of(malformed) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as copy_bad:
        client.copy_object(
            Bucket=vbucket, Key="c", CopySource={"Bucket": vbucket, "Key": "k", "VersionId": "a b"}
        )
    assert error_of(copy_bad) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as unknown:
        client.head_object(Bucket=vbucket, Key="k", VersionId="0" * 32)
    assert error_of(unknown)[0] in (400, 404)  # malformed for the store, or no such version


def test_suspended_writes_replace_the_null_version(
    versioned_server: RunningServer, client, vbucket: str
) -> None:
    bucket, key = vbucket, "s"
    kept = client.put_object(Bucket=bucket, Key=key, Body=b"kept")["VersionId"]
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    put = client.put_object(Bucket=bucket, Key=key, Body=b"null 1")
    assert "VersionId" not in put  # S3 names no version for a Suspended write
    client.put_object(Bucket=bucket, Key=key, Body=b"null 2")
    assert versions_of(versioned_server, bucket) == [
        (key, "null", True, False),
        (key, kept, False, False),
    ]
    assert client.get_object(Bucket=bucket, Key=key)["VersionId"] == "null"
    assert body(client, bucket, key) == b"null 2"
    deleted = client.delete_object(Bucket=bucket, Key=key)
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    assert versions_of(versioned_server, bucket) == [
        (key, "null", True, True),
        (key, kept, False, False),
    ]
    assert body(client, bucket, key, VersionId=kept) == b"kept"
    client.delete_object(Bucket=bucket, Key=key, VersionId="null")
    assert body(client, bucket, key) == b"kept"


def test_list_versions_paging_prefix_delimiter(
    versioned_server: RunningServer, client, vbucket: str
) -> None:
    bucket = vbucket
    made: dict[str, list[str]] = {}
    for key in ("a", "dir/b", "dir/c", "é z"):
        made[key] = [
            client.put_object(Bucket=bucket, Key=key, Body=key.encode() * n)["VersionId"]
            for n in (1, 2, 3)
        ]
    marker = client.delete_object(Bucket=bucket, Key="dir/b")["VersionId"]
    everything = versions_of(versioned_server, bucket)
    assert len(everything) == 13
    assert [e[0] for e in everything] == ["a"] * 3 + ["dir/b"] * 4 + ["dir/c"] * 3 + ["é z"] * 3
    assert everything[3] == ("dir/b", marker, True, True)
    assert everything[0] == ("a", made["a"][2], True, False)
    assert [e[1] for e in everything[:3]] == made["a"][::-1]

    # by hand, two entries a page: every entry once, in order, markers carried over
    seen: list[tuple[str, str]] = []
    key_marker, version_marker = "", ""
    for _ in range(20):
        page = client.list_object_versions(
            Bucket=bucket, MaxKeys=2, KeyMarker=key_marker, VersionIdMarker=version_marker
        )
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) <= 2
        seen += [(e["Key"], e["VersionId"]) for e in entries]
        if not page["IsTruncated"]:
            break
        key_marker, version_marker = page["NextKeyMarker"], page["NextVersionIdMarker"]
    assert sorted(seen) == sorted((e[0], e[1]) for e in everything)
    assert len(seen) == len(everything)

    # a key-marker alone starts after every version of that key
    after_a = client.list_object_versions(Bucket=bucket, KeyMarker="a")
    keys = {v["Key"] for v in after_a.get("Versions", []) + after_a.get("DeleteMarkers", [])}
    assert "a" not in keys and "dir/b" in keys

    grouped = client.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["dir/"]
    assert {v["Key"] for v in grouped["Versions"]} == {"a", "é z"}
    inside = versions_of(versioned_server, bucket, prefix="dir/")
    assert {e[0] for e in inside} == {"dir/b", "dir/c"} and len(inside) == 7

    encoded = client.list_object_versions(Bucket=bucket, Prefix="é", EncodingType="url")
    assert encoded["EncodingType"] == "url"
    # asked for by the caller, boto3 leaves the keys encoded
    assert {v["Key"] for v in encoded["Versions"]} == {"%C3%A9%20z"}

    with pytest.raises(ClientError) as lone:
        client.list_object_versions(Bucket=bucket, VersionIdMarker=made["a"][0])
    assert error_of(lone) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as bad_marker:
        client.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="no such id!")
    assert error_of(bad_marker) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as negative:
        client.list_object_versions(Bucket=bucket, MaxKeys=-1)
    assert error_of(negative) == (400, "InvalidArgument")


def test_delete_objects_with_versions(
    versioned_server: RunningServer, client, vbucket: str
) -> None:
    bucket = vbucket
    one = client.put_object(Bucket=bucket, Key="one", Body=b"1")["VersionId"]
    two = client.put_object(Bucket=bucket, Key="one", Body=b"2")["VersionId"]
    made = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "other"}]})
    created = made["Deleted"][0]
    assert created["Key"] == "other" and created["DeleteMarker"] is True
    other_marker = created["DeleteMarkerVersionId"]
    assert "VersionId" not in created

    result = client.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "one", "VersionId": one},
                {"Key": "other", "VersionId": other_marker},
                {"Key": "one", "VersionId": "not a version"},
            ]
        },
    )
    deleted = {(d["Key"], d["VersionId"]): d for d in result["Deleted"]}
    assert "DeleteMarker" not in deleted[("one", one)]
    removed_marker = deleted[("other", other_marker)]
    assert removed_marker["DeleteMarker"] is True
    assert removed_marker["DeleteMarkerVersionId"] == other_marker
    assert [(e["Key"], e["VersionId"]) for e in result["Errors"]] == [("one", "not a version")]
    assert versions_of(versioned_server, bucket) == [("one", two, True, False)]


def test_multipart_complete_and_part_copy_of_a_version(client, vbucket: str) -> None:
    bucket = vbucket
    old = client.put_object(Bucket=bucket, Key="src", Body=b"a" * PART)["VersionId"]
    client.put_object(Bucket=bucket, Key="src", Body=b"b" * PART)
    upload = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    copied = client.upload_part_copy(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src", "VersionId": old},
    )
    assert copied["CopySourceVersionId"] == old
    part2 = client.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"z")
    done = client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": part2["ETag"]},
            ]
        },
    )
    version = done["VersionId"]
    assert version and version != "null"
    got = client.get_object(Bucket=bucket, Key="mp", VersionId=version)
    assert got["Body"].read() == b"a" * PART + b"z"


def test_tagging_and_acl_of_one_version(client, vbucket: str) -> None:
    bucket = vbucket
    old = client.put_object(Bucket=bucket, Key="t", Body=b"1", Tagging="gen=1")["VersionId"]
    new = client.put_object(Bucket=bucket, Key="t", Body=b"2", Tagging="gen=2")["VersionId"]
    tags = client.get_object_tagging(Bucket=bucket, Key="t", VersionId=old)
    assert tags["TagSet"] == [{"Key": "gen", "Value": "1"}] and tags["VersionId"] == old
    put = client.put_object_tagging(
        Bucket=bucket, Key="t", VersionId=old, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]}
    )
    assert put["VersionId"] == old
    assert client.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [
        {"Key": "gen", "Value": "2"}
    ]
    assert client.get_object_tagging(Bucket=bucket, Key="t", VersionId=old)["TagSet"] == [
        {"Key": "x", "Value": "y"}
    ]
    client.put_object_acl(Bucket=bucket, Key="t", VersionId=old, ACL="public-read")
    old_grants = client.get_object_acl(Bucket=bucket, Key="t", VersionId=old)["Grants"]
    new_grants = client.get_object_acl(Bucket=bucket, Key="t", VersionId=new)["Grants"]
    assert len(old_grants) == 2 and len(new_grants) == 1
    attributes = client.get_object_attributes(
        Bucket=bucket, Key="t", VersionId=old, ObjectAttributes=["ObjectSize"]
    )
    assert attributes["VersionId"] == old and attributes["ObjectSize"] == 1


def test_never_versioned_bucket_says_nothing_of_versions(
    versioned_server: RunningServer, client, plain: str
) -> None:
    bucket = plain
    put = client.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert "VersionId" not in put
    assert "VersionId" not in client.head_object(Bucket=bucket, Key="k")
    assert "VersionId" not in client.get_object(Bucket=bucket, Key="k")
    copied = client.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"})
    assert "VersionId" not in copied and "CopySourceVersionId" not in copied
    # ?versionId=null is the object itself (clients that saw "null" elsewhere send it)
    assert body(client, bucket, "k", VersionId="null") == b"1"
    assert client.get_object_tagging(Bucket=bucket, Key="k", VersionId="null")["TagSet"] == []
    with pytest.raises(ClientError) as malformed:
        client.get_object(Bucket=bucket, Key="k", VersionId="")
    assert error_of(malformed)[0] == 400
    listed = versions_of(versioned_server, bucket)
    assert listed == [("c", "null", True, False), ("k", "null", True, False)]
    deleted = client.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert "DeleteMarker" not in deleted
    plain_delete = client.delete_object(Bucket=bucket, Key="c")
    assert "VersionId" not in plain_delete and "DeleteMarker" not in plain_delete
    assert versions_of(versioned_server, bucket) == []


def test_bucket_with_versions_is_not_empty(client) -> None:
    name = unique_bucket_name("ver")
    client.create_bucket(Bucket=name)
    try:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        client.put_object(Bucket=name, Key="k", Body=b"1")
        client.delete_object(Bucket=name, Key="k")
        with pytest.raises(ClientError) as not_empty:
            client.delete_bucket(Bucket=name)
        assert error_of(not_empty) == (409, "BucketNotEmpty")
    finally:
        empty_and_delete_bucket(client, name)
    with pytest.raises(ClientError):
        client.head_bucket(Bucket=name)


def test_browser_post_makes_a_version(client, vbucket: str) -> None:
    post = client.generate_presigned_post(Bucket=vbucket, Key="form.bin", ExpiresIn=300)
    files = {"file": ("form.bin", b"posted", "application/octet-stream")}
    answer = requests.post(post["url"], data=post["fields"], files=files, timeout=30)
    assert answer.status_code == 204, answer.text
    version = answer.headers["x-amz-version-id"]
    assert client.head_object(Bucket=vbucket, Key="form.bin")["VersionId"] == version
