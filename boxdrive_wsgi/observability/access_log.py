"""One structured line per S3 request, written when the response is finished
(after a streamed body has gone out), in text or JSON.

Each message is the whole line, its time included (RFC 3339, UTC): a JSON line is
one JSON object with a ``time`` field that any parser accepts, whatever handler
prints it (ours prints the message alone).

Never logs query strings, headers or bodies: presigned URLs carry credentials
and signatures in the query, and Authorization headers carry signatures.

The line is built and handed over on the request's thread; with our own handler
(no logging set up by the host application) a background thread writes it
(``line_writer``), so no request waits on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .line_writer import BufferedLineHandler, flush_on_sigterm

LOGGER_NAME = "boxdrive_wsgi.access"
log = logging.getLogger(LOGGER_NAME)

_JSON = json.JSONEncoder(separators=(",", ":"))
_MESSAGE_ONLY = logging.Formatter("%(message)s")  # the time is in the message
#: The handler ``configure`` installed, if it did.
_own: BufferedLineHandler | None = None


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
    #: the process that served it (which gunicorn worker)
    pid: int = field(default_factory=os.getpid)

    def text(self, at: str) -> str:
        # Spelled out (every field, in declaration order): a loop over vars() costs
        # several times as much, on every request.
        return (
            f"{at} request_id={self.request_id} method={self.method}"
            f" operation={self.operation} bucket={_text(self.bucket)} status={self.status}"
            f" bytes_in={_text(self.bytes_in)} bytes_out={_text(self.bytes_out)}"
            f" duration_ms={self.duration_ms} user={_text(self.user)}"
            f" remote={_text(self.remote)} pid={self.pid}"
        )

    def json(self, at: str) -> str:
        return _JSON.encode({"time": at, **vars(self)})


def _text(value: object) -> object:
    return "-" if value is None else value


#: (whole second, its "YYYY-MM-DDTHH:MM:SS" in UTC): formatted once per second.
_second: tuple[int, str] = (-1, "")


def rfc3339_utc(seconds: float) -> str:
    """``2026-12-02T07:26:03.123Z``: RFC 3339 in UTC, to the millisecond (truncated)."""
    global _second
    whole = int(seconds)
    micros = round((seconds - whole) * 1_000_000)  # as datetime rounds, half to even
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{micros // 1000:03d}Z"


def emit(record: AccessRecord, fmt: str) -> None:
    if log.isEnabledFor(logging.INFO):
        at = rfc3339_utc(time.time())
        line = record.json(at) if fmt == "json" else record.text(at)
        own = _own
        if own is not None and _only_consumer(own):
            own.writer.write(line)  # what log.info would end in, without its LogRecord
        else:
            log.info(line)


def _only_consumer(handler: BufferedLineHandler) -> bool:
    """Would ``log.info`` hand the line to ``handler`` alone, as it is?"""
    handlers = log.handlers
    return (
        len(handlers) == 1
        and handlers[0] is handler
        and not log.propagate
        and not log.filters
        and not handler.filters
        and handler.level <= logging.INFO
        and handler.formatter is _MESSAGE_ONLY
    )


class Closable(Protocol):
    def call_on_close(self, func: Callable[[], object]) -> object: ...


class _Unlogged:
    """How many responses are out (or going out) whose line is not written yet."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.count += n

    def wait(self, seconds: float) -> None:
        """Until none is left or ``seconds`` pass; takes no lock (signal handlers call it)."""
        deadline = time.monotonic() + seconds
        while self.count > 0 and time.monotonic() < deadline:
            time.sleep(0.005)


_unlogged = _Unlogged()
#: How long SIGTERM waits for the lines of responses already sent (their close
#: hooks run a moment after the last byte) before it writes the queue and exits.
SIGTERM_GRACE_SECONDS = 0.5


def emit_when_closed(response: Closable, record: Callable[[], AccessRecord], fmt: str) -> None:
    """Write ``record()``'s line when the response is closed (its body has gone out)."""
    _unlogged.add(1)

    def done() -> None:
        try:
            emit(record(), fmt)
        finally:
            _unlogged.add(-1)

    response.call_on_close(done)


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
    global _own
    handler = BufferedLineHandler(sys.stderr)
    handler.setFormatter(_MESSAGE_ONLY)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    _own = handler

    # A server killed by SIGTERM (waitress) runs no exit handlers: write what is queued.
    def before_exit(timeout: float) -> None:
        _unlogged.wait(SIGTERM_GRACE_SECONDS)
        handler.writer.flush(timeout)

    flush_on_sigterm(before_exit)
