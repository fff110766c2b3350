"""Does the upstream honour conditional writes? Probed per operation, once per process.

S3-compatible servers differ, per operation: moto 5.2 applies ``If-None-Match: *`` and
``If-Match`` on PutObject, nothing on CopyObject, and only ``If-None-Match`` on
CompleteMultipartUpload; Ceph 16 (RGW) applies both on PutObject (matching ``If-Match``
against the bare ETag only), none on CopyObject or on completion, and reads a copy's
source condition only under its own old header name (``x-amz-copy-if-match``). A
condition upstream ignores would turn a conditional write into a silent overwrite.

The probe (``probe``) writes temporary keys where clients never see them (``<prefix>``:
the store's ``.probe/`` prefix or a 1:1 bucket's reserved one), tries each operation
with ``If-None-Match: *`` over an existing key, with an ``If-Match`` naming no ETag, and
with the right ETag quoted and bare, tries a copy whose source condition must fail, and
deletes what it wrote. S3Store answers a conditional write of an operation whose
condition upstream does not apply with NotSupported (501). A probe that fails for
another reason (upstream down) is not remembered: the next use probes again. Results
are shared by the stores of one process over the same upstream (``_shared``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base import NotSupported, PreconditionFailed
from .support import map_error, strip_etag

log = logging.getLogger(__name__)

#: An ETag no object has: If-Match on it must fail.
_NO_SUCH_ETAG = '"00000000000000000000000000000000"'
#: The operations probed, as S3Store names them.
OPERATIONS = ("put", "copy", "complete")
#: The copy source condition's header (S3), and the name Ceph 16's RGW reads instead.
COPY_SOURCE_IF_MATCH = "x-amz-copy-source-if-match"
LEGACY_COPY_SOURCE_IF_MATCH = "x-amz-copy-if-match"
_BODY = b"probe"


@dataclass(frozen=True)
class Conditions:
    """What upstream applies on one operation."""

    if_none_match: bool
    if_match: bool
    #: whether upstream matches ``If-Match: "<etag>"`` (S3) or only ``<etag>`` (Ceph 16)
    if_match_quoted: bool = True

    def if_match_value(self, etag: str) -> str:
        return f'"{etag}"' if self.if_match_quoted else etag

    def report(self) -> dict[str, object]:
        form = ("quoted" if self.if_match_quoted else "bare") if self.if_match else None
        return {"if_none_match": self.if_none_match, "if_match": self.if_match, "etag_form": form}


HONOURED = Conditions(True, True)


@dataclass(frozen=True)
class Support:
    """What upstream applies, per operation (``OPERATIONS``)."""

    put: Conditions = HONOURED
    copy: Conditions = HONOURED
    complete: Conditions = HONOURED
    #: the header upstream reads a copy's source condition from, None if it reads none
    copy_source: str | None = COPY_SOURCE_IF_MATCH

    def of(self, operation: str) -> Conditions:
        conditions: Conditions = getattr(self, operation)
        return conditions

    @property
    def all_honoured(self) -> bool:
        return all(self.of(op).if_none_match and self.of(op).if_match for op in OPERATIONS) and (
            self.copy_source is not None
        )

    def report(self) -> dict[str, object]:
        found: dict[str, object] = {op: self.of(op).report() for op in OPERATIONS}
        found["copy_source"] = self.copy_source
        return found


@dataclass
class _Probe:
    """One probe run: a client, where to write, and the keys to delete afterwards."""

    client: Any
    bucket: str
    prefix: str
    keys: set[str] = field(default_factory=set)
    #: set while the legacy copy-source header is tried (read by ``copy_source_header``)
    legacy: bool = False

    def key(self) -> str:
        key = f"{self.prefix}{uuid.uuid4().hex}"
        self.keys.add(key)
        return key

    def put(self, key: str, **condition: str) -> str:
        response = self.client.put_object(Bucket=self.bucket, Key=key, Body=_BODY, **condition)
        return strip_etag(response.get("ETag"))

    def copy(self, source: str, key: str, **condition: str) -> str:
        response = self.client.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": source},
            **condition,
        )
        return strip_etag(response.get("CopyObjectResult", {}).get("ETag"))

    def complete(self, key: str, **condition: str) -> str:
        client, bucket = self.client, self.bucket
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        try:
            part = client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=_BODY
            )
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
                **condition,
            )
        except Exception:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except Exception as exc:  # the upload may be gone (completed): nothing to drop
                log.debug("probe: abort after a failed completion: %s", exc)
            raise
        # Ceph 16 answers completion with an empty ETag: ask for it
        return strip_etag(client.head_object(Bucket=bucket, Key=key).get("ETag"))

    def cleanup(self) -> None:
        for key in self.keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                log.warning("probe: could not delete %s/%s: %s", self.bucket, key, exc)


def _conditions(write: Callable[..., str], etag: str) -> Conditions:
    """Try ``write`` (the operation over an existing object whose ETag is ``etag``,
    returning the new ETag) with each condition."""
    if_none_match, etag = _applied(write, etag, IfNoneMatch="*")
    if_match, etag = _applied(write, etag, IfMatch=_NO_SUCH_ETAG)
    quoted = True
    if if_match:  # a condition that refuses the right ETag too is no condition
        quoted, etag = _accepted(write, etag, f'"{etag}"')
        if not quoted:
            bare, etag = _accepted(write, etag, etag)
            if_match = bare
    return Conditions(if_none_match, if_match, quoted)


def _applied(write: Callable[..., str], etag: str, **condition: str) -> tuple[bool, str]:
    """Whether a write whose condition must fail was refused for that condition (and
    the object's ETag after it)."""
    try:
        return False, write(**condition) or etag
    except Exception as exc:
        error = map_error(exc, "", "")
        if isinstance(error, PreconditionFailed):
            return True, etag
        if isinstance(error, NotSupported):
            return False, etag
        raise error from exc


def _accepted(write: Callable[..., str], etag: str, if_match: str) -> tuple[bool, str]:
    """Whether upstream writes when ``If-Match`` names the current ETag so."""
    try:
        return True, write(IfMatch=if_match) or etag
    except Exception as exc:
        error = map_error(exc, "", "")
        if isinstance(error, PreconditionFailed):
            return False, etag
        raise error from exc


def probe(client: Any, bucket: str, prefix: str) -> Support:
    """Probe PutObject, CopyObject and CompleteMultipartUpload under ``prefix`` of
    upstream ``bucket`` and report which conditions upstream applies on each."""
    run = _Probe(client, bucket, prefix)
    try:
        try:
            support = _probe(run)
        finally:
            run.cleanup()
    except Exception as exc:
        raise map_error(exc, bucket) from exc
    if not support.all_honoured:
        log.warning(
            "upstream %s ignores some conditional writes (%s): those conditional writes"
            " are answered 501",
            getattr(getattr(client, "meta", None), "endpoint_url", "?"),
            support.report(),
        )
    return support


def _probe(run: _Probe) -> Support:
    target = run.key()
    etag = run.put(target)
    put = _conditions(lambda **c: run.put(target, **c), etag)
    source = run.key()
    run.put(source)
    copy = _conditions(lambda **c: run.copy(source, target, **c), etag)
    complete = _conditions(lambda **c: run.complete(target, **c), etag)
    return Support(put, copy, complete, _copy_source(run, source, target))


def _copy_source(run: _Probe, source: str, target: str) -> str | None:
    """The header upstream reads a copy's source condition from (None: it reads none)."""
    for header in (COPY_SOURCE_IF_MATCH, LEGACY_COPY_SOURCE_IF_MATCH):
        run.legacy = header == LEGACY_COPY_SOURCE_IF_MATCH
        with _probing(run):
            try:
                run.copy(source, target, CopySourceIfMatch=_NO_SUCH_ETAG)
            except Exception as exc:
                if isinstance(map_error(exc, "", ""), PreconditionFailed):
                    return header
                raise
    return None


_active = threading.local()


class _probing:
    """Mark the probe run of this thread (``copy_source_header`` reads it)."""

    def __init__(self, run: _Probe) -> None:
        self.run = run

    def __enter__(self) -> None:
        _active.run = self.run

    def __exit__(self, *exc: object) -> None:
        _active.run = None


def probing_legacy_header() -> bool:
    """Whether this thread's probe is trying the legacy copy-source header now."""
    run: _Probe | None = getattr(_active, "run", None)
    return run is not None and run.legacy


#: Probe results per upstream (endpoint, credentials, bucket) in this process.
_shared: dict[tuple[object, ...], Support] = {}
_shared_lock = threading.Lock()


class ConditionalWrites:
    """What the upstream of one store honours, probed once per process (thread-safe).
    ``shared_key`` names the upstream (None: this instance only)."""

    def __init__(
        self, support: Support | None = None, shared_key: tuple[object, ...] | None = None
    ) -> None:
        self._key = shared_key
        self._support = support
        self._lock = threading.Lock()

    @property
    def probed(self) -> Support | None:
        if self._support is None and self._key is not None:
            self._support = _shared.get(self._key)
        return self._support

    def support(self, client: Any, bucket: str, prefix: str) -> Support:
        if self.probed is None:
            with self._lock:
                if self.probed is None:
                    found = probe(client, bucket, prefix)
                    if self._key is not None:
                        with _shared_lock:
                            _shared[self._key] = found
                    self._support = found
        assert self._support is not None
        return self._support

    def known(self) -> object:
        """For readiness: ``unknown`` (not probed yet) or what was found, per operation."""
        found = self.probed
        return "unknown" if found is None else found.report()

    def of(self, operation: str) -> Conditions:
        """What upstream applies on ``operation`` (HONOURED until probed)."""
        return (self.probed or Support()).of(operation)

    def copy_source_header(self) -> str | None:
        """The header a copy's source condition must (also) travel in."""
        if probing_legacy_header():
            return LEGACY_COPY_SOURCE_IF_MATCH
        found = self.probed
        return found.copy_source if found is not None else COPY_SOURCE_IF_MATCH

    def require(
        self, client: Any, bucket: str, prefix: str, operation: str, *, if_match: bool
    ) -> Conditions:
        """Raise NotSupported unless upstream applies the condition a write of
        ``operation`` asks for; return what upstream applies there."""
        conditions = self.support(client, bucket, prefix).of(operation)
        if not (conditions.if_match if if_match else conditions.if_none_match):
            header = "If-Match" if if_match else "If-None-Match"
            raise NotSupported(f"the upstream store ignores {header} on {_NAMES[operation]}")
        return conditions


_NAMES = {"put": "PutObject", "copy": "CopyObject", "complete": "CompleteMultipartUpload"}
