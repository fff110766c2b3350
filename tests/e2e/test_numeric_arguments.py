"""Numeric query parameters and headers: S3's InvalidArgument, never a 500 (issue 11, item 7).

``"²"`` passes ``str.isdigit()`` but not ``int()``, 5,000 digits exceed Python's
conversion limit, and 2**63 overflows SQLite: each once answered 500.
"""

from __future__ import annotations

import pytest

from . import raw

ODD_VALUES = ["\u00b2", "\u0663", "1" * 5000, str(2**63), str(2**64 + 1), "-1", "+1", " 1", "1_0"]


@pytest.fixture
def target(s3, bucket: str) -> dict[str, str]:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    return {"bucket": bucket, "upload": upload}


def _cases(target: dict[str, str]) -> list[tuple[str, str, dict[str, str], str]]:
    bucket, upload = target["bucket"], target["upload"]
    return [
        ("GET", "/", {}, "max-buckets"),
        ("GET", f"/{bucket}/k", {}, "partNumber"),
        ("HEAD", f"/{bucket}/k", {}, "partNumber"),
        ("PUT", f"/{bucket}/mp", {"uploadId": upload}, "partNumber"),
        ("GET", f"/{bucket}/mp", {"uploadId": upload}, "max-parts"),
        ("GET", f"/{bucket}/mp", {"uploadId": upload}, "part-number-marker"),
        ("GET", f"/{bucket}", {"uploads": ""}, "max-uploads"),
        ("GET", f"/{bucket}", {}, "max-keys"),
        ("GET", f"/{bucket}", {"list-type": "2"}, "max-keys"),
    ]


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_numbers_are_invalid_arguments(server, target, value: str) -> None:
    for method, path, params, name in _cases(target):
        response = raw.request(server, method, path, params={**params, name: value})
        assert response.status_code == 400, (method, path, name, response.text[:300])
        if method != "HEAD":
            fields = raw.error_fields(response)
            assert fields["Code"] == "InvalidArgument", (name, fields)
            assert fields["ArgumentName"] == name
            assert fields["ArgumentValue"] == value
    assert "Traceback" not in server.log()


def test_plain_numbers_still_work(server, target) -> None:
    bucket, upload = target["bucket"], target["upload"]
    assert raw.request(server, "GET", f"/{bucket}", params={"max-keys": "0"}).status_code == 200
    huge = raw.request(server, "GET", f"/{bucket}", params={"max-keys": str(2**31 - 1)})
    assert huge.status_code == 200
    parts = raw.request(
        server, "GET", f"/{bucket}/mp", params={"uploadId": upload, "max-parts": "5000"}
    )
    assert parts.status_code == 200
    assert raw.find_text(raw.xml_root(parts.content), "MaxParts") == "1000"
    part = raw.request(server, "GET", f"/{bucket}/k", params={"partNumber": "1"})
    assert part.status_code == 200
    assert part.content == b"data"
