"""One structured line per S3 request, written when the response is finished
(after a streamed body has gone out), in text or JSON.

Never logs query strings, headers or bodies: presigned URLs carry credentials
and signatures in the query, and Authorization headers carry signatures.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass

LOGGER_NAME = "boxdrive_wsgi.access"
log = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class AccessRecord:
    request_id: str
    method: str
    operation: str
    bucket: str | None
    status: int
    bytes_in: int | None
    bytes_out: int | None
    duration_ms: float
    user: str | None
    remote: str | None

    def text(self) -> str:
        fields = asdict(self)
        return " ".join(f"{k}={'-' if v is None else v}" for k, v in fields.items())

    def json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def emit(record: AccessRecord, fmt: str) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info(record.json() if fmt == "json" else record.text())


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def configure(enabled: bool) -> None:
    """Send access lines to stderr unless the host application set up logging
    for this logger (or its parents) itself."""
    if not enabled:  # the blueprint skips emitting; the logger stays as other apps need it
        return
    if log.handlers or logging.getLogger().handlers:
        log.setLevel(logging.INFO)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
