"""Raw HTTP against the server, signed with botocore's SigV4 so that the checks keep
working once the server verifies signatures. Use where boto3 hides what S3 answers."""

from __future__ import annotations

import base64
import hashlib
import http.client
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .servers import RunningServer

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class _Signer(S3SigV4Auth):
    """S3SigV4Auth that can leave the payload unsigned (streaming bodies)."""

    def __init__(self, credentials: Credentials, region: str, *, sign_payload: bool) -> None:
        super().__init__(credentials, "s3", region)
        self._sign_payload = sign_payload

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return self._sign_payload


def sign_headers(
    server: RunningServer,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> dict[str, str]:
    """The headers (given + Authorization, X-Amz-Date, X-Amz-Content-SHA256) for a request.

    ``url`` is the full URL including the query string. A ``Host`` header in ``headers`` is
    signed as given (virtual-host tests send it to 127.0.0.1). With ``body=None`` the payload
    is UNSIGNED-PAYLOAD (for streamed bodies).
    """
    creds = Credentials(server.access_key, server.secret_key)
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body or b"")
    _Signer(creds, server.region, sign_payload=body is not None).add_auth(request)
    return {k: v for k, v in request.headers.items()}


def query_url(server: RunningServer, path: str, params: Mapping[str, str] | None = None) -> str:
    url = server.endpoint + path
    if params:
        url += "?" + urlencode(params, quote_via=quote, safe="-_.~")
    return url


def request(
    server: RunningServer,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> requests.Response:
    """A signed request to ``path`` (already percent-encoded) with ``params``."""
    url = query_url(server, path, params)
    signed = sign_headers(server, method, url, headers=headers, body=body)
    return requests.request(method, url, headers=signed, data=body, timeout=30)


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def send_streamed(
    server: RunningServer,
    method: str,
    path: str,
    chunks: Iterable[bytes] | None,
    *,
    headers: Mapping[str, str] | None = None,
    host: str | None = None,
) -> RawResponse:
    """Send a request with http.client: ``chunks`` go out as ``Transfer-Encoding: chunked``;
    with ``chunks=None`` the request has no body and neither Content-Length nor
    Transfer-Encoding."""
    url = server.endpoint + path
    hdrs = dict(headers or {})
    if host is not None:
        hdrs["Host"] = host
    if chunks is not None:
        hdrs["Transfer-Encoding"] = "chunked"
    signed = sign_headers(server, method, url, headers=hdrs, body=None)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(method, target, skip_host="Host" in signed, skip_accept_encoding=True)
        for name, value in signed.items():
            conn.putheader(name, value)
        if chunks is None:
            conn.endheaders()
        else:
            conn.endheaders(message_body=iter(chunks), encode_chunked=True)
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def xml_root(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def strip_ns(tag: str) -> str:
    return tag.split("}", 1)[-1]


def find_text(elem: ET.Element, name: str) -> str | None:
    """Text of the first child (at any depth) named ``name``, with or without the S3 namespace."""
    for child in elem.iter():
        if strip_ns(child.tag) == name:
            return child.text or ""
    return None


def find_all_text(elem: ET.Element, path: Iterable[str]) -> list[str]:
    """Texts of elements along a namespace-agnostic child path, e.g. ("Contents", "Key")."""
    nodes = [elem]
    for name in path:
        nodes = [c for n in nodes for c in n if strip_ns(c.tag) == name]
    return [n.text or "" for n in nodes]


def error_fields(resp: requests.Response | RawResponse) -> dict[str, Any]:
    """Code, Message, Resource, RequestId of an S3 error document (root must be <Error>)."""
    body = resp.content if isinstance(resp, requests.Response) else resp.body
    root = xml_root(body)
    assert strip_ns(root.tag) == "Error", body[:500]
    return {strip_ns(c.tag): (c.text or "") for c in root}
