"""Range requests as S3 treats them: one byte range or none.

A syntactically invalid Range header, or one with several ranges, is ignored
(S3 then answers the whole object with 200); an unsatisfiable one becomes a 416
when the store resolves it against the object's size.
"""

from __future__ import annotations

import re

from werkzeug.http import parse_range_header

from ..stores.base import ByteRange

_ZERO_SUFFIX = re.compile(r"^\s*bytes\s*=\s*-0+\s*$")


def parse_range(header: str | None) -> ByteRange | None:
    if not header:
        return None
    if _ZERO_SUFFIX.match(header):  # "bytes=-0": the last zero bytes, never satisfiable
        return ByteRange(None, 0)
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    start, stop = parsed.ranges[0]
    if start < 0:  # werkzeug writes a suffix range "-N" as (-N, None)
        return ByteRange(None, -start)
    return ByteRange(start, None if stop is None else stop - 1)


def content_range(start: int, stop: int, size: int) -> str:
    return f"bytes {start}-{stop - 1}/{size}"
