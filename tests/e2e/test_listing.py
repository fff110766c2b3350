"""ListObjects v1 and v2 on small buckets: prefix, delimiter, marker, continuation-token,
start-after, max-keys, encoding-type=url, KeyCount, NextMarker, malformed parameters."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import ClientError

from . import raw

KEYS = [
    "a",
    "a/b",
    "a/c/d",
    "a/c/e",
    "b/x",
    "b/y/z",
    "c",
    "d e/f",
    "plus+key",
    "per%cent",
    "ünï/cødé",
    "zz",
]


@pytest.fixture
def filled(s3, bucket: str) -> str:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), KEYS))
    return bucket


def keys_of(resp) -> list[str]:
    return [o["Key"] for o in resp.get("Contents", [])]


def prefixes_of(resp) -> list[str]:
    return [p["Prefix"] for p in resp.get("CommonPrefixes", [])]


def test_v1_lists_all_in_utf8_order(s3, filled):
    resp = s3.list_objects(Bucket=filled)
    assert keys_of(resp) == sorted(KEYS)
    assert resp["IsTruncated"] is False
    first = resp["Contents"][0]
    assert first["Key"] == "a"
    assert first["Size"] == 1
    assert first["ETag"] == f'"{hashlib.md5(b"a").hexdigest()}"'
    assert first["StorageClass"] == "STANDARD"


def test_v2_lists_all_with_key_count(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled)
    assert keys_of(resp) == sorted(KEYS)
    assert resp["KeyCount"] == len(KEYS)
    assert resp["IsTruncated"] is False
    assert resp["MaxKeys"] == 1000
    assert "NextContinuationToken" not in resp
    assert "Owner" not in resp["Contents"][0]  # only with fetch-owner=true


def test_v2_fetch_owner(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, FetchOwner=True, MaxKeys=1)
    assert resp["Contents"][0]["Owner"]["ID"]


@pytest.mark.parametrize("version", [1, 2])
def test_prefix(s3, filled, version):
    lister = s3.list_objects if version == 1 else s3.list_objects_v2
    resp = lister(Bucket=filled, Prefix="a/")
    assert keys_of(resp) == ["a/b", "a/c/d", "a/c/e"]
    assert resp["Prefix"] == "a/"
    assert keys_of(lister(Bucket=filled, Prefix="nothing-here")) == []


@pytest.mark.parametrize("version", [1, 2])
def test_delimiter(s3, filled, version):
    lister = s3.list_objects if version == 1 else s3.list_objects_v2
    resp = lister(Bucket=filled, Delimiter="/")
    assert keys_of(resp) == ["a", "c", "per%cent", "plus+key", "zz"]
    assert prefixes_of(resp) == ["a/", "b/", "d e/", "ünï/"]
    assert resp["Delimiter"] == "/"
    if version == 2:
        assert resp["KeyCount"] == 9


@pytest.mark.parametrize("version", [1, 2])
def test_prefix_and_delimiter(s3, filled, version):
    lister = s3.list_objects if version == 1 else s3.list_objects_v2
    resp = lister(Bucket=filled, Prefix="a/", Delimiter="/")
    assert keys_of(resp) == ["a/b"]
    assert prefixes_of(resp) == ["a/c/"]


def test_non_slash_delimiter(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, Delimiter="e")
    # every key containing "e" rolls up at its first "e"
    assert prefixes_of(resp) == ["a/c/e", "d e", "pe", "plus+ke"]
    assert keys_of(resp) == ["a", "a/b", "a/c/d", "b/x", "b/y/z", "c", "zz", "ünï/cødé"]


def test_v1_marker(s3, filled):
    resp = s3.list_objects(Bucket=filled, Marker="c")
    assert keys_of(resp) == [k for k in sorted(KEYS) if k > "c"]
    assert resp["Marker"] == "c"


def test_v1_max_keys_and_next_marker_with_delimiter(s3, filled):
    resp = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=3)
    assert resp["IsTruncated"] is True
    assert resp["MaxKeys"] == 3
    assert keys_of(resp) == ["a"]
    assert prefixes_of(resp) == ["a/", "b/"]
    assert resp["NextMarker"] == "b/"
    rest = s3.list_objects(Bucket=filled, Delimiter="/", Marker=resp["NextMarker"])
    assert keys_of(rest) == ["c", "per%cent", "plus+key", "zz"]
    assert prefixes_of(rest) == ["d e/", "ünï/"]
    assert rest["IsTruncated"] is False


def test_v1_truncated_without_delimiter(s3, filled):
    resp = s3.list_objects(Bucket=filled, MaxKeys=4)
    assert keys_of(resp) == sorted(KEYS)[:4]
    assert resp["IsTruncated"] is True
    # NextMarker is only promised with a delimiter; clients continue from the last key.
    assert resp.get("NextMarker", keys_of(resp)[-1]) == keys_of(resp)[-1]


def test_v2_continuation_token(s3, filled):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=5)
    assert first["IsTruncated"] is True
    assert first["KeyCount"] == 5
    token = first["NextContinuationToken"]
    assert token
    second = s3.list_objects_v2(Bucket=filled, MaxKeys=100, ContinuationToken=token)
    assert second["ContinuationToken"] == token
    assert keys_of(first) + keys_of(second) == sorted(KEYS)
    assert second["IsTruncated"] is False


def test_v2_start_after(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, StartAfter="b/x")
    assert keys_of(resp) == [k for k in sorted(KEYS) if k > "b/x"]
    assert resp["StartAfter"] == "b/x"
    assert keys_of(s3.list_objects_v2(Bucket=filled, StartAfter=sorted(KEYS)[-1])) == []


def test_v2_continuation_token_wins_over_start_after(s3, filled):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=2, StartAfter="a")
    assert keys_of(first) == ["a/b", "a/c/d"]
    second = s3.list_objects_v2(
        Bucket=filled, StartAfter="a", ContinuationToken=first["NextContinuationToken"]
    )
    assert keys_of(second)[0] == "a/c/e"


@pytest.mark.parametrize("version", [1, 2])
def test_max_keys_zero(s3, filled, version):
    lister = s3.list_objects if version == 1 else s3.list_objects_v2
    resp = lister(Bucket=filled, MaxKeys=0)
    assert keys_of(resp) == []
    assert resp["IsTruncated"] is False


def test_empty_bucket_listing(s3, bucket):
    resp = s3.list_objects_v2(Bucket=bucket)
    assert resp["KeyCount"] == 0
    assert "Contents" not in resp
    assert resp["IsTruncated"] is False
    assert keys_of(s3.list_objects(Bucket=bucket)) == []


# ---- raw checks: encoding-type=url, XML escaping, malformed parameters ---------------------


@pytest.mark.parametrize("list_type", [None, "2"])
def test_encoding_type_url(server, filled, list_type):
    params = {"encoding-type": "url", "delimiter": "/"}
    if list_type:
        params["list-type"] = list_type
    resp = raw.request(server, "GET", f"/{filled}", params=params)
    assert resp.status_code == 200, resp.text
    root = raw.xml_root(resp.content)
    assert raw.find_text(root, "EncodingType") == "url"
    encoded_keys = raw.find_all_text(root, ["Contents", "Key"])
    encoded_prefixes = raw.find_all_text(root, ["CommonPrefixes", "Prefix"])
    for text in encoded_keys + encoded_prefixes:
        assert text.isascii() and " " not in text, text
    assert [unquote_plus(k) for k in encoded_keys] == ["a", "c", "per%cent", "plus+key", "zz"]
    assert [unquote_plus(p) for p in encoded_prefixes] == ["a/", "b/", "d e/", "ünï/"]
    assert "plus%2Bkey" in encoded_keys
    assert "per%25cent" in encoded_keys


def test_encoding_type_url_prefix_and_start_after(server, filled):
    params = {"list-type": "2", "encoding-type": "url", "prefix": "ünï/", "start-after": "ünï/a"}
    resp = raw.request(server, "GET", f"/{filled}", params=params)
    assert resp.status_code == 200, resp.text
    root = raw.xml_root(resp.content)
    assert unquote_plus(raw.find_text(root, "Prefix") or "") == "ünï/"
    assert (raw.find_text(root, "Prefix") or "").isascii()
    assert unquote_plus(raw.find_text(root, "StartAfter") or "") == "ünï/a"
    assert [unquote_plus(k) for k in raw.find_all_text(root, ["Contents", "Key"])] == ["ünï/cødé"]


def test_without_encoding_type_keys_are_xml_escaped(server, s3, bucket):
    keys = ["amp&lt<gt>", "ünï", "quote\"'"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    resp = raw.request(server, "GET", f"/{bucket}", params={"list-type": "2"})
    assert resp.status_code == 200
    root = raw.xml_root(resp.content)
    assert raw.find_all_text(root, ["Contents", "Key"]) == sorted(keys)
    assert raw.find_text(root, "EncodingType") is None


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
@pytest.mark.parametrize("list_type", [None, "2"])
def test_bad_max_keys_is_invalid_argument(server, bucket, value, list_type):
    params = {"max-keys": value}
    if list_type:
        params["list-type"] = list_type
    resp = raw.request(server, "GET", f"/{bucket}", params=params)
    assert resp.status_code == 400, resp.text
    err = raw.error_fields(resp)
    assert err["Code"] == "InvalidArgument"
    assert err["RequestId"] == resp.headers.get("x-amz-request-id")


def test_bad_encoding_type_is_invalid_argument(server, bucket):
    resp = raw.request(server, "GET", f"/{bucket}", params={"encoding-type": "base64"})
    assert resp.status_code == 400, resp.text
    assert raw.error_fields(resp)["Code"] == "InvalidArgument"


def test_bad_continuation_token_is_invalid_argument(server, filled):
    params = {"list-type": "2", "continuation-token": "not a token!"}
    resp = raw.request(server, "GET", f"/{filled}", params=params)
    assert resp.status_code == 400, resp.text
    assert raw.error_fields(resp)["Code"] == "InvalidArgument"


def test_list_missing_bucket_v1(s3):
    with pytest.raises(ClientError) as info:
        s3.list_objects(Bucket="e2e-missing-listing-bucket")
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"
