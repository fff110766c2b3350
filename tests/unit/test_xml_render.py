"""The string-built XML renderer writes exactly the bytes ElementTree wrote before it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from boxdrive_wsgi.operations import listing
from boxdrive_wsgi.protocol import xml
from boxdrive_wsgi.protocol.headers import quote_etag
from boxdrive_wsgi.stores.model import ObjectInfo
from boxdrive_wsgi.web.context import url_quote

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _reference_fill(parent: ET.Element, children: xml.Children) -> None:
    """The renderer as it was: ElementTree, one element per value."""
    for tag, value in children:
        if value is None:
            continue
        child = ET.SubElement(parent, tag)
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif isinstance(value, str | int):
            child.text = str(value)
        elif isinstance(value, datetime):
            child.text = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        else:
            _reference_fill(child, value)


def reference(root: str, children: xml.Children, *, namespace: bool = True) -> bytes:
    element = ET.Element(root, {"xmlns": xml.NAMESPACE} if namespace else {})
    _reference_fill(element, children)
    return DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


tags = st.sampled_from(["Key", "Prefix", "Contents", "Owner", "ID", "Size", "Name"])
# Keys may hold anything S3 accepts, and more: markup, entities, quotes, control
# characters, non-ASCII and (from a decoding with surrogate escapes) lone surrogates.
texts = st.one_of(
    st.just(""),
    st.text(alphabet=st.sampled_from("a&<>\"'\r\n\t ]]>é€😀\x00\x1f\udcff"), max_size=12),
    st.text(max_size=12),
)
moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
leaves = st.one_of(st.none(), st.booleans(), st.integers(), texts, moments)
values = st.recursive(leaves, lambda inner: st.lists(st.tuples(tags, inner), max_size=4))
documents = st.lists(st.tuples(tags, values), max_size=6)


@settings(max_examples=400, deadline=None)
@given(documents, st.booleans())
def test_render_matches_elementtree(children: list[tuple[str, xml.Value]], ns: bool) -> None:
    assert xml.render("ListBucketResult", children, namespace=ns) == reference(
        "ListBucketResult", children, namespace=ns
    )


@given(texts)
def test_render_text_matches_elementtree(text: str) -> None:
    element = ET.Element("LocationConstraint", {"xmlns": xml.NAMESPACE})
    element.text = text or None
    expected = DECLARATION + ET.tostring(element, encoding="utf-8")
    assert xml.render_text("LocationConstraint", text) == expected


def test_empty_elements_and_escapes_are_spelled_as_before() -> None:
    body = xml.render("R", [("Prefix", ""), ("Owner", []), ("Key", "a<b&c>"), ("Gone", None)])
    assert body.endswith(b"<Prefix /><Owner /><Key>a&lt;b&amp;c&gt;</Key></R>")


@given(documents)
def test_a_fragment_renders_as_its_children(children: list[tuple[str, xml.Value]]) -> None:
    assert xml.render("R", [("Contents", xml.fragment(children))]) == xml.render(
        "R", [("Contents", children)]
    )


owners = st.one_of(st.none(), st.tuples(texts, texts).map(lambda o: xml.owner(*o)))


@settings(max_examples=200, deadline=None)
@given(
    key=st.text(min_size=1, max_size=12),
    etag=texts,
    size=st.integers(min_value=0),
    moment=moments,
    owner=owners,
    url=st.booleans(),
)
def test_listing_entries_match_their_declarative_form(
    key: str, etag: str, size: int, moment: datetime, owner: xml.Children | None, url: bool
) -> None:
    info = ObjectInfo("b", key, size, etag, moment)
    encode = url_quote if url else str
    owner_xml = xml.fragment([("Owner", owner)])
    contents: list[tuple[str, xml.Value]] = [
        ("Key", encode(key)),
        ("LastModified", moment),
        ("ETag", quote_etag(etag)),
        ("Size", size),
        ("Owner", owner),
        ("StorageClass", "STANDARD"),
    ]
    version: list[tuple[str, xml.Value]] = [
        contents[0],
        ("VersionId", "null"),
        ("IsLatest", True),
        *contents[1:],
    ]
    assert xml.render("R", [("Contents", listing._content(info, encode, owner_xml))]) == (
        reference("R", [("Contents", contents)])
    )
    assert xml.render("R", [listing._version(info, encode, owner_xml)]) == (
        reference("R", [("Version", version)])
    )


@settings(max_examples=100, deadline=None)
@given(
    key=st.text(min_size=1, max_size=40),
    version_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+/=._-", min_size=1),
    latest=st.booleans(),
    moment=moments,
    owner=owners,
)
def test_version_and_marker_entries_match_their_declarative_form(
    key: str, version_id: str, latest: bool, moment: datetime, owner: xml.Children | None
) -> None:
    owner_xml = xml.fragment([("Owner", owner)])
    kept = ObjectInfo("b", key, 7, "e" * 32, moment, version_id=version_id, is_latest=latest)
    marker = ObjectInfo(
        "b", key, 0, "", moment, version_id=version_id, is_latest=latest, delete_marker=True
    )
    head: list[tuple[str, xml.Value]] = [
        ("Key", key),
        ("VersionId", version_id),
        ("IsLatest", latest),
        ("LastModified", moment),
    ]
    assert xml.render("R", [listing._version(kept, str, owner_xml)]) == reference(
        "R",
        [
            (
                "Version",
                [
                    *head,
                    ("ETag", quote_etag("e" * 32)),
                    ("Size", 7),
                    ("Owner", owner),
                    ("StorageClass", "STANDARD"),
                ],
            )
        ],
    )
    assert xml.render("R", [listing._version(marker, str, owner_xml)]) == reference(
        "R", [("DeleteMarker", [*head, ("Owner", owner)])]
    )
