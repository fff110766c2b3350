"""CORS: the CORSConfiguration document, and how S3 matches requests against its rules.

Pure functions: parse/validate the document, serialize rules for the store's
configuration slot, find the rule a preflight or an actual request matches, and
the Access-Control-* headers that rule answers with.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from . import xml
from .documents import CORS_CONFIGURATION
from .errors import S3Error
from .numbers import INT32_MAX, parse_bounded

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100
#: What S3 sends on every answer from a bucket with a CORS configuration.
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Request-"
    "Headers are not whitelisted by the resource's CORS spec."
)


@dataclass(frozen=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None

    def origin_matches(self, origin: str) -> bool:
        return any(_wildcard(p).fullmatch(origin) for p in self.allowed_origins)

    def headers_match(self, names: Iterable[str]) -> bool:
        patterns = [_wildcard(h.lower()) for h in self.allowed_headers]
        return all(any(p.fullmatch(n.lower()) for p in patterns) for n in names)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """S3 patterns know one wildcard, ``*``, matching any run of characters."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _texts(element: ET.Element, tag: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in element.findall(tag))


def parse_cors_xml(body: bytes) -> list[CorsRule]:
    """Validate a PutBucketCors document as S3 does."""
    root = xml.parse(body, CORS_CONFIGURATION)
    if root.tag != "CORSConfiguration":
        raise S3Error("MalformedXML")
    rules: list[CorsRule] = []
    for element in root:
        if element.tag != "CORSRule":
            raise S3Error("MalformedXML")
        origins, methods = _texts(element, "AllowedOrigin"), _texts(element, "AllowedMethod")
        if not origins or not methods:
            raise S3Error("MalformedXML")
        for method in methods:
            if method not in METHODS:
                raise S3Error(
                    "InvalidRequest",
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
                )
        for origin in origins:
            if origin.count("*") > 1:
                raise S3Error(
                    "InvalidRequest",
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.',
                )
        headers = _texts(element, "AllowedHeader")
        for header in headers:
            if header.count("*") > 1:
                raise S3Error(
                    "InvalidRequest",
                    f'AllowedHeader "{header}" can not have more than one wildcard.',
                )
        max_age_text = xml.child_text(element, "MaxAgeSeconds")
        max_age = None
        if max_age_text is not None:
            max_age = parse_bounded(max_age_text.strip(), 0, INT32_MAX)
            if max_age is None:
                raise S3Error("MalformedXML")
        rule_id = xml.child_text(element, "ID")
        rules.append(
            CorsRule(origins, methods, headers, _texts(element, "ExposeHeader"), max_age, rule_id)
        )
    if not rules:
        raise S3Error("MalformedXML")
    if len(rules) > MAX_RULES:
        raise S3Error(
            "InvalidRequest",
            f"The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules.",
        )
    return rules


def render_cors(rules: Sequence[CorsRule]) -> bytes:
    def rule(r: CorsRule) -> xml.Children:
        children: list[tuple[str, xml.Value]] = [("ID", r.id)]
        children += [("AllowedHeader", h) for h in r.allowed_headers]
        children += [("AllowedMethod", m) for m in r.allowed_methods]
        children += [("AllowedOrigin", o) for o in r.allowed_origins]
        children += [("ExposeHeader", h) for h in r.expose_headers]
        children.append(("MaxAgeSeconds", r.max_age))
        return children

    return xml.render("CORSConfiguration", [("CORSRule", rule(r)) for r in rules])


def dump_rules(rules: Sequence[CorsRule]) -> bytes:
    """Rules as stored in the bucket's ``cors`` configuration slot."""
    return json.dumps([asdict(r) for r in rules]).encode()


def load_rules(stored: bytes) -> list[CorsRule]:
    rules = []
    for doc in json.loads(stored):
        rules.append(
            CorsRule(
                tuple(doc["allowed_origins"]),
                tuple(doc["allowed_methods"]),
                tuple(doc.get("allowed_headers", ())),
                tuple(doc.get("expose_headers", ())),
                doc.get("max_age"),
                doc.get("id"),
            )
        )
    return rules


def split_header_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def match(
    rules: Sequence[CorsRule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> CorsRule | None:
    """The first rule allowing ``origin``, ``method`` and every requested header."""
    for rule in rules:
        if (
            method in rule.allowed_methods
            and rule.origin_matches(origin)
            and rule.headers_match(request_headers)
        ):
            return rule
    return None


def allow_headers(
    rule: CorsRule, origin: str, request_headers: Sequence[str] = (), *, preflight: bool
) -> dict[str, str]:
    """The Access-Control-* headers answering ``origin`` under ``rule``."""
    wildcard = "*" in rule.allowed_origins
    headers = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule.allowed_methods),
        "Vary": VARY,
    }
    if not wildcard:
        headers["Access-Control-Allow-Credentials"] = "true"
    if preflight and request_headers:
        headers["Access-Control-Allow-Headers"] = ", ".join(h.lower() for h in request_headers)
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age)
    return headers
