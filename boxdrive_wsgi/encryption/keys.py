"""Keys: keyrings of named 256-bit keys (the SSE-S3 master keys, the local KMS),
data-key wrapping, and the salted HMAC that verifies an SSE-C customer key.

A keyring file is JSON ``{"current": id, "keys": {id: base64}}`` with mode 0600.
Rotation adds a key and makes it current; old ids still unwrap what they wrapped.
An operator may instead give the keys in a variable or a file (``id:base64`` pairs,
comma-separated, the last one current): then nothing is written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .segments import KEY_BYTES, DecryptionError

NONCE = 12


class KeyNotFound(Exception):
    """A key id no keyring knows: the object cannot be decrypted (never guessed)."""


def wrap_key(kek: bytes, data_key: bytes, context: bytes) -> str:
    """``data_key`` encrypted under ``kek`` (AES-GCM), bound to ``context``."""
    nonce = os.urandom(NONCE)
    return base64.b64encode(nonce + AESGCM(kek).encrypt(nonce, data_key, context)).decode()


def unwrap_key(kek: bytes, wrapped: str, context: bytes) -> bytes:
    try:
        raw = base64.b64decode(wrapped, validate=True)
        return AESGCM(kek).decrypt(raw[:NONCE], raw[NONCE:], context)
    except (InvalidTag, ValueError):
        raise DecryptionError("the object's data key does not unwrap with its key") from None


def key_fingerprint(customer_key: bytes, salt: bytes | None = None) -> str:
    """``salt:hmac`` (base64): what the server keeps to recognise an SSE-C key."""
    salt = os.urandom(16) if salt is None else salt
    mac = hmac.new(salt, customer_key, hashlib.sha256).digest()
    return f"{base64.b64encode(salt).decode()}:{base64.b64encode(mac).decode()}"


def matches_fingerprint(customer_key: bytes, fingerprint: str) -> bool:
    try:
        salt = base64.b64decode(fingerprint.split(":", 1)[0], validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(key_fingerprint(customer_key, salt), fingerprint)


def parse_key_list(text: str) -> dict[str, bytes]:
    """``id:base64,id:base64`` (the last is current) as an ordered mapping."""
    keys: dict[str, bytes] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, value = item.partition(":")
        if not sep or not key_id:
            raise ValueError("master keys are id:base64 pairs, comma-separated")
        material = base64.b64decode(value, validate=True)
        if len(material) != KEY_BYTES:
            raise ValueError(f"master key {key_id!r}: expected {KEY_BYTES} bytes")
        keys[key_id] = material
    if not keys:
        raise ValueError("no master key given")
    return keys


@dataclass
class Keyring:
    """Named keys in a 0600 JSON file, fixed ones from the operator, or (no path: an
    in-process store's, whose objects die with the process) keys in memory."""

    path: Path | None
    fixed: dict[str, bytes] | None = None
    id_prefix: str = "key-"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: tuple[str | None, dict[str, bytes]] = (None, {})

    def _load(self) -> tuple[str | None, dict[str, bytes]]:
        if self.fixed is not None:
            return next(reversed(self.fixed)), dict(self.fixed)
        if self.path is None:
            return self._memory[0], dict(self._memory[1])
        if not self.path.exists():
            return None, {}
        doc = json.loads(self.path.read_text())
        keys = {k: base64.b64decode(v) for k, v in doc.get("keys", {}).items()}
        return doc.get("current"), keys

    def _save(self, current: str | None, keys: dict[str, bytes]) -> None:
        if self.fixed is not None:
            raise ValueError("this keyring is given by the operator and cannot change")
        if self.path is None:
            self._memory = (current, dict(keys))
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "current": current,
            "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
        }
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, self.path)

    def ids(self) -> list[str]:
        return list(self._load()[1])

    def current(self, *, create: bool = False) -> tuple[str, bytes]:
        """The current key; with ``create``, a first key is made if there is none."""
        with self._lock:
            current, keys = self._load()
            if current is None or current not in keys:
                if not create:
                    raise KeyNotFound("no current key")
                current = self._add_locked(None, keys)
                keys = self._load()[1]
            return current, keys[current]

    def get(self, key_id: str) -> bytes:
        keys = self._load()[1]
        try:
            return keys[key_id]
        except KeyError:
            raise KeyNotFound(f"key {key_id!r} not found") from None

    def add(self, key_id: str | None = None) -> str:
        """Add a new random key (current from now on); returns its id."""
        with self._lock:
            return self._add_locked(key_id, self._load()[1])

    def _add_locked(self, key_id: str | None, keys: dict[str, bytes]) -> str:
        if key_id is None:
            n = len(keys) + 1
            while f"{self.id_prefix}{n}" in keys:
                n += 1
            key_id = f"{self.id_prefix}{n}"
        if key_id in keys:
            raise ValueError(f"key {key_id!r} exists")
        keys[key_id] = AESGCM.generate_key(bit_length=256)
        self._save(key_id, keys)
        return key_id


def master_keyring(
    data_dir: str, variable: str | None, file: str | None, *, in_memory: bool = False
) -> Keyring:
    """SSE-S3's master keys: the operator's (variable or file), else ``<data_dir>``'s
    (``in_memory``: for an in-process store, nothing written)."""
    if variable:
        return Keyring(None, parse_key_list(variable))
    if file:
        return Keyring(None, parse_key_list(Path(file).read_text()))
    if in_memory:
        return Keyring(None, id_prefix="master-")
    return Keyring(Path(data_dir) / "sse" / "master-keys.json", id_prefix="master-")
