"""SSE-KMS: the key manager interface and the local keyring that implements it.

A real KMS (e.g. HashiCorp Vault's transit engine) implements ``KeyManager``: it wraps
and unwraps data keys under a named key, bound to an encryption context, and never
hands out the named key itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .keys import KeyNotFound, Keyring, unwrap_key, wrap_key


class KeyManager(Protocol):
    def exists(self, key_id: str) -> bool: ...

    def wrap(self, key_id: str, data_key: bytes, context: bytes) -> str: ...

    def unwrap(self, key_id: str, wrapped: str, context: bytes) -> bytes: ...


class LocalKms:
    """Named keys in ``<data_dir>/sse/kms-keys.json`` (0600), made with
    ``boxdrive-wsgi kms create NAME``."""

    def __init__(self, path: Path) -> None:
        self.keyring = Keyring(path, id_prefix="kms-")

    def exists(self, key_id: str) -> bool:
        return key_id in self.keyring.ids()

    def wrap(self, key_id: str, data_key: bytes, context: bytes) -> str:
        return wrap_key(self.keyring.get(key_id), data_key, context)

    def unwrap(self, key_id: str, wrapped: str, context: bytes) -> bytes:
        return unwrap_key(self.keyring.get(key_id), wrapped, context)


def local_kms(data_dir: str) -> LocalKms:
    return LocalKms(Path(data_dir) / "sse" / "kms-keys.json")


__all__ = ["KeyManager", "KeyNotFound", "LocalKms", "local_kms"]
