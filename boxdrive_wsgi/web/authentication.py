"""Who is asking: a site's hook, else the request's SigV4 or SigV2 signature.

An unsigned request acts as ANONYMOUS; what it may do is decided in ``web.access``,
as for any identity. The signature checks themselves are pure (``auth/``); this
module reads them off the Flask request: the path as the client sent it, the
headers, the query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Request

from ..auth import sigv2, sigv4
from ..auth.chunked import ChunkSigner
from ..auth.credentials import Credentials
from ..auth.identity import ANONYMOUS, Identity
from ..protocol.errors import S3Error

#: A site's own authentication: map a request (e.g. its session) to an identity,
#: or return None to fall back to S3 signatures.
Authenticator = Callable[[Request], Identity | None]


@dataclass
class Authentication:
    credentials: Credentials
    region: str
    hook: Authenticator | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def authenticate(
        self, request: Request, virtual_bucket: str | None = None
    ) -> tuple[Identity, ChunkSigner | None]:
        """The identity a request acts as, and the signer for its aws-chunked body.

        ``virtual_bucket`` is the bucket named by the Host header, if any.
        """
        if self.hook is not None:
            identity = self.hook(request)
            if identity is not None:
                return identity, None
        path = wire_path(request.environ, request.script_root + request.path)
        query = request.environ.get("QUERY_STRING", "")
        headers = lower_headers(request.environ)
        if sigv2.is_v2(headers, request.args):
            # botocore signs SigV2 resources without the endpoint's path (a mount
            # prefix such as /s3); accept that form as well as the full path.
            claims = [
                sigv2.parse_v2(
                    request.method,
                    f"/{virtual_bucket}{resource}" if virtual_bucket else resource,
                    query,
                    headers,
                )
                for resource in dict.fromkeys((path, _unprefixed(path, request)))
            ]
            signed = tuple(s for claim in claims for s in claim.strings_to_sign)
            return self._verified_user_v2(replace(claims[0], strings_to_sign=signed))
        claim = sigv4.parse_request_auth(request.method, path, query, headers)
        if claim is None:
            # Anonymous: authorization decides (public grants, or an open server).
            return ANONYMOUS, None
        user = self.credentials.lookup(claim.access_key)
        if user is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": claim.access_key})
        sigv4.verify(claim, user.secret_key, self.clock(), region=self.region)
        signer = sigv4.chunk_signer(claim, user.secret_key) if claim.streaming else None
        return user.identity, signer

    def _verified_user_v2(self, claim: sigv2.V2Request) -> tuple[Identity, None]:
        user = self.credentials.lookup(claim.access_key)
        if user is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": claim.access_key})
        sigv2.verify(claim, user.secret_key, self.clock())
        return user.identity, None


def lower_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name: what werkzeug's ``request.headers``
    lists, read off the environ directly (its items() title-case every name first)."""
    out: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key in _BARE_HTTP:
                continue
            name = key[5:].replace("_", "-")
        elif key in _BARE and value:
            name = key.replace("_", "-")
        else:
            continue
        # title() first where it could matter: non-ASCII names lower differently
        out[name.lower() if name.isascii() else name.title().lower()] = value
    return out


#: CGI keeps these two without HTTP_ (werkzeug ignores HTTP_-prefixed copies).
_BARE = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_BARE_HTTP = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})


def _unprefixed(path: str, request: Request) -> str:
    """``path`` (as sent) without the blueprint's url_prefix and the script root."""
    full = request.script_root + request.path
    local = "/" + str((request.view_args or {}).get("path", ""))
    prefix = full[: len(full) - len(local)] if full.endswith(local) else ""
    quoted = quote(prefix, safe="/-_.~")
    if prefix and path.startswith(quoted):
        return path[len(quoted) :] or "/"
    return path


def wire_path(environ: Mapping[str, Any], decoded: str) -> str:
    """The request path as the client sent it (percent-encoded), which is what it
    signed. Servers keep it in REQUEST_URI (waitress, uwsgi) or RAW_URI
    (gunicorn); without either, re-encode the decoded path."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return quote(decoded, safe="/-_.~")
    if "://" in raw:  # absolute-form request target: drop scheme and authority
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path = str(raw).split("?", 1)[0]
    # WSGI strings carry bytes as latin-1; non-ASCII bytes on the wire are UTF-8.
    return path.encode("latin-1").decode("utf-8", "surrogateescape")
