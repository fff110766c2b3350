"""Object lock: the ObjectLockConfiguration, Retention and LegalHold documents, the
``x-amz-object-lock-*`` headers of writes, and the rules of what a lock forbids.

Pure: no store, no request. The HTTP layer (operations/object_lock.py) reads the
bucket's configuration and a version's lock from the store and asks these
functions. Errors are S3's (MalformedXML for a document that does not validate,
InvalidRetentionPeriod, InvalidArgument for headers, AccessDenied for a refusal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..stores.model import ObjectInfo
from . import xml
from .documents import LEGAL_HOLD, OBJECT_LOCK_CONFIGURATION, RETENTION
from .errors import S3Error
from .headers import HeaderMap

GOVERNANCE = "GOVERNANCE"
COMPLIANCE = "COMPLIANCE"
MODES = frozenset({GOVERNANCE, COMPLIANCE})
#: S3's bounds for a default retention period.
MAX_DAYS = 36500
MAX_YEARS = 100

MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
LEGAL_HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
ENABLED_HEADER = "x-amz-bucket-object-lock-enabled"

MISSING_CONFIGURATION = "Bucket is missing Object Lock Configuration"
NEEDS_DIGEST = (
    "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
    "with Object Lock parameters"
)


@dataclass(frozen=True)
class DefaultRetention:
    mode: str
    days: int | None = None
    years: int | None = None

    def until(self, start: datetime) -> datetime:
        """The retain-until date of a version written at ``start``."""
        if self.days is not None:
            return start + timedelta(days=self.days)
        years = self.years or 0
        try:
            return start.replace(year=start.year + years)
        except ValueError:  # 29 February
            return start.replace(year=start.year + years, day=28)


@dataclass(frozen=True)
class LockConfiguration:
    """A bucket's ObjectLockConfiguration (``enabled`` is always True once set)."""

    enabled: bool = True
    default: DefaultRetention | None = None


@dataclass(frozen=True)
class Lock:
    """One version's lock: retention mode and date, legal hold."""

    mode: str | None = None
    until: datetime | None = None
    legal_hold: bool = False

    def retained(self, now: datetime) -> bool:
        return self.mode is not None and self.until is not None and self.until > now


# -- documents ---------------------------------------------------------------------------


def parse_configuration(body: bytes) -> LockConfiguration:
    root = xml.parse(body, OBJECT_LOCK_CONFIGURATION)
    if xml.child_text(root, "ObjectLockEnabled") != "Enabled":
        raise S3Error("MalformedXML")
    rule = root.find("Rule")
    if rule is None:
        return LockConfiguration()
    retention = rule.find("DefaultRetention")
    if retention is None:
        raise S3Error("MalformedXML")
    mode = xml.child_text(retention, "Mode")
    days = xml.child_integer(retention, "Days")
    years = xml.child_integer(retention, "Years")
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error("MalformedXML")
    period = days if days is not None else years
    limit = MAX_DAYS if days is not None else MAX_YEARS
    if period is None or period <= 0:
        raise S3Error(
            "InvalidRetentionPeriod", "Default retention period must be a positive integer value."
        )
    if period > limit:
        raise S3Error("InvalidRetentionPeriod", "Default retention period is too large.")
    return LockConfiguration(default=DefaultRetention(mode, days, years))


def render_configuration(config: LockConfiguration) -> bytes:
    children: list[tuple[str, xml.Value]] = [("ObjectLockEnabled", "Enabled")]
    if config.default is not None:
        d = config.default
        children.append(
            (
                "Rule",
                [("DefaultRetention", [("Mode", d.mode), ("Days", d.days), ("Years", d.years)])],
            )
        )
    return xml.render("ObjectLockConfiguration", children)


def dump_configuration(config: LockConfiguration) -> bytes:
    """The bucket configuration slot's value (JSON)."""
    d = config.default
    return json.dumps(
        {"default": None if d is None else {"mode": d.mode, "days": d.days, "years": d.years}}
    ).encode()


def load_configuration(stored: bytes) -> LockConfiguration:
    data = json.loads(stored)
    d = data.get("default")
    if d is None:
        return LockConfiguration()
    return LockConfiguration(default=DefaultRetention(d["mode"], d.get("days"), d.get("years")))


def parse_date(text: str, *, error: S3Error) -> datetime:
    """An ISO 8601 timestamp (``2030-01-01T00:00:00Z``, fractions allowed), as UTC."""
    try:
        return xml.parse_timestamp(text)
    except ValueError:
        raise error from None


def parse_retention(body: bytes) -> Lock:
    """A Retention document; an empty one (no Mode, no date) removes the retention."""
    root = xml.parse(body, RETENTION)
    mode = xml.child_text(root, "Mode")
    raw_until = xml.child_text(root, "RetainUntilDate")
    if mode is None and raw_until is None:
        return Lock()
    if mode not in MODES or raw_until is None:
        raise S3Error("MalformedXML")
    return Lock(mode, parse_date(raw_until, error=S3Error("MalformedXML")))


def render_retention(lock: Lock) -> bytes:
    return xml.render("Retention", [("Mode", lock.mode), ("RetainUntilDate", lock.until)])


def parse_legal_hold(body: bytes) -> bool:
    status = xml.child_text(xml.parse(body, LEGAL_HOLD), "Status")
    if status not in ("ON", "OFF"):
        raise S3Error("MalformedXML")
    return status == "ON"


def render_legal_hold(on: bool) -> bytes:
    return xml.render("LegalHold", [("Status", "ON" if on else "OFF")])


# -- headers -----------------------------------------------------------------------------


def _invalid(message: str, header: str, value: str) -> S3Error:
    return S3Error(
        "InvalidArgument", message, extra={"ArgumentName": header, "ArgumentValue": value}
    )


def lock_from_headers(headers: HeaderMap, now: datetime) -> Lock | None:
    """The lock a write asks for with ``x-amz-object-lock-*`` headers (None: none asked)."""
    mode = headers.get(MODE_HEADER)
    raw_until = headers.get(UNTIL_HEADER)
    raw_hold = headers.get(LEGAL_HOLD_HEADER)
    if mode is None and raw_until is None and raw_hold is None:
        return None
    if (mode is None) != (raw_until is None):
        raise _invalid(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
            MODE_HEADER if mode is None else UNTIL_HEADER,
            "null",
        )
    until: datetime | None = None
    if mode is not None and raw_until is not None:
        if mode not in MODES:
            raise _invalid("Unknown wormMode directive.", MODE_HEADER, mode)
        until = parse_date(
            raw_until,
            error=_invalid(
                "The retain until date must be provided in ISO 8601 format",
                UNTIL_HEADER,
                raw_until,
            ),
        )
        if until <= now:
            raise _invalid("The retain until date must be in the future!", UNTIL_HEADER, raw_until)
    hold = False
    if raw_hold is not None:
        if raw_hold not in ("ON", "OFF"):
            raise _invalid(
                "Legal Hold must be either of 'ON' or 'OFF'", LEGAL_HOLD_HEADER, raw_hold
            )
        hold = raw_hold == "ON"
    return Lock(mode, until, hold)


def new_version_lock(
    asked: Lock | None, config: LockConfiguration | None, now: datetime
) -> Lock | None:
    """The lock a new version gets: the headers', else the bucket's default retention."""
    if config is None:
        if asked is not None:
            raise S3Error("InvalidRequest", MISSING_CONFIGURATION)
        return None
    if asked is not None and asked.mode is not None:
        return asked
    default = config.default
    hold = asked.legal_hold if asked is not None else False
    if default is None:
        return asked
    return Lock(default.mode, default.until(now), hold)


def lock_headers(lock: Lock) -> dict[str, str]:
    """What GET/HEAD answer about a version's lock."""
    headers: dict[str, str] = {}
    if lock.mode is not None and lock.until is not None:
        headers[MODE_HEADER] = lock.mode
        headers[UNTIL_HEADER] = xml.iso8601(lock.until)
    if lock.legal_hold:
        headers[LEGAL_HOLD_HEADER] = "ON"
    return headers


CHECKSUM_HEADERS = ("content-md5", "x-amz-sdk-checksum-algorithm", "x-amz-trailer")


def has_integrity_header(headers: HeaderMap) -> bool:
    """Content-MD5 or an x-amz-checksum (a header, or announced for a trailer)."""
    for name in headers.keys():  # noqa: SIM118 - iterating Werkzeug Headers yields pairs
        lower = name.lower()
        if lower == "x-amz-checksum-type":
            continue
        if lower in CHECKSUM_HEADERS or lower.startswith("x-amz-checksum-"):
            return True
    return False


def require_integrity(headers: HeaderMap) -> None:
    """S3 wants Content-MD5 or a checksum on a PUT that writes a retained version."""
    if not has_integrity_header(headers):
        raise S3Error("InvalidRequest", NEEDS_DIGEST)


# -- decisions ---------------------------------------------------------------------------


def bypass_requested(headers: HeaderMap) -> bool:
    return (headers.get(BYPASS_HEADER) or "").strip().lower() == "true"


def check_removal(lock: Lock, now: datetime, *, bypass: bool) -> None:
    """May a version with ``lock`` be removed permanently now? AccessDenied if not.

    ``bypass``: the request carries x-amz-bypass-governance-retention AND its identity
    may bypass (the caller decides who may)."""
    if lock.legal_hold:
        raise S3Error("AccessDenied", "Object is under a legal hold and cannot be deleted.")
    if not lock.retained(now):
        return
    if lock.mode == COMPLIANCE or not bypass:
        raise S3Error("AccessDenied", "Object is WORM protected and cannot be overwritten.")


def check_retention_change(current: Lock, wanted: Lock, now: datetime, *, bypass: bool) -> None:
    """May a version's retention become ``wanted``? COMPLIANCE is never shortened nor
    relaxed; GOVERNANCE may be extended by anyone allowed to set retention, shortened,
    removed or changed in mode only with a bypass."""
    if wanted.mode is not None and wanted.until is not None and wanted.until <= now:
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")
    if not current.retained(now):
        return
    assert current.until is not None
    extends = (
        wanted.mode == current.mode and wanted.until is not None and wanted.until >= current.until
    )
    if extends:
        return
    if current.mode == GOVERNANCE and bypass:
        return
    raise S3Error(
        "AccessDenied",
        "Object is WORM protected and cannot be overwritten."
        if current.mode == COMPLIANCE
        else "Bypassing governance retention is needed to shorten or change it.",
    )


def lock_of(info: ObjectInfo) -> Lock:
    """A version's lock, from the attributes the store keeps with it."""
    a = info.attributes
    return Lock(a.lock_mode, a.lock_until, a.legal_hold)
