"""The one integer parser for numbers a request carries (query parameters, headers).

``int()`` alone is the wrong tool: it takes ``" 1"``, ``"1_0"``, ``"+1"``,
non-ASCII digits (``"²"`` passes ``isdigit()`` but not ``int()``, ``"٣"`` passes
both) and raises on 5,000-digit strings; and a value past 2**63 overflows SQLite
later. Here a number is ASCII digits only, short enough to be cheap, and within
explicit bounds; anything else is S3's InvalidArgument naming the argument.
"""

from __future__ import annotations

from .errors import S3Error

#: The largest value S3 keeps in a signed 64-bit field (and SQLite can store).
INT64_MAX = 2**63 - 1
#: S3's "integer range" for list limits and markers (a Java int).
INT32_MAX = 2**31 - 1
#: Longer than any bound here: rejected before conversion costs anything.
MAX_DIGITS = 19
#: S3's part numbers: 1 to 10,000.
MAX_PART_NUMBER = 10_000
PART_NUMBER_MESSAGE = f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"


def is_plain_digits(text: str) -> bool:
    """ASCII digits, at least one, nothing else (no sign, space or underscore)."""
    return 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()


def parse_bounded(text: str, minimum: int, maximum: int) -> int | None:
    """``text`` as an int in ``[minimum, maximum]``, or None if it is not one."""
    if not is_plain_digits(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_integer(
    text: str,
    name: str,
    *,
    minimum: int = 0,
    maximum: int = INT32_MAX,
    message: str | None = None,
    code: str = "InvalidArgument",
) -> int:
    """A request's integer argument ``name``, or S3's error for it.

    The default message is S3's for list parameters ("Provided max-keys not an
    integer or within integer range"); the error names the argument and value.
    """
    value = parse_bounded(text, minimum, maximum)
    if value is None:
        raise S3Error(
            code,
            message or f"Provided {name} not an integer or within integer range",
            extra={"ArgumentName": name, "ArgumentValue": text},
        )
    return value


def optional_integer(
    text: str | None,
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int = INT32_MAX,
    message: str | None = None,
) -> int:
    """Like ``parse_integer``; an absent value is ``default``."""
    if text is None:
        return default
    return parse_integer(text, name, minimum=minimum, maximum=maximum, message=message)


def parse_part_number(text: str | None) -> int:
    """The ``partNumber`` query parameter (UploadPart, GetObject, HeadObject)."""
    return parse_integer(
        text or "", "partNumber", minimum=1, maximum=MAX_PART_NUMBER, message=PART_NUMBER_MESSAGE
    )
