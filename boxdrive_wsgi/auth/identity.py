"""Who is asking: the identity a request acts as."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    #: canonical user id, shown as Owner/ID in listings and ACLs.
    id: str
    display_name: str
    access_key: str | None = None

    @classmethod
    def named(cls, name: str, access_key: str | None = None) -> Identity:
        """An identity whose canonical id is derived from its name (stable, 64 hex)."""
        return cls(hashlib.sha256(name.encode()).hexdigest(), name, access_key)


ANONYMOUS = Identity("anonymous", "anonymous")
