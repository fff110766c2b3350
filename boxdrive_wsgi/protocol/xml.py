"""S3 XML: render responses with ElementTree, parse requests with defusedxml.

Rendering takes nested ``(tag, value)`` data so operations describe documents
declaratively; parsing rejects entities and bombs and maps every failure to
MalformedXML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
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


def parse(body: bytes) -> ET.Element:
    """Parse a request document; namespaces are stripped from tags."""
    if not body.strip():
        raise S3Error("MalformedXML")
    try:
        root: ET.Element = SafeET.fromstring(body)
    except Exception as exc:  # ParseError and defusedxml's forbidden-construct errors
        raise S3Error("MalformedXML") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def child_text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None else (found.text or "")


def owner(owner_id: str, display_name: str) -> Children:
    return [("ID", owner_id), ("DisplayName", display_name)]
