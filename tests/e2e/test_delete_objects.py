"""DeleteObjects (batch, Quiet, per-key errors, malformed XML) and ListObjectVersions on a
bucket without versioning (current objects as `null` versions)."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

from . import raw


def put_keys(s3, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def remaining(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_delete_objects_batch(s3, bucket):
    put_keys(s3, bucket, ["a", "b", "c/d", "ünï code", "keep"])
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": k} for k in ["a", "b", "c/d", "ünï code", "never-existed"]]},
    )
    deleted = sorted(d["Key"] for d in resp["Deleted"])
    # S3 reports a key that did not exist as deleted, too.
    assert deleted == sorted(["a", "b", "c/d", "ünï code", "never-existed"])
    assert resp.get("Errors", []) == []
    assert remaining(s3, bucket) == ["keep"]


def test_delete_objects_quiet(s3, bucket):
    put_keys(s3, bucket, ["q1", "q2"])
    resp = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "q1"}, {"Key": "q2"}], "Quiet": True}
    )
    assert resp.get("Deleted", []) == []
    assert resp.get("Errors", []) == []
    assert remaining(s3, bucket) == []


def test_delete_objects_null_version(s3, bucket):
    put_keys(s3, bucket, ["v"])
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v", "VersionId": "null"}]})
    assert [d["Key"] for d in resp["Deleted"]] == ["v"]
    assert resp["Deleted"][0].get("VersionId") == "null"
    assert remaining(s3, bucket) == []


@pytest.mark.parametrize("quiet", [False, True])
def test_delete_objects_per_key_error(s3, bucket, quiet):
    put_keys(s3, bucket, ["good", "bad"])
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [{"Key": "good"}, {"Key": "bad", "VersionId": "not-a-real-version-id"}],
            "Quiet": quiet,
        },
    )
    errors = resp.get("Errors", [])
    assert [e["Key"] for e in errors] == ["bad"]
    assert errors[0]["Code"] in ("NoSuchVersion", "InvalidArgument")
    assert errors[0].get("Message")
    if not quiet:
        assert [d["Key"] for d in resp["Deleted"]] == ["good"]
    assert remaining(s3, bucket) == ["bad"]


def test_delete_objects_missing_bucket(s3):
    with pytest.raises(ClientError) as info:
        s3.delete_objects(Bucket="e2e-no-such-bucket-del", Delete={"Objects": [{"Key": "k"}]})
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"


def delete_request(server, bucket: str, body: bytes):
    headers = {"Content-MD5": raw.content_md5(body), "Content-Type": "application/xml"}
    return raw.request(
        server, "POST", f"/{bucket}", params={"delete": ""}, headers=headers, body=body
    )


@pytest.mark.parametrize(
    "body",
    [
        b"this is not xml",
        b"<Delete><Object><Key>a</Key></Object>",  # not closed
        b"<Delete></Delete>",  # no objects
        b"<NotDelete><Object><Key>a</Key></Object></NotDelete>",
        b"<Delete><Object></Object></Delete>",  # object without a key
        b"",
    ],
)
def test_malformed_delete_xml(server, s3, bucket, body):
    put_keys(s3, bucket, ["a"])
    resp = delete_request(server, bucket, body)
    assert resp.status_code == 400, resp.text
    assert raw.error_fields(resp)["Code"] in ("MalformedXML", "MissingRequestBodyError")
    if body:
        assert raw.error_fields(resp)["Code"] == "MalformedXML"
    assert remaining(s3, bucket) == ["a"]


def test_delete_xml_entities_rejected(server, s3, bucket):
    put_keys(s3, bucket, ["a"])
    body = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "a">]>'
        b"<Delete><Object><Key>&x;</Key></Object></Delete>"
    )
    resp = delete_request(server, bucket, body)
    assert resp.status_code == 400, resp.text
    assert remaining(s3, bucket) == ["a"]


def test_delete_more_than_1000_keys_is_malformed(server, bucket):
    objects = "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001))
    body = f"<Delete>{objects}</Delete>".encode()
    resp = delete_request(server, bucket, body)
    assert resp.status_code == 400, resp.text
    assert raw.error_fields(resp)["Code"] == "MalformedXML"


def test_delete_with_namespace_and_raw_response(server, s3, bucket):
    put_keys(s3, bucket, ["x&y", "z"])
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>x&amp;y</Key></Object><Object><Key>z</Key></Object>"
        b"</Delete>"
    )
    resp = delete_request(server, bucket, body)
    assert resp.status_code == 200, resp.text
    root = raw.xml_root(resp.content)
    assert raw.strip_ns(root.tag) == "DeleteResult"
    assert sorted(raw.find_all_text(root, ["Deleted", "Key"])) == ["x&y", "z"]
    assert remaining(s3, bucket) == []


# ---- ListObjectVersions without versioning --------------------------------------------------


def test_list_object_versions_unversioned(s3, bucket):
    put_keys(s3, bucket, ["a", "b/c", "b/d", "e"])
    resp = s3.list_object_versions(Bucket=bucket)
    versions = resp["Versions"]
    assert [v["Key"] for v in versions] == ["a", "b/c", "b/d", "e"]
    for v in versions:
        assert v["VersionId"] == "null"
        assert v["IsLatest"] is True
        assert v["ETag"] == f'"{hashlib.md5(v["Key"].encode()).hexdigest()}"'
        assert v["Size"] == len(v["Key"])
    assert resp.get("DeleteMarkers", []) == []
    assert resp["IsTruncated"] is False


def test_list_object_versions_prefix_delimiter(s3, bucket):
    put_keys(s3, bucket, ["a", "b/c", "b/d", "e"])
    resp = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in resp["Versions"]] == ["a", "e"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["b/"]
    resp = s3.list_object_versions(Bucket=bucket, Prefix="b/")
    assert [v["Key"] for v in resp["Versions"]] == ["b/c", "b/d"]


def test_list_object_versions_max_keys(s3, bucket):
    put_keys(s3, bucket, ["k1", "k2", "k3"])
    first = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert [v["Key"] for v in first["Versions"]] == ["k1", "k2"]
    assert first["IsTruncated"] is True
    assert first["NextKeyMarker"] == "k2"
    second = s3.list_object_versions(
        Bucket=bucket,
        KeyMarker=first["NextKeyMarker"],
        VersionIdMarker=first.get("NextVersionIdMarker", "null"),
    )
    assert [v["Key"] for v in second["Versions"]] == ["k3"]
    assert second["IsTruncated"] is False


def test_list_object_versions_empty_and_missing(s3, bucket):
    resp = s3.list_object_versions(Bucket=bucket)
    assert resp.get("Versions", []) == []
    with pytest.raises(ClientError) as info:
        s3.list_object_versions(Bucket="e2e-no-such-bucket-versions")
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"
