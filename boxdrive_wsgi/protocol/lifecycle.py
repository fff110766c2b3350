"""Lifecycle: the LifecycleConfiguration document with S3's validation, how it is
kept in the bucket's ``lifecycle`` configuration slot, and which rule applies to
which object and when.

Pure: the sweeper (boxdrive_wsgi/lifecycle/) applies the rules through the store.
A "day" is a parameter (``day`` seconds) so tests can make it short, as RGW's
``rgw_lc_debug_interval``: with real days, S3 rounds an expiry up to the next
midnight UTC; with a shortened day it is the write time plus ``days * day``.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from werkzeug.http import http_date

from . import xml
from .documents import LIFECYCLE_CONFIGURATION
from .errors import S3Error
from .tagging import MAX_OBJECT_TAGS, validate_tags

MAX_RULES = 1000
MAX_ID_CHARS = 255
DAY_SECONDS = 86400
ENABLED, DISABLED = "Enabled", "Disabled"
TRANSITIONS = "Transitions to other storage classes are not implemented (one storage class)"


@dataclass(frozen=True)
class Filter:
    """A rule's filter; ``in_and`` records whether the client wrapped it in <And>."""

    prefix: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None
    in_and: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    status: str
    #: the rule-level <Prefix> (S3's older form); None when the rule has a <Filter>.
    prefix: str | None = None
    filter: Filter | None = None
    expiration_days: int | None = None
    expiration_date: datetime | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_days: int | None = None

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    @property
    def key_prefix(self) -> str:
        if self.filter is not None:
            return self.filter.prefix or ""
        return self.prefix or ""

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        return self.filter.tags if self.filter is not None else ()

    def matches(self, key: str, size: int | None, tags: Mapping[str, str] | None) -> bool:
        """Does the rule's filter select this object? ``tags``/``size`` None: unknown
        (then a rule that filters on them does not match)."""
        if not key.startswith(self.key_prefix):
            return False
        f = self.filter
        if f is None:
            return True
        if f.size_greater_than is not None and (size is None or size <= f.size_greater_than):
            return False
        if f.size_less_than is not None and (size is None or size >= f.size_less_than):
            return False
        if f.tags:
            if tags is None:
                return False
            return all(tags.get(k) == v for k, v in f.tags)
        return True


@dataclass(frozen=True)
class Configuration:
    rules: tuple[Rule, ...] = field(default_factory=tuple)


# -- parsing -----------------------------------------------------------------------------


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def _integer(element: ET.Element, tag: str, *, minimum: int, what: str) -> int | None:
    value = xml.child_integer(element, tag)
    if value is not None and value < minimum:
        raise _invalid(f"'{what}' for {element.tag} action must be a positive integer")
    return value


def _date(text: str) -> datetime:
    """An Expiration/Transition Date: ISO 8601, at midnight UTC."""
    try:
        moment = xml.parse_timestamp(text)
    except ValueError:
        raise _invalid("Invalid date: expected ISO 8601 format") from None
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise _invalid("'Date' must be at midnight GMT")
    return moment


def _filter(element: ET.Element) -> Filter:
    """A <Filter>. Several conditions side by side (S3 wants them in <And>) are taken
    together, as RGW does: every one must hold."""
    inner = element.find("And")
    in_and = inner is not None
    parts = [element] if inner is None else [element, inner]
    pairs: list[tuple[str, str]] = []
    prefixes: list[str] = []
    for part in parts:
        for tag in part.findall("Tag"):
            key, value = xml.child_text(tag, "Key"), xml.child_text(tag, "Value")
            if key is None or value is None:
                raise S3Error("MalformedXML")
            pairs.append((key, value))
        if len(part.findall("Prefix")) > 1:
            raise S3Error("MalformedXML")
        prefix = xml.child_text(part, "Prefix")
        if prefix is not None:
            prefixes.append(prefix)
    tags = validate_tags(pairs, limit=MAX_OBJECT_TAGS)
    prefix = max(prefixes, key=len) if prefixes else None
    if prefix is not None and not all(prefix.startswith(p) for p in prefixes):
        raise S3Error("MalformedXML")  # two prefixes no key can have both of
    sizes: dict[str, int | None] = {}
    for name, minimum in (("ObjectSizeGreaterThan", 0), ("ObjectSizeLessThan", 1)):
        found = [_integer(part, name, minimum=minimum, what=name) for part in parts]
        given = [value for value in found if value is not None]
        if len(given) > 1:
            raise S3Error("MalformedXML")
        sizes[name] = given[0] if given else None
    gt, lt = sizes["ObjectSizeGreaterThan"], sizes["ObjectSizeLessThan"]
    if gt is not None and lt is not None and gt >= lt:
        raise _invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return Filter(prefix, tuple(tags.items()), gt, lt, in_and)


def _rule(element: ET.Element) -> Rule:
    for tag in ("ID", "Prefix", "Filter", "Status", "Expiration"):
        if len(element.findall(tag)) > 1:
            raise S3Error("MalformedXML")
    rule_id = xml.child_text(element, "ID")
    if rule_id is None or not rule_id:
        rule_id = uuid.uuid4().hex
    if len(rule_id) > MAX_ID_CHARS:
        raise _invalid(f"ID length should not exceed allowed limit of {MAX_ID_CHARS}")
    status = xml.child_text(element, "Status")
    if status not in (ENABLED, DISABLED):
        raise S3Error("MalformedXML")
    prefix = xml.child_text(element, "Prefix")
    filter_element = element.find("Filter")
    if (prefix is None) == (filter_element is None) and prefix is not None:
        raise S3Error("MalformedXML")  # both a rule-level Prefix and a Filter
    rule_filter = _filter(filter_element) if filter_element is not None else None
    if prefix is None and rule_filter is None:
        prefix = ""  # no filter at all: S3 (RGW too) takes it as every object
    expiration = element.find("Expiration")
    days = date = marker = None
    if expiration is not None:
        days = _integer(expiration, "Days", minimum=1, what="Days")
        raw_date = xml.child_text(expiration, "Date")
        date = _date(raw_date) if raw_date is not None else None
        raw_marker = xml.child_text(expiration, "ExpiredObjectDeleteMarker")
        if raw_marker is not None:
            if raw_marker.strip() not in ("true", "false"):
                raise S3Error("MalformedXML")
            marker = raw_marker.strip() == "true"
        if sum(x is not None for x in (days, date, marker)) != 1:
            raise S3Error("MalformedXML")
        if marker is not None and rule_filter is not None and rule_filter.tags:
            raise _invalid("ExpiredObjectDeleteMarker cannot be specified with a Tag filter")
    noncurrent = element.find("NoncurrentVersionExpiration")
    noncurrent_days = newer = None
    if noncurrent is not None:
        noncurrent_days = _integer(noncurrent, "NoncurrentDays", minimum=1, what="NoncurrentDays")
        newer = _integer(
            noncurrent, "NewerNoncurrentVersions", minimum=1, what="NewerNoncurrentVersions"
        )
        if noncurrent_days is None:
            raise S3Error("MalformedXML")
    abort = element.find("AbortIncompleteMultipartUpload")
    abort_days = None
    if abort is not None:
        abort_days = _integer(abort, "DaysAfterInitiation", minimum=1, what="DaysAfterInitiation")
        if abort_days is None:
            raise S3Error("MalformedXML")
        if rule_filter is not None and rule_filter.tags:
            raise _invalid("AbortIncompleteMultipartUpload cannot be specified with Tags")
    transitions = element.findall("Transition") + element.findall("NoncurrentVersionTransition")
    for transition in transitions:
        raw = xml.child_text(transition, "Date")
        if raw is not None:
            _date(raw)
        _integer(transition, "Days", minimum=0, what="Days")
        _integer(transition, "NoncurrentDays", minimum=0, what="NoncurrentDays")
    if transitions:
        raise S3Error("NotImplemented", TRANSITIONS)
    if expiration is None and noncurrent is None and abort is None:
        raise _invalid("At least one action needs to be specified in a rule")
    return Rule(
        rule_id,
        status,
        prefix,
        rule_filter,
        days,
        date,
        marker,
        noncurrent_days,
        newer,
        abort_days,
    )


def parse_configuration(body: bytes) -> Configuration:
    root = xml.parse(body, LIFECYCLE_CONFIGURATION)
    elements = root.findall("Rule")
    if not elements:
        raise S3Error("MalformedXML")
    if len(elements) > MAX_RULES:
        raise _invalid(f"Lifecycle configuration cannot have more than {MAX_RULES} rules")
    rules = tuple(_rule(e) for e in elements)
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise _invalid("Rule ID must be unique. Found same ID for more than one rule")
    return Configuration(rules)


# -- rendering and storing ---------------------------------------------------------------


def _filter_children(f: Filter) -> xml.Children:
    children: list[tuple[str, xml.Value]] = [("Prefix", f.prefix)]
    children += [("Tag", [("Key", k), ("Value", v)]) for k, v in f.tags]
    children += [
        ("ObjectSizeGreaterThan", f.size_greater_than),
        ("ObjectSizeLessThan", f.size_less_than),
    ]
    return [("And", children)] if f.in_and else children


def _date_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_configuration(config: Configuration) -> bytes:
    rules: list[tuple[str, xml.Value]] = []
    for r in config.rules:
        children: list[tuple[str, xml.Value]] = [("ID", r.id)]
        if r.filter is not None:
            children.append(("Filter", _filter_children(r.filter)))
        else:
            children.append(("Prefix", r.prefix or ""))
        children.append(("Status", r.status))
        if r.expiration_days or r.expiration_date or r.expired_object_delete_marker is not None:
            date = None if r.expiration_date is None else _date_text(r.expiration_date)
            children.append(
                (
                    "Expiration",
                    [
                        ("Days", r.expiration_days),
                        ("Date", date),
                        ("ExpiredObjectDeleteMarker", r.expired_object_delete_marker),
                    ],
                )
            )
        if r.noncurrent_days is not None:
            children.append(
                (
                    "NoncurrentVersionExpiration",
                    [
                        ("NoncurrentDays", r.noncurrent_days),
                        ("NewerNoncurrentVersions", r.newer_noncurrent_versions),
                    ],
                )
            )
        if r.abort_days is not None:
            children.append(
                ("AbortIncompleteMultipartUpload", [("DaysAfterInitiation", r.abort_days)])
            )
        rules.append(("Rule", children))
    return xml.render("LifecycleConfiguration", rules)


def dump_configuration(config: Configuration) -> bytes:
    """The rules as kept in the bucket's ``lifecycle`` configuration slot (JSON)."""
    docs = []
    for rule in config.rules:
        doc = asdict(rule)
        if rule.expiration_date is not None:
            doc["expiration_date"] = rule.expiration_date.isoformat()
        docs.append(doc)
    return json.dumps({"rules": docs}).encode()


def load_configuration(stored: bytes) -> Configuration:
    rules = []
    for doc in json.loads(stored)["rules"]:
        f = doc.pop("filter")
        if f is not None:
            f["tags"] = tuple(tuple(pair) for pair in f["tags"])
            doc["filter"] = Filter(**f)
        else:
            doc["filter"] = None
        if doc["expiration_date"] is not None:
            doc["expiration_date"] = datetime.fromisoformat(doc["expiration_date"])
        rules.append(Rule(**doc))
    return Configuration(tuple(rules))


# -- when ----------------------------------------------------------------------------------


def after_days(start: datetime, days: int, day: float = DAY_SECONDS) -> datetime:
    """When ``days`` days after ``start`` have passed: S3 rounds up to the next
    midnight UTC; a shortened day (tests) counts plain seconds."""
    if day != DAY_SECONDS:
        return start + timedelta(seconds=days * day)
    moment = start.astimezone(UTC) + timedelta(days=days)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def current_expiry(rule: Rule, last_modified: datetime, day: float) -> datetime | None:
    """When a current version ``rule`` selects expires (None: the rule does not expire it)."""
    if not rule.enabled:
        return None
    if rule.expiration_date is not None:
        return rule.expiration_date
    if rule.expiration_days is not None:
        return after_days(last_modified, rule.expiration_days, day)
    return None


def earliest_expiry(
    rules: Sequence[Rule],
    key: str,
    size: int,
    tags: Mapping[str, str],
    last_modified: datetime,
    day: float,
) -> tuple[datetime, str] | None:
    """The first expiry of a current object and the rule's id (x-amz-expiration)."""
    found: tuple[datetime, str] | None = None
    for rule in rules:
        if not rule.matches(key, size, tags):
            continue
        when = current_expiry(rule, last_modified, day)
        if when is not None and (found is None or when < found[0]):
            found = (when, rule.id)
    return found


def expiration_header(
    rules: Sequence[Rule], key: str, size: int, tags: Mapping[str, str], last_modified: datetime
) -> str | None:
    """S3's x-amz-expiration for a current object: when the first rule expires it, in
    real days (the shortened day of tests speeds up the sweeper, not this promise)."""
    found = earliest_expiry(rules, key, size, tags, last_modified, DAY_SECONDS)
    if found is None:
        return None
    when, rule_id = found
    return f'expiry-date="{http_date(when)}", rule-id="{rule_id}"'
