"""Does the upstream honour conditional PUTs? Probed once, on first use.

Some S3-compatible servers (and AWS before 2024) ignore ``If-None-Match: *`` and
``If-Match`` on PutObject: a conditional write would then silently overwrite. The probe
writes a temporary key (in a location clients never see), PUTs it again with each
condition that must fail, and deletes it. A condition upstream applied (412/409) is
honoured; one that upstream ignored (the PUT succeeded) or refused (501) is not, and
S3Store then answers conditional writes with NotSupported (501). A probe that fails for
another reason (upstream down) is not remembered: the next conditional write probes
again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import NotSupported, PreconditionFailed
from .support import map_error

log = logging.getLogger(__name__)

#: An ETag no object has: If-Match on it must fail.
_NO_SUCH_ETAG = '"00000000000000000000000000000000"'


@dataclass(frozen=True)
class Support:
    if_none_match: bool
    if_match: bool
    #: whether upstream matches ``If-Match: "<etag>"`` (S3) or only ``<etag>`` (Ceph 16)
    if_match_quoted: bool = True

    def if_match_value(self, etag: str) -> str:
        return f'"{etag}"' if self.if_match_quoted else etag


def probe(client: Any, bucket: str, prefix: str) -> Support:
    """PUT a temporary key under ``prefix`` of upstream ``bucket`` with conditions that
    must fail, and report which ones upstream applied. The key is deleted afterwards."""
    key = f"{prefix}{uuid.uuid4().hex}"
    quoted = True
    try:
        etag = str(client.put_object(Bucket=bucket, Key=key, Body=b"probe")["ETag"]).strip('"')
        try:
            if_none_match = _applied(
                lambda: client.put_object(Bucket=bucket, Key=key, Body=b"2", IfNoneMatch="*")
            )
            if_match = _applied(
                lambda: client.put_object(Bucket=bucket, Key=key, Body=b"3", IfMatch=_NO_SUCH_ETAG)
            )
            if if_match:  # a condition that refuses the right ETag too is no condition
                quoted = _accepted(client, bucket, key, f'"{etag}"')
                if_match = quoted or _accepted(client, bucket, key, etag)
        finally:
            client.delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise map_error(exc, bucket, key) from exc
    support = Support(if_none_match, if_match, quoted)
    if not (if_none_match and if_match):
        log.warning(
            "upstream ignores conditional writes (If-None-Match honoured: %s, If-Match: %s):"
            " conditional PUTs are answered 501",
            if_none_match,
            if_match,
        )
    return support


def _accepted(client: Any, bucket: str, key: str, if_match: str) -> bool:
    """Whether upstream writes over the object when ``If-Match`` names its ETag so
    (the body is the same, so its ETag does not change)."""
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"probe", IfMatch=if_match)
    except Exception as exc:
        if isinstance(map_error(exc, bucket, key), PreconditionFailed):
            return False
        raise
    return True


def _applied(put: Callable[[], Any]) -> bool:
    """Whether a PUT whose condition must fail was refused for that condition."""
    try:
        put()
    except Exception as exc:
        error = map_error(exc, "", "")
        if isinstance(error, PreconditionFailed):
            return True
        if isinstance(error, NotSupported):
            return False
        raise
    return False


class ConditionalWrites:
    """What the upstream of one store honours, probed once per process (thread-safe)."""

    def __init__(self, support: Support | None = None) -> None:
        self._support = support
        self._lock = threading.Lock()

    def support(self, client: Any, bucket: str, prefix: str) -> Support:
        if self._support is None:
            with self._lock:
                if self._support is None:
                    self._support = probe(client, bucket, prefix)
        return self._support

    def known(self) -> str:
        """``honoured``, ``ignored`` (either condition) or ``unknown`` (not probed yet)."""
        if self._support is None:
            return "unknown"
        return "honoured" if self._support.if_none_match and self._support.if_match else "ignored"

    def if_match_value(self, etag: str) -> str:
        """The ``If-Match`` value upstream matches ``etag`` with (probed before use)."""
        return (self._support or Support(True, True)).if_match_value(etag)

    def if_none_match(self, client: Any, bucket: str, prefix: str) -> bool:
        return self.support(client, bucket, prefix).if_none_match

    def require(self, client: Any, bucket: str, prefix: str, *, if_match: bool) -> None:
        """Raise NotSupported unless upstream applies the condition a write asks for."""
        support = self.support(client, bucket, prefix)
        if not (support.if_match if if_match else support.if_none_match):
            header = "If-Match" if if_match else "If-None-Match"
            raise NotSupported(f"the upstream store ignores {header} on writes")
