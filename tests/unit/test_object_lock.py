"""protocol/object_lock.py: documents, headers, and what a lock forbids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from boxdrive_wsgi.protocol import object_lock as ol
from boxdrive_wsgi.protocol.errors import S3Error

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
EARLIER = NOW - timedelta(days=1)


def config_xml(inner: str) -> bytes:
    return f"<ObjectLockConfiguration>{inner}</ObjectLockConfiguration>".encode()


def rule(inner: str) -> str:
    enabled = "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"
    return f"{enabled}<Rule><DefaultRetention>{inner}</DefaultRetention></Rule>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (config_xml("<ObjectLockEnabled>Enabled</ObjectLockEnabled>"), ol.LockConfiguration()),
        (
            config_xml(rule("<Mode>GOVERNANCE</Mode><Days>1</Days>")),
            ol.LockConfiguration(default=ol.DefaultRetention("GOVERNANCE", days=1)),
        ),
        (
            config_xml(rule("<Mode>COMPLIANCE</Mode><Years>2</Years>")),
            ol.LockConfiguration(default=ol.DefaultRetention("COMPLIANCE", years=2)),
        ),
    ],
)
def test_configuration_parses_and_round_trips(body: bytes, expected: ol.LockConfiguration) -> None:
    parsed = ol.parse_configuration(body)
    assert parsed == expected
    assert ol.parse_configuration(ol.render_configuration(parsed)) == expected
    assert ol.load_configuration(ol.dump_configuration(parsed)) == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (config_xml(rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>")), "MalformedXML"),
        (config_xml(rule("<Mode>GOVERNANCE</Mode>")), "MalformedXML"),
        (config_xml(rule("<Mode>GOVERNANCE</Mode><Days>0</Days>")), "InvalidRetentionPeriod"),
        (config_xml(rule("<Mode>GOVERNANCE</Mode><Years>-1</Years>")), "InvalidRetentionPeriod"),
        (config_xml(rule("<Mode>GOVERNANCE</Mode><Days>36501</Days>")), "InvalidRetentionPeriod"),
        (config_xml(rule("<Mode>governance</Mode><Days>1</Days>")), "MalformedXML"),
        (config_xml(rule("<Mode>abc</Mode><Days>1</Days>")), "MalformedXML"),
        (config_xml(rule("<Mode>GOVERNANCE</Mode><Days>x</Days>")), "MalformedXML"),
        (config_xml("<ObjectLockEnabled>Disabled</ObjectLockEnabled>"), "MalformedXML"),
        (config_xml("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/>"), "MalformedXML"),
        (b"<Other/>", "MalformedXML"),
    ],
)
def test_configuration_errors(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as raised:
        ol.parse_configuration(body)
    assert raised.value.code == code


def test_default_retention_dates() -> None:
    assert ol.DefaultRetention("GOVERNANCE", days=2).until(NOW) == NOW + timedelta(days=2)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert ol.DefaultRetention("GOVERNANCE", years=1).until(leap) == datetime(
        2029, 2, 28, tzinfo=UTC
    )


def test_retention_document() -> None:
    body = (
        b"<Retention><Mode>COMPLIANCE</Mode>"
        b"<RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>"
    )
    lock = ol.parse_retention(body)
    assert lock == ol.Lock("COMPLIANCE", datetime(2030, 1, 1, tzinfo=UTC))
    assert ol.parse_retention(ol.render_retention(lock)) == lock
    assert ol.parse_retention(b"<Retention/>") == ol.Lock()
    for bad in (
        b"<Retention><Mode>abc</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>",
        b"<Retention><Mode>GOVERNANCE</Mode></Retention>",
        b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>",
    ):
        with pytest.raises(S3Error) as raised:
            ol.parse_retention(bad)
        assert raised.value.code == "MalformedXML"


def test_legal_hold_document() -> None:
    assert ol.parse_legal_hold(b"<LegalHold><Status>ON</Status></LegalHold>") is True
    assert ol.parse_legal_hold(ol.render_legal_hold(False)) is False
    with pytest.raises(S3Error) as raised:
        ol.parse_legal_hold(b"<LegalHold><Status>abc</Status></LegalHold>")
    assert raised.value.code == "MalformedXML"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({ol.LEGAL_HOLD_HEADER: "ON"}, ol.Lock(legal_hold=True)),
        (
            {ol.MODE_HEADER: "GOVERNANCE", ol.UNTIL_HEADER: "2030-01-01T00:00:00.000Z"},
            ol.Lock("GOVERNANCE", datetime(2030, 1, 1, tzinfo=UTC)),
        ),
    ],
)
def test_lock_headers(headers: dict[str, str], expected: ol.Lock | None) -> None:
    assert ol.lock_from_headers(headers, NOW) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {ol.MODE_HEADER: "GOVERNANCE"},
        {ol.UNTIL_HEADER: "2030-01-01T00:00:00Z"},
        {ol.MODE_HEADER: "governance", ol.UNTIL_HEADER: "2030-01-01T00:00:00Z"},
        {ol.MODE_HEADER: "GOVERNANCE", ol.UNTIL_HEADER: "tomorrow"},
        {ol.MODE_HEADER: "GOVERNANCE", ol.UNTIL_HEADER: "2020-01-01T00:00:00Z"},
        {ol.LEGAL_HOLD_HEADER: "on"},
    ],
)
def test_lock_header_errors(headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as raised:
        ol.lock_from_headers(headers, NOW)
    assert raised.value.code == "InvalidArgument"


def test_new_version_lock() -> None:
    default = ol.LockConfiguration(default=ol.DefaultRetention("COMPLIANCE", days=1))
    asked = ol.Lock("GOVERNANCE", LATER + timedelta(days=5))
    assert ol.new_version_lock(None, None, NOW) is None
    assert ol.new_version_lock(None, ol.LockConfiguration(), NOW) is None
    assert ol.new_version_lock(None, default, NOW) == ol.Lock("COMPLIANCE", LATER)
    assert ol.new_version_lock(asked, default, NOW) == asked
    hold = ol.Lock(legal_hold=True)
    assert ol.new_version_lock(hold, default, NOW) == ol.Lock("COMPLIANCE", LATER, True)
    with pytest.raises(S3Error) as raised:
        ol.new_version_lock(asked, None, NOW)
    assert raised.value.code == "InvalidRequest"


def test_integrity_headers() -> None:
    assert ol.has_integrity_header({"Content-MD5": "x"})
    assert ol.has_integrity_header({"x-amz-checksum-crc32": "x"})
    assert ol.has_integrity_header({"x-amz-sdk-checksum-algorithm": "CRC32"})
    assert not ol.has_integrity_header({"x-amz-checksum-type": "FULL_OBJECT"})
    with pytest.raises(S3Error) as raised:
        ol.require_integrity({"Content-Type": "text/plain"})
    assert raised.value.code == "InvalidRequest"


@pytest.mark.parametrize(
    ("lock", "bypass", "allowed"),
    [
        (ol.Lock(), False, True),
        (ol.Lock("GOVERNANCE", EARLIER), False, True),
        (ol.Lock("COMPLIANCE", EARLIER), False, True),
        (ol.Lock("GOVERNANCE", LATER), False, False),
        (ol.Lock("GOVERNANCE", LATER), True, True),
        (ol.Lock("COMPLIANCE", LATER), True, False),
        (ol.Lock(legal_hold=True), True, False),
        (ol.Lock("GOVERNANCE", EARLIER, legal_hold=True), True, False),
    ],
)
def test_check_removal(lock: ol.Lock, bypass: bool, allowed: bool) -> None:
    if allowed:
        ol.check_removal(lock, NOW, bypass=bypass)
    else:
        with pytest.raises(S3Error) as raised:
            ol.check_removal(lock, NOW, bypass=bypass)
        assert raised.value.code == "AccessDenied"


FAR = LATER + timedelta(days=30)


@pytest.mark.parametrize(
    ("current", "wanted", "bypass", "allowed"),
    [
        (ol.Lock(), ol.Lock("COMPLIANCE", LATER), False, True),
        (ol.Lock("GOVERNANCE", LATER), ol.Lock("GOVERNANCE", FAR), False, True),
        (ol.Lock("GOVERNANCE", FAR), ol.Lock("GOVERNANCE", LATER), False, False),
        (ol.Lock("GOVERNANCE", FAR), ol.Lock("GOVERNANCE", LATER), True, True),
        (ol.Lock("GOVERNANCE", LATER), ol.Lock("COMPLIANCE", LATER), False, False),
        (ol.Lock("GOVERNANCE", LATER), ol.Lock("COMPLIANCE", LATER), True, True),
        (ol.Lock("GOVERNANCE", LATER), ol.Lock(), True, True),
        (ol.Lock("COMPLIANCE", LATER), ol.Lock("COMPLIANCE", FAR), False, True),
        (ol.Lock("COMPLIANCE", FAR), ol.Lock("COMPLIANCE", LATER), True, False),
        (ol.Lock("COMPLIANCE", LATER), ol.Lock("GOVERNANCE", FAR), True, False),
        (ol.Lock("COMPLIANCE", LATER), ol.Lock(), True, False),
        (ol.Lock("COMPLIANCE", EARLIER), ol.Lock("GOVERNANCE", LATER), False, True),
    ],
)
def test_check_retention_change(
    current: ol.Lock, wanted: ol.Lock, bypass: bool, allowed: bool
) -> None:
    if allowed:
        ol.check_retention_change(current, wanted, NOW, bypass=bypass)
    else:
        with pytest.raises(S3Error) as raised:
            ol.check_retention_change(current, wanted, NOW, bypass=bypass)
        assert raised.value.code == "AccessDenied"


def test_retention_in_the_past_is_refused() -> None:
    with pytest.raises(S3Error) as raised:
        ol.check_retention_change(ol.Lock(), ol.Lock("GOVERNANCE", EARLIER), NOW, bypass=True)
    assert raised.value.code == "InvalidArgument"


def test_lock_response_headers() -> None:
    headers = ol.lock_headers(ol.Lock("GOVERNANCE", datetime(2030, 1, 1, tzinfo=UTC), True))
    assert headers == {
        ol.MODE_HEADER: "GOVERNANCE",
        ol.UNTIL_HEADER: "2030-01-01T00:00:00.000Z",
        ol.LEGAL_HOLD_HEADER: "ON",
    }
    assert ol.lock_headers(ol.Lock()) == {}
