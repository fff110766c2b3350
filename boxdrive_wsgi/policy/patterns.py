"""Wildcard patterns of the policy language: ``*`` (any run) and ``?`` (one character).

Compiled once, when a policy is parsed; matching is one regular-expression call.
Policy variables (``${aws:username}``, ``${*}``, ...) are resolved at evaluation,
for the few patterns that carry one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
#: ${*}, ${?}, ${$}: the literal character (AWS's escapes for wildcards).
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@lru_cache(maxsize=4096)
def glob_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def substitute(text: str, values: Mapping[str, Sequence[str]], *, glob: bool) -> str | None:
    """``text`` with its ${...} variables replaced; None when one has no value (the
    pattern then matches nothing). In a wildcard pattern (``glob``) every substituted
    character is literal, marked by a preceding ``\\x00``, ``${*}`` included."""

    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _ESCAPES:
            return "\x00" + name if glob else name
        found = values.get(name.lower())
        if not found:
            missing = True
            return ""
        return "".join("\x00" + c for c in found[0]) if glob else found[0]

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


@dataclass(frozen=True)
class Pattern:
    """One Action/Resource/Like pattern: matches a string (wildcards, variables)."""

    text: str
    regex: re.Pattern[str] | None
    ignore_case: bool = False
    literal: str | None = None

    @classmethod
    def compile(cls, text: str, *, ignore_case: bool = False) -> Pattern:
        if "${" in text:
            return cls(text, None, ignore_case)
        if "*" not in text and "?" not in text:
            return cls(text, None, ignore_case, text.lower() if ignore_case else text)
        return cls(text, glob_regex(text, ignore_case=ignore_case), ignore_case)

    def matches(self, value: str, variables: Mapping[str, Sequence[str]] | None = None) -> bool:
        if self.literal is not None:
            return (value.lower() if self.ignore_case else value) == self.literal
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        resolved = substitute(self.text, variables or {}, glob=True)
        if resolved is None:
            return False
        return _variable_regex(resolved, self.ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _variable_regex(resolved: str, ignore_case: bool) -> re.Pattern[str]:
    parts: list[str] = []
    escaped = False
    for c in resolved:
        if c == "\x00":
            escaped = True
            continue
        if escaped:
            parts.append(re.escape(c))
            escaped = False
        else:
            parts.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))
