"""S3 XML: render responses with ElementTree, parse requests with defusedxml.

Rendering takes nested ``(tag, value)`` data so operations describe documents
declaratively. Parsing streams (``iterparse``) against a ``Document``: the root
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
from datetime import datetime
from typing import Union

import defusedxml.ElementTree as SafeET

from .errors import S3Error

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

#: A value is text, a number, a datetime, a bool, None (omitted), or children.
Value = Union[str, int, bool, datetime, None, "Children"]
Children = Iterable[tuple[str, Value]]


def iso8601(moment: datetime) -> str:
    """S3's timestamp form in XML: 2006-02-03T16:45:09.000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fill(parent: ET.Element, children: Children) -> None:
    for tag, value in children:
        if value is None:
            continue
        child = ET.SubElement(parent, tag)
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif isinstance(value, str | int):
            child.text = str(value)
        elif isinstance(value, datetime):
            child.text = iso8601(value)
        else:
            _fill(child, value)


def render(root: str, children: Children, *, namespace: bool = True) -> bytes:
    element = ET.Element(root, {"xmlns": NAMESPACE} if namespace else {})
    _fill(element, children)
    return _DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


def render_text(root: str, text: str) -> bytes:
    """A document whose root element holds only text (GetBucketLocation)."""
    element = ET.Element(root, {"xmlns": NAMESPACE})
    element.text = text or None
    return _DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


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


def owner(owner_id: str, display_name: str) -> Children:
    return [("ID", owner_id), ("DisplayName", display_name)]
