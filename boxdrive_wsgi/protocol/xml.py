"""S3 XML: render responses, parse requests with defusedxml.

Rendering takes nested ``(tag, value)`` data so operations describe documents
declaratively, and writes the bytes ElementTree would (its escaping, its empty
elements) straight into a string. Parsing streams (``iterparse``) against a ``Document``: the root
it must have, which elements each element may contain, how deep and how many;
a request breaking any of these stops at the first offending element, so a
deeply nested or oversized body costs little. DTDs and entities are refused;
every failure is MalformedXML.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Union

import defusedxml.ElementTree as SafeET

from .errors import S3Error

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


class Fragment(str):
    """An element's content already rendered (by ``fragment`` or with ``escape``),
    written as it is: for the thousand entries of a listing page."""


#: A value is text, a number, a datetime, a bool, None (omitted), a Fragment, or children.
Value = Union[str, int, bool, datetime, None, Fragment, "Children"]
Children = Iterable[tuple[str, Value]]


def iso8601(moment: datetime) -> str:
    """S3's timestamp form in XML: 2006-02-03T16:45:09.000Z."""
    return (  # as strftime("%Y-%m-%dT%H:%M:%S.") spells it (the year unpadded), but faster
        f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def escape(text: str) -> str:
    """Element text as ElementTree escapes it: ``&``, ``<`` and ``>`` only."""
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _fill(out: list[str], children: Children) -> None:
    """Append the elements of ``children`` to ``out``, spelled as ElementTree spells
    them (``<Tag />`` when empty), a few times faster than building the tree: a
    1000-key listing is 7000 elements."""
    append = out.append
    for tag, value in children:
        if value is None:
            continue
        if value.__class__ is str:
            text = escape(value)
        elif value.__class__ is Fragment:
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int):
            text = escape(str(value))
        elif isinstance(value, datetime):
            text = iso8601(value)
        else:
            start = len(out)
            append(f"<{tag}>")
            _fill(out, value)
            if len(out) == start + 1:  # no child was written
                out[start] = f"<{tag} />"
            else:
                append(f"</{tag}>")
            continue
        append(f"<{tag}>{text}</{tag}>" if text else f"<{tag} />")


def fragment(children: Children) -> Fragment:
    """``children`` rendered, to be the content of elements (see Fragment)."""
    out: list[str] = []
    _fill(out, children)
    return Fragment("".join(out))


def _document(root: str, attributes: str, body: list[str]) -> bytes:
    inner = "".join(body)
    text = f"<{root}{attributes}>{inner}</{root}>" if inner else f"<{root}{attributes} />"
    # ElementTree's writer: characters UTF-8 cannot carry (lone surrogates) as &#N;
    return _DECLARATION + text.encode("utf-8", "xmlcharrefreplace")


_XMLNS = f' xmlns="{NAMESPACE}"'


def render(root: str, children: Children, *, namespace: bool = True) -> bytes:
    body: list[str] = []
    _fill(body, children)
    return _document(root, _XMLNS if namespace else "", body)


def render_text(root: str, text: str) -> bytes:
    """A document whose root element holds only text (GetBucketLocation)."""
    return _document(root, _XMLNS, [escape(text)] if text else [])


def render_error(error: S3Error, request_id: str) -> bytes:
    children: list[tuple[str, Value]] = [("Code", error.code), ("Message", error.message)]
    children.extend(error.extra.items())
    if error.resource is not None:
        children.append(("Resource", error.resource))
    children.append(("RequestId", request_id))
    return render("Error", children, namespace=False)


#: No S3 request document nests deeper than 5 (an ACL's Grantee ID); 8 leaves room.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Document:
    """What one kind of request document may be: its root element, the elements
    each element may contain (one not listed contains none), and its limits
    (bytes on the wire, element count, depth)."""

    root: str
    children: Mapping[str, frozenset[str]]
    max_bytes: int
    max_elements: int
    max_depth: int = MAX_DEPTH


def parse(body: bytes, document: Document) -> ET.Element:
    """Parse a request document; namespaces are stripped from tags."""
    if not body.strip():
        raise S3Error("MalformedXML")
    if len(body) > document.max_bytes:
        raise S3Error("MaxMessageLengthExceeded")
    open_tags: list[str] = []
    count = 0
    root: ET.Element | None = None
    try:
        events = SafeET.iterparse(io.BytesIO(body), ("start", "end"), forbid_dtd=True)
        for event, element in events:
            if event == "end":
                open_tags.pop()
                continue
            count += 1
            tag = element.tag = _local(element.tag)
            if open_tags:
                allowed = tag in document.children.get(open_tags[-1], ())
            else:
                allowed = root is None and tag == document.root
            open_tags.append(tag)
            too_big = len(open_tags) > document.max_depth or count > document.max_elements
            if not allowed or too_big:
                raise S3Error("MalformedXML")
            root = root if root is not None else element
    except S3Error:
        raise
    except Exception as exc:  # ParseError and defusedxml's forbidden-construct errors
        raise S3Error("MalformedXML") from exc
    if root is None:
        raise S3Error("MalformedXML")
    return root


def _local(tag: object) -> str:
    text = str(tag)
    return text.split("}", 1)[1] if text.startswith("{") else text


def child_text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None else (found.text or "")


def child_integer(element: ET.Element, tag: str) -> int | None:
    """An element's integer text (None: absent); MalformedXML if it is not an integer."""
    text = child_text(element, tag)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise S3Error("MalformedXML") from None


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp (``2030-01-01T00:00:00Z``, fractions and offsets allowed;
    none means UTC), as UTC. ValueError if it is not one."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def owner(owner_id: str, display_name: str) -> Children:
    return [("ID", owner_id), ("DisplayName", display_name)]
