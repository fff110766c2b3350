"""protocol/lifecycle.py: S3's validation, round trips, matching and expiry dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from boxdrive_wsgi.protocol import lifecycle as lc
from boxdrive_wsgi.protocol.errors import S3Error


def doc(*rules: str) -> bytes:
    return ("<LifecycleConfiguration>" + "".join(rules) + "</LifecycleConfiguration>").encode()


def rule(inner: str, *, rule_id: str = "r1", status: str = "Enabled") -> str:
    return f"<Rule><ID>{rule_id}</ID>{inner}<Status>{status}</Status></Rule>"


EXPIRE = "<Expiration><Days>1</Days></Expiration>"


@pytest.mark.parametrize(
    "body",
    [
        doc(rule("<Prefix>a/</Prefix>" + EXPIRE)),
        doc(rule("<Prefix>a/</Prefix>" + EXPIRE, status="Disabled")),
        doc(rule("<Filter><Prefix>a/</Prefix></Filter>" + EXPIRE)),
        doc(
            rule(
                "<Filter></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            )
        ),
        doc(
            rule(
                "<Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And></Filter>"
                + EXPIRE
            )
        ),
        doc(rule("<Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter>" + EXPIRE)),
        doc(rule("<Prefix></Prefix><Expiration><Date>2017-09-27T00:00:00Z</Date></Expiration>")),
        doc(
            rule(
                "<Prefix>x</Prefix><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
            )
        ),
        doc(
            rule(
                "<Prefix>x</Prefix><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            )
        ),
        doc(rule("<Prefix>a</Prefix>" + EXPIRE), rule("<Prefix>b</Prefix>" + EXPIRE, rule_id="r2")),
    ],
)
def test_valid_configurations_round_trip(body: bytes) -> None:
    config = lc.parse_configuration(body)
    assert lc.parse_configuration(lc.render_configuration(config)) == config
    assert lc.load_configuration(lc.dump_configuration(config)) == config


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (doc(rule("<Prefix>a</Prefix>" + EXPIRE, rule_id="a" * 256)), "InvalidArgument"),
        (
            doc(rule("<Prefix>a</Prefix>" + EXPIRE), rule("<Prefix>b</Prefix>" + EXPIRE)),
            "InvalidArgument",
        ),
        (doc(rule("<Prefix>a</Prefix>" + EXPIRE, status="enabled")), "MalformedXML"),
        (doc(rule("<Prefix>a</Prefix><Expiration><Days>0</Days></Expiration>")), "InvalidArgument"),
        (doc(rule("<Prefix>a</Prefix><Expiration><Days>x</Days></Expiration>")), "MalformedXML"),
        (
            doc(
                rule("<Prefix>a</Prefix><Expiration><Date>2020-01-01T10:00:00Z</Date></Expiration>")
            ),
            "InvalidArgument",
        ),
        (
            doc(
                rule("<Prefix>a</Prefix><Expiration><Date>1970-08-23T19:15:01Z</Date></Expiration>")
            ),
            "InvalidArgument",
        ),
        (
            doc(rule("<Prefix>a</Prefix><Expiration><Date>soon</Date></Expiration>")),
            "InvalidArgument",
        ),
        (
            doc(
                rule(
                    "<Prefix>a</Prefix><Expiration><Days>1</Days><Date>2020-01-01T00:00:00Z</Date></Expiration>"
                )
            ),
            "MalformedXML",
        ),
        (doc(rule("<Prefix>a</Prefix><Expiration></Expiration>")), "MalformedXML"),
        (doc(rule("<Prefix>a</Prefix>")), "InvalidArgument"),
        (
            doc(rule("<Prefix>a</Prefix><Filter><Prefix>a</Prefix></Filter>" + EXPIRE)),
            "MalformedXML",
        ),
        (
            doc(
                rule(
                    "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
                )
            ),
            "InvalidArgument",
        ),
        (
            doc(
                rule(
                    "<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>"
                    + EXPIRE
                )
            ),
            "InvalidArgument",
        ),
        (
            doc(
                rule(
                    "<Prefix>a</Prefix><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>"
                )
            ),
            "InvalidArgument",
        ),
        (
            doc(
                rule(
                    "<Prefix>a</Prefix><AbortIncompleteMultipartUpload></AbortIncompleteMultipartUpload>"
                )
            ),
            "MalformedXML",
        ),
        (
            doc(
                rule(
                    "<Prefix>a</Prefix><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>"
                )
            ),
            "NotImplemented",
        ),
        (
            doc(
                rule(
                    "<Prefix>a</Prefix><Transition><Date>1970-08-23T19:15:01Z</Date><StorageClass>GLACIER</StorageClass></Transition>"
                )
            ),
            "InvalidArgument",
        ),
        (doc(), "MalformedXML"),
        (
            doc(*(rule("<Prefix>a</Prefix>" + EXPIRE, rule_id=str(i)) for i in range(1001))),
            "InvalidArgument",
        ),
        (b"<LifecycleConfiguration><Bogus/></LifecycleConfiguration>", "MalformedXML"),
    ],
)
def test_invalid_configurations(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as raised:
        lc.parse_configuration(body)
    assert raised.value.code == code


def test_conditions_beside_and_are_taken_together() -> None:
    """RGW's reading (s3-tests' tags2): Prefix and Tag next to <And> all hold."""
    body = doc(
        rule(
            "<Filter><Prefix>days1/</Prefix><Tag><Key>tom</Key><Value>sawyer</Value></Tag>"
            "<And><Prefix>days1</Prefix><Tag><Key>huck</Key><Value>finn</Value></Tag></And>"
            "</Filter>" + EXPIRE
        )
    )
    (parsed,) = lc.parse_configuration(body).rules
    assert parsed.key_prefix == "days1/"
    assert parsed.matches("days1/x", 1, {"tom": "sawyer", "huck": "finn"})
    assert not parsed.matches("days1/x", 1, {"tom": "sawyer"})
    assert lc.parse_configuration(lc.render_configuration(lc.Configuration((parsed,)))).rules == (
        parsed,
    )
    clash = doc(rule("<Filter><Prefix>a</Prefix><And><Prefix>b</Prefix></And></Filter>" + EXPIRE))
    with pytest.raises(S3Error) as raised:
        lc.parse_configuration(clash)
    assert raised.value.code == "MalformedXML"


def test_missing_id_is_generated() -> None:
    body = doc("<Rule><Prefix>a</Prefix><Status>Enabled</Status>" + EXPIRE + "</Rule>")
    (parsed,) = lc.parse_configuration(body).rules
    assert parsed.id and len(parsed.id) <= lc.MAX_ID_CHARS


def parsed_rule(inner: str) -> lc.Rule:
    return lc.parse_configuration(doc(rule(inner + EXPIRE))).rules[0]


@pytest.mark.parametrize(
    ("inner", "key", "size", "tags", "matches"),
    [
        ("<Prefix>a/</Prefix>", "a/x", 1, {}, True),
        ("<Prefix>a/</Prefix>", "b/x", 1, {}, False),
        ("<Filter></Filter>", "anything", 1, {}, True),
        ("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>", "x", 1, {"k": "v"}, True),
        ("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>", "x", 1, {"k": "w"}, False),
        ("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>", "x", 1, None, False),
        ("<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>", "x", 11, {}, True),
        ("<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>", "x", 10, {}, False),
        ("<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter>", "x", 9, {}, True),
        ("<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter>", "x", 10, {}, False),
        (
            "<Filter><And><Prefix>p</Prefix><Tag><Key>a</Key><Value>1</Value></Tag>"
            "<Tag><Key>b</Key><Value>2</Value></Tag></And></Filter>",
            "px",
            1,
            {"a": "1", "b": "2", "c": "3"},
            True,
        ),
        (
            "<Filter><And><Prefix>p</Prefix><Tag><Key>a</Key><Value>1</Value></Tag>"
            "<Tag><Key>b</Key><Value>2</Value></Tag></And></Filter>",
            "px",
            1,
            {"a": "1"},
            False,
        ),
    ],
)
def test_matching(
    inner: str, key: str, size: int, tags: dict[str, str] | None, matches: bool
) -> None:
    assert parsed_rule(inner).matches(key, size, tags) is matches


def test_days_round_up_to_midnight_with_real_days() -> None:
    start = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    assert lc.after_days(start, 1) == datetime(2026, 12, 5, tzinfo=UTC)
    midnight = datetime(2026, 12, 3, tzinfo=UTC)
    assert lc.after_days(midnight, 1) == datetime(2026, 12, 4, tzinfo=UTC)
    assert lc.after_days(start, 2, day=10) == start + timedelta(seconds=20)


def test_earliest_expiry_picks_the_first_rule_to_fire() -> None:
    config = lc.parse_configuration(
        doc(
            rule("<Prefix>a</Prefix><Expiration><Days>5</Days></Expiration>", rule_id="slow"),
            rule("<Prefix>a/</Prefix>" + EXPIRE, rule_id="fast"),
            rule("<Prefix>a/</Prefix>" + EXPIRE, rule_id="off", status="Disabled"),
        )
    )
    start = datetime(2026, 12, 3, tzinfo=UTC)
    found = lc.earliest_expiry(config.rules, "a/x", 1, {}, start, 10)
    assert found == (start + timedelta(seconds=10), "fast")
    assert lc.earliest_expiry(config.rules, "b", 1, {}, start, 10) is None


def test_expiration_header_is_in_real_days() -> None:
    config = lc.parse_configuration(doc(rule("<Prefix>a/</Prefix>" + EXPIRE, rule_id="one")))
    start = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    header = lc.expiration_header(config.rules, "a/x", 1, {}, start)
    assert header == 'expiry-date="Sat, 05 Dec 2026 00:00:00 GMT", rule-id="one"'
    assert lc.expiration_header(config.rules, "b/x", 1, {}, start) is None
