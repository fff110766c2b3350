"""Behind a reverse proxy: restore what the client sent, from trusted proxies only.

Signatures cover the host, and the path as the client sent it. A proxy that
rewrites the Host header, terminates TLS or strips a path prefix (nginx
``location /s3/ { proxy_pass http://app/; }``) says what the client sent in
``X-Forwarded-Host``, ``X-Forwarded-Proto`` and ``X-Forwarded-Prefix`` (and the
client's address in ``X-Forwarded-For``). Anyone can send those headers, so
they are honoured only when the peer (``REMOTE_ADDR``) is one of
``BOXDRIVE_TRUSTED_PROXIES``; from anyone else they are ignored.

From a trusted peer, werkzeug's ``ProxyFix`` (one hop of each header) sets
``HTTP_HOST``, ``wsgi.url_scheme``, ``SCRIPT_NAME`` and ``REMOTE_ADDR``; this
module also puts a forwarded prefix back in front of the raw request URI
(``RAW_URI``/``REQUEST_URI``), which is what signature verification reads.
``X-Forwarded-Port`` is not honoured: proxies send it even for default ports
that clients leave out of the Host they sign.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(value: str | Iterable[str] | None) -> tuple[Network, ...] | None:
    """Networks from ``"10.0.0.1, 192.168.0.0/16, ::1"``; ``None`` for ``*`` (any peer).

    Raises ValueError naming the entry that is neither an address nor a network.
    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[Network] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item == "*":
            return None
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"BOXDRIVE_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def is_trusted(remote_addr: str | None, networks: tuple[Network, ...] | None) -> bool:
    if networks is None:
        return True
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from trusted peers, nothing for others."""

    def __init__(self, app: WSGIApplication, trusted: str | Iterable[str] | None) -> None:
        self.app = app
        self.networks = parse_trusted(trusted)
        self._fixed = ProxyFix(
            self._with_prefixed_uri, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=1
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        if is_trusted(environ.get("REMOTE_ADDR"), self.networks):
            return self._fixed(environ, start_response)
        return self.app(environ, start_response)

    def _with_prefixed_uri(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        original = environ.get("werkzeug.proxy_fix.orig", {})
        prefix = str(environ.get("SCRIPT_NAME", ""))
        if environ.get("HTTP_X_FORWARDED_PREFIX") and prefix != original.get("SCRIPT_NAME", ""):
            for name in ("RAW_URI", "REQUEST_URI"):
                raw = environ.get(name)
                if raw and str(raw).startswith("/"):  # the proxy stripped the prefix
                    environ[name] = prefix + str(raw)
        return self.app(environ, start_response)
