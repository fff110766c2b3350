"""Tags: the Tagging XML document, the x-amz-tagging header, and S3's tag rules."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from . import xml
from .documents import TAGGING
from .errors import S3Error

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
#: Besides letters, numbers and white space, S3 allows these in tag keys and values.
_PUNCTUATION = frozenset("+-=._:/@")


def _allowed(text: str) -> bool:
    return all(c in _PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


def validate_tags(pairs: Iterable[tuple[str, str]], *, limit: int) -> dict[str, str]:
    """Check tags the way S3 does; return them as an ordered dict. Raises InvalidTag."""
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        if not key or not _allowed(key):
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
        if len(key) > MAX_KEY_CHARS:
            raise S3Error(
                "InvalidTag", f"The TagKey you have provided is too long, max {MAX_KEY_CHARS}"
            )
        if len(value) > MAX_VALUE_CHARS:
            raise S3Error(
                "InvalidTag", f"The TagValue you have provided is too long, max {MAX_VALUE_CHARS}"
            )
        if not _allowed(value):
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise S3Error("InvalidTag", "System tags cannot be added/updated by requester")
        tags[key] = value
    if len(tags) > limit:
        what = "Object tags" if limit == MAX_OBJECT_TAGS else "Bucket tag count"
        raise S3Error("InvalidTag", f"{what} cannot be greater than {limit}")
    return tags


def parse_tagging_xml(body: bytes, *, limit: int) -> dict[str, str]:
    """``<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>``."""
    root = xml.parse(body, TAGGING)
    tag_set = root.find("TagSet")
    if root.tag != "Tagging" or tag_set is None:
        raise S3Error("MalformedXML")
    pairs: list[tuple[str, str]] = []
    for tag in tag_set:
        if tag.tag != "Tag":
            raise S3Error("MalformedXML")
        key = xml.child_text(tag, "Key")
        value = xml.child_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key, value))
    return validate_tags(pairs, limit=limit)


def render_tagging(tags: Mapping[str, str]) -> bytes:
    return xml.render(
        "Tagging",
        [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags.items()])],
    )


def parse_tagging_header(value: str | None) -> dict[str, str]:
    """The x-amz-tagging header: URL-query encoded ``k1=v1&k2=v2``."""
    if value is None:
        return {}
    # WSGI hands header values as latin-1; a client may have sent raw UTF-8.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    if not value.strip():
        return {}
    return validate_tags(parse_qsl(value, keep_blank_values=True), limit=MAX_OBJECT_TAGS)
