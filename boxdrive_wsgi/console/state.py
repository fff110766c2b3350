"""What every console view needs: the gateway, the session, who is logged in, and how
pages are rendered (with the CSRF token and the messages of the last step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import g, render_template

from ..auth.credentials import Credentials
from ..auth.identity import Identity
from ..settings import Settings
from ..stores.base import ObjectStore
from .gateway import Gateway
from .session import ConsoleSession, SessionCookies
from .usage import human_size


@dataclass
class ConsoleState:
    gateway: Gateway
    cookies: SessionCookies
    settings: Settings
    credentials: Credentials
    #: the store without telemetry wrappers, for store-specific admin pages (fsck).
    raw_store: ObjectStore


def session() -> ConsoleSession:
    current: ConsoleSession = g.console_session
    return current


def identity() -> Identity | None:
    """The logged-in user (looked up again on every request: a removed user is out)."""
    current: Identity | None = g.get("console_identity")
    return current


def require_identity() -> Identity:
    current = identity()
    if current is None:  # before_request redirects first; this is for the type checker
        raise RuntimeError("no console login")
    return current


def local_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site, else None: no open redirects. Browsers read
    ``\\`` as ``/``, so ``/\\evil.test`` is another site, as ``//evil.test`` is."""
    if not value or not value.startswith("/") or "\\" in value or value.startswith("//"):
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render ``console/<template>`` with the layout's needs."""
    current = session()
    html = render_template(
        f"console/{template}",
        me=identity(),
        csrf_token=current.csrf_token,
        flashes=current.take_flashes(),
        human_size=human_size,
        **context,
    )
    return html, status
