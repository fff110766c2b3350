"""The console's session: a signed, HttpOnly, SameSite cookie of its own, and CSRF tokens.

The console does not use the site's ``flask.session``: mounted next to the S3 blueprint
in an existing site, it must neither need the site's ``secret_key`` nor share (or
clobber) the site's session. The cookie is signed by itsdangerous, as Flask's own
session is, with a key from settings or a random one kept in the data dir (0600); it
holds the access key and two random values, a session id (rotated at every login, so a
cookie planted before the login never becomes a logged-in one) and the CSRF token that
every state-changing request must echo. Never a secret key.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..auth.credentials import PRIVATE_DIR_MODE

COOKIE = "boxdrive_console"
SECRET_FILE = "console-secret"
#: A console login lasts a working day; then the cookie's signature is too old.
LIFETIME = 8 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


def secret_key(configured: str | None, data_dir: str) -> str:
    """The configured key, else the one kept in ``data_dir`` (created once, 0600; safe
    when several processes start at once: it is published with a hard link)."""
    if configured:
        return configured
    target = Path(data_dir) / SECRET_FILE
    if not target.exists():
        target.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        candidate = target.with_name(f".{SECRET_FILE}.{secrets.token_hex(4)}.tmp")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(candidate, target)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            os.unlink(candidate)
    return target.read_text().strip()


@dataclass
class ConsoleSession:
    """The cookie's content for one request; ``dirty`` when it must be sent again."""

    data: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False

    @property
    def access_key(self) -> str | None:
        value = self.data.get("access_key")
        return value if isinstance(value, str) else None

    @property
    def csrf_token(self) -> str:
        token = self.data.get(CSRF_FIELD)
        if not isinstance(token, str):
            token = self._new_values()[CSRF_FIELD]
        return token

    @property
    def session_id(self) -> str | None:
        value = self.data.get("sid")
        return value if isinstance(value, str) else None

    def _new_values(self) -> dict[str, Any]:
        self.data.update(sid=secrets.token_urlsafe(24), csrf=secrets.token_urlsafe(32))
        self.dirty = True
        return self.data

    def log_in(self, access_key: str) -> None:
        """A fresh session: new id and CSRF token, whatever the old cookie held."""
        self.data = {"access_key": access_key, "since": int(time.time())}
        self._new_values()

    def log_out(self) -> None:
        self.data = {}
        self._new_values()

    def flash(self, message: str, kind: str = "info") -> None:
        self.data.setdefault("flash", []).append([kind, message])
        self.dirty = True

    def take_flashes(self) -> list[tuple[str, str]]:
        messages = self.data.pop("flash", [])
        if messages:
            self.dirty = True
        return [(str(kind), str(text)) for kind, text in messages]

    def csrf_ok(self, request: Request) -> bool:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
        expected = self.data.get(CSRF_FIELD)
        return isinstance(expected, str) and hmac.compare_digest(sent, expected)


class SessionCookies:
    """Reads and writes the console cookie; the key is fetched on first use (so that
    registering the console creates no file)."""

    def __init__(self, configured: str | None, data_dir: str) -> None:
        self._configured = configured
        self._data_dir = data_dir
        self._serializer: URLSafeTimedSerializer | None = None

    def _signer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            key = secret_key(self._configured, self._data_dir)
            self._serializer = URLSafeTimedSerializer(key, salt="boxdrive-console-session")
        return self._serializer

    def load(self, request: Request) -> ConsoleSession:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return ConsoleSession()
        try:
            data = self._signer().loads(raw, max_age=LIFETIME)
        except BadSignature:  # tampered, or signed with another key, or expired
            return ConsoleSession(dirty=True)
        return ConsoleSession(data if isinstance(data, dict) else {})

    def save(self, response: Response, session: ConsoleSession, path: str, secure: bool) -> None:
        if not session.dirty:
            return
        response.set_cookie(
            COOKIE,
            self._signer().dumps(session.data),
            max_age=LIFETIME,
            path=path,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
        response.headers.add("Vary", "Cookie")
