"""One structured line per S3 request, written when the response is finished
(after a streamed body has gone out), in text or JSON.

Each message is the whole line, its time included (RFC 3339, UTC): a JSON line is
one JSON object with a ``time`` field that any parser accepts, whatever handler
prints it (ours prints the message alone).

Never logs query strings, headers or bodies: presigned URLs carry credentials
and signatures in the query, and Authorization headers carry signatures.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

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

    def text(self, at: str) -> str:
        fields = asdict(self)
        return " ".join([at, *(f"{k}={'-' if v is None else v}" for k, v in fields.items())])

    def json(self, at: str) -> str:
        return json.dumps({"time": at, **asdict(self)}, separators=(",", ":"))


def rfc3339_utc(seconds: float) -> str:
    """``2026-12-02T07:26:03.123Z``: RFC 3339 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def emit(record: AccessRecord, fmt: str) -> None:
    if log.isEnabledFor(logging.INFO):
        at = rfc3339_utc(time.time())
        log.info(record.json(at) if fmt == "json" else record.text(at))


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
    handler.setFormatter(logging.Formatter("%(message)s"))  # the time is in the message
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
