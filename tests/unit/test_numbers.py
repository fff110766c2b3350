"""The one integer parser (issue 11, item 7) and the numbers it guards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from boxdrive_wsgi import create_app
from boxdrive_wsgi.auth import post_policy
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.protocol.numbers import (
    INT64_MAX,
    parse_bounded,
    parse_integer,
    parse_part_number,
)
from boxdrive_wsgi.stores import MemoryStore

ODD = ["", "\u00b2", "\u0663", "1" * 5000, str(2**63), "-1", "+1", " 1", "1 ", "1_0", "0x1", "1e3"]


@pytest.mark.parametrize("text", ODD)
def test_only_ascii_digits_within_bounds(text: str) -> None:
    assert parse_bounded(text, 0, INT64_MAX) is None
    with pytest.raises(S3Error) as raised:
        parse_integer(text, "max-keys")
    assert raised.value.code == "InvalidArgument"
    assert raised.value.extra == {"ArgumentName": "max-keys", "ArgumentValue": text}


def test_bounds_and_plain_values() -> None:
    assert parse_bounded("0", 0, 10) == 0
    assert parse_bounded("010", 0, 10) == 10
    assert parse_bounded("11", 0, 10) is None
    assert parse_bounded(str(INT64_MAX), 0, INT64_MAX) == INT64_MAX
    assert parse_part_number("10000") == 10000
    for bad in (None, "0", "10001"):
        with pytest.raises(S3Error) as raised:
            parse_part_number(bad)
        assert raised.value.extra["ArgumentName"] == "partNumber"


@pytest.fixture
def client() -> FlaskClient:
    store = MemoryStore()
    store.create_bucket("b", owner=ANONYMOUS.id)
    return create_app(store, anonymous=True).test_client()


@pytest.mark.parametrize("value", ["\u00b2", "1" * 5000, str(2**63), "-1"])
def test_decoded_content_length_header(client: FlaskClient, value: str) -> None:
    response = client.put(
        "/b/k",
        data=b"0\r\n\r\n",
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length": value,
        },
    )
    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.data


@pytest.mark.parametrize("bound", ["1" * 5000, -1, True, 1.5, "\u00b2", 2**64])
def test_policy_length_range_bounds(bound: object) -> None:
    document = {
        "expiration": "2099-01-01T00:00:00Z",
        "conditions": [["content-length-range", 0, bound]],
    }
    with pytest.raises(S3Error) as raised:
        post_policy.check_policy(document, {"bucket": "b"}, datetime.now(UTC))
    assert raised.value.code == "InvalidPolicyDocument"


@pytest.mark.parametrize(
    "expiration",
    ["2099-01-01", "20990101T000000Z", "2099-W01-1", "2099-01-01 00:00:00Z",
     "2099-01-01T00:00:00+00:00", "2099-01-01T00:00:00", "2099-13-01T00:00:00Z", "tomorrow"],
)  # fmt: skip
def test_policy_expiration_must_be_iso8601_utc(expiration: str) -> None:
    document = {"expiration": expiration, "conditions": []}
    with pytest.raises(S3Error) as raised:
        post_policy.check_policy(document, {"bucket": "b"}, datetime.now(UTC))
    assert raised.value.code == "InvalidPolicyDocument"
    assert "expiration" in raised.value.message


@pytest.mark.parametrize("expiration", ["2099-01-01T00:00:00Z", "2099-01-01T00:00:00.000Z"])
def test_policy_expiration_accepted_forms(expiration: str) -> None:
    document = {"expiration": expiration, "conditions": [["content-length-range", 0, "10"]]}
    assert post_policy.check_policy(document, {"bucket": "b"}, datetime.now(UTC)) == (0, 10)
