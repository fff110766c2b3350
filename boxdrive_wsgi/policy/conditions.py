"""Condition operators of the policy language, as S3 bucket policies use them.

``{"StringLike": {"s3:prefix": ["home/", "home/${aws:username}/*"]}}``: within one
operator every key must hold (AND), a key holds when the request's value matches any
of the policy's values (OR). ``...IfExists`` holds when the key is absent; a negated
operator (``StringNotEquals``, ``NotIpAddress``, ...) holds when the key is absent or
matches none of the values. ``ForAnyValue:`` / ``ForAllValues:`` compare each of a
multi-valued key's values (``ForAllValues`` holds for an absent key). ``Null`` tests
presence. Values are validated when the policy is parsed: a bad number, date or
address is a MalformedPolicy, never a failure at request time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .patterns import Pattern, substitute

#: the request's condition keys: lower-cased key -> its values (absent: not in it).
Context = Mapping[str, Sequence[str]]


class PolicyError(ValueError):
    """The policy document is not valid (S3 answers MalformedPolicy with the message)."""


def normalize_key(key: str) -> str:
    """Condition keys compare case-insensitively, except the tag key after the ``/``
    of ``s3:ExistingObjectTag/<key>`` (and the like), which is a tag's own name."""
    prefix, slash, rest = key.partition("/")
    return prefix.lower() + slash + rest


def parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PolicyError(f"{text!r} is not a number") from None


def parse_date(text: str) -> float:
    """An ISO 8601 date or date-time (UTC unless it says otherwise), or epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise PolicyError(f"{text!r} is not a date (ISO 8601 or epoch seconds)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise PolicyError(f"{text!r} is not an IP address or CIDR range") from None


#: Builds, from the policy's values, a test of one request value.
Compiler = Callable[[tuple[str, ...]], Callable[[str, Context], bool]]


def _strings(*, ignore_case: bool) -> Compiler:
    def compile_(values: tuple[str, ...]) -> Callable[[str, Context], bool]:
        fixed = [v for v in values if "${" not in v]
        literal = frozenset(v.lower() if ignore_case else v for v in fixed)
        variable = [v for v in values if "${" in v]

        def test(value: str, context: Context) -> bool:
            probe = value.lower() if ignore_case else value
            if probe in literal:
                return True
            for template in variable:
                resolved = substitute(template, context, glob=False)
                if resolved is not None and (
                    (resolved.lower() if ignore_case else resolved) == probe
                ):
                    return True
            return False

        return test

    return compile_


def _likes(values: tuple[str, ...]) -> Callable[[str, Context], bool]:
    patterns = [Pattern.compile(v) for v in values]
    return lambda value, context: any(p.matches(value, context) for p in patterns)


def _ordered(parse: Callable[[str], float], compare: Callable[[float, float], bool]) -> Compiler:
    def compile_(values: tuple[str, ...]) -> Callable[[str, Context], bool]:
        limits = [parse(v) for v in values]

        def test(value: str, context: Context) -> bool:
            try:
                number = parse(value)
            except PolicyError:
                return False
            return any(compare(number, limit) for limit in limits)

        return test

    return compile_


def _bools(values: tuple[str, ...]) -> Callable[[str, Context], bool]:
    for v in values:
        if v.lower() not in ("true", "false"):
            raise PolicyError(f"Bool condition value {v!r} is neither true nor false")
    wanted = frozenset(v.lower() for v in values)
    return lambda value, context: value.lower() in wanted


@lru_cache(maxsize=1024)
def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _addresses(values: tuple[str, ...]) -> Callable[[str, Context], bool]:
    networks = [_parse_network(v) for v in values]

    def test(value: str, context: Context) -> bool:
        address = _address(value)
        return address is not None and any(address in network for network in networks)

    return test


_EQ: Callable[[float, float], bool] = lambda a, b: a == b  # noqa: E731

#: operator name -> (compiler, negated)
OPERATORS: dict[str, tuple[Compiler, bool]] = {
    "StringEquals": (_strings(ignore_case=False), False),
    "StringNotEquals": (_strings(ignore_case=False), True),
    "StringEqualsIgnoreCase": (_strings(ignore_case=True), False),
    "StringNotEqualsIgnoreCase": (_strings(ignore_case=True), True),
    "StringLike": (_likes, False),
    "StringNotLike": (_likes, True),
    "NumericEquals": (_ordered(parse_number, _EQ), False),
    "NumericNotEquals": (_ordered(parse_number, _EQ), True),
    "NumericLessThan": (_ordered(parse_number, lambda a, b: a < b), False),
    "NumericLessThanEquals": (_ordered(parse_number, lambda a, b: a <= b), False),
    "NumericGreaterThan": (_ordered(parse_number, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_ordered(parse_number, lambda a, b: a >= b), False),
    "DateEquals": (_ordered(parse_date, _EQ), False),
    "DateNotEquals": (_ordered(parse_date, _EQ), True),
    "DateLessThan": (_ordered(parse_date, lambda a, b: a < b), False),
    "DateLessThanEquals": (_ordered(parse_date, lambda a, b: a <= b), False),
    "DateGreaterThan": (_ordered(parse_date, lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_ordered(parse_date, lambda a, b: a >= b), False),
    "Bool": (_bools, False),
    "BinaryEquals": (_strings(ignore_case=False), False),
    "IpAddress": (_addresses, False),
    "NotIpAddress": (_addresses, True),
    "ArnEquals": (_likes, False),
    "ArnLike": (_likes, False),
    "ArnNotEquals": (_likes, True),
    "ArnNotLike": (_likes, True),
}


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry, compiled."""

    operator: str
    key: str
    values: tuple[str, ...]
    test: Callable[[str, Context], bool]
    negated: bool = False
    if_exists: bool = False
    #: None, "any" (ForAnyValue:) or "all" (ForAllValues:)
    qualifier: str | None = None
    #: Null: True means "the key must be absent"
    null: bool | None = None

    def holds(self, context: Context) -> bool:
        found = context.get(self.key)
        if self.null is not None:
            return (not found) == self.null
        if self.qualifier == "all":
            return not found or all(self._one(v, context) for v in found)
        if found is None or (self.qualifier == "any" and not found):
            return self.if_exists or (self.negated and self.qualifier is None)
        if self.qualifier == "any":
            return any(self._one(v, context) for v in found)
        matched = any(self.test(v, context) for v in found)
        return matched != self.negated

    def _one(self, value: str, context: Context) -> bool:
        return self.test(value, context) != self.negated


def _value_text(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise PolicyError(f"{where}: condition values must be strings, numbers or booleans")


def parse_conditions(block: object) -> tuple[Condition, ...]:
    """A statement's ``Condition`` block, validated and compiled."""
    if not isinstance(block, dict):
        raise PolicyError("Condition must be an object of operators")
    conditions: list[Condition] = []
    for name, keys in block.items():
        qualifier: str | None = None
        operator = name
        if ":" in operator:
            prefix, _, operator = operator.partition(":")
            if prefix not in ("ForAnyValue", "ForAllValues"):
                raise PolicyError(f"Invalid condition qualifier {prefix!r} in {name!r}")
            qualifier = "any" if prefix == "ForAnyValue" else "all"
        if_exists = operator.endswith("IfExists")
        if if_exists:
            operator = operator[: -len("IfExists")]
        if not isinstance(keys, dict) or not keys:
            raise PolicyError(f"Condition {name!r} must map condition keys to values")
        for key, raw in keys.items():
            if not isinstance(key, str) or not key:
                raise PolicyError(f"Condition {name!r} has an empty key")
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise PolicyError(f"Condition {name!r} {key!r} has no values")
            values = tuple(_value_text(v, f"{name} {key}") for v in items)
            normalized = normalize_key(key)
            if operator == "Null":
                if if_exists:
                    raise PolicyError("NullIfExists is not a condition operator")
                null = frozenset(v.lower() for v in values)
                if not null <= {"true", "false"} or len(null) != 1:
                    raise PolicyError(f"Null condition on {key!r} must be true or false")
                conditions.append(Condition(name, normalized, values, _never, null="true" in null))
                continue
            entry = OPERATORS.get(operator)
            if entry is None:
                raise PolicyError(f"Invalid condition operator {name!r}")
            compiler, negated = entry
            try:
                test = compiler(values)
            except PolicyError as error:
                raise PolicyError(f"Condition {name!r} on {key!r}: {error}") from None
            conditions.append(
                Condition(name, normalized, values, test, negated, if_exists, qualifier)
            )
    return tuple(conditions)


def _never(value: str, context: Context) -> bool:
    return False
