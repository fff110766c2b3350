"""Who is asking: the identity a request acts as, and who owns what."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    #: canonical user id, shown as Owner/ID in listings and ACLs.
    id: str
    display_name: str
    access_key: str | None = None
    #: the operator: owns the buckets no one else is recorded to own (see README).
    admin: bool = False

    @classmethod
    def named(cls, name: str, access_key: str | None = None) -> Identity:
        """An identity whose canonical id is derived from its name (stable, 64 hex)."""
        return cls(hashlib.sha256(name.encode()).hexdigest(), name, access_key)


#: The one principal every unsigned request acts as.
ANONYMOUS = Identity("anonymous", "anonymous")


def acts_as_owner(identity: Identity, owner: str | None, *, anonymous_mode: bool) -> bool:
    """May ``identity`` act as the owner of a bucket whose recorded owner is ``owner``?

    A bucket without a recorded owner belongs to the operator (admin) alone, never to
    ANONYMOUS; ANONYMOUS owns the buckets it created only while anonymous mode is on.
    """
    if owner is None:
        return identity.admin
    if identity.id == ANONYMOUS.id:
        return anonymous_mode and owner == ANONYMOUS.id
    return owner == identity.id
