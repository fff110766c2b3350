"""The load client of bench/perf.py: signed raw HTTP/1.1 over persistent sockets.

Cheaper than any server it drives, so that the figures are the server's: each request is a
few bytes joined and one SigV4 signature (the signing key is derived once per day and the
X-Amz-Date string once per second, the payload hash once per body), written with one
``sendall``; the response is parsed just enough to find its end (status line,
Content-Length or chunked). No http.client, no header objects. ``--clients`` connections are
spread over ``--client-procs`` processes (threads in each), so the client is not held by one
GIL; each process reports its own CPU time, which perf.py prints per request.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from urllib.parse import quote

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
RECV_SIZE = 1024 * 1024
HEAD_LIMIT = 64 * 1024  # a response head larger than this is a broken server


class Signer:
    """SigV4 header signing (``host;x-amz-content-sha256;x-amz-date``) with cached key."""

    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._day = ""
        self._key = b""
        self._second = -1
        self._amz_date = ""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = ("AWS4" + self.secret_key).encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._day, self._key = day, key
        return self._key

    def amz_date(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return self._amz_date

    def headers(self, method: str, host: str, path: str, query: str, payload_hash: str) -> str:
        """The signed header lines (each ending CRLF) for a request; ``path`` is encoded,
        ``query`` is already canonical (sorted, encoded)."""
        amz_date = self.amz_date()
        day = amz_date[:8]
        scope = f"{day}/{self.region}/s3/aws4_request"
        canonical = (
            f"{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:{payload_hash}\n"
            f"x-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload_hash}"
        )
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return (
            f"Host: {host}\r\nX-Amz-Date: {amz_date}\r\nX-Amz-Content-SHA256: {payload_hash}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}\r\n"
        )


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items())
    )


def request_bytes(
    signer: Signer,
    host: str,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    body_length: int | None = None,
    payload_hash: str | None = None,
) -> bytes:
    """A whole signed request (head + ``body``); ``body_length`` for a body sent apart."""
    length = len(body) if body_length is None else body_length
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    target = path + ("?" + query if query else "")
    head = f"{method} {target} HTTP/1.1\r\n" + signer.headers(
        method, host, path, query, payload_hash
    )
    if length or method in ("PUT", "POST"):
        head += f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode() + body


class HttpError(Exception):
    pass


class Connection:
    """One persistent HTTP/1.1 connection: send bytes, read one response."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.scratch = bytearray(RECV_SIZE)

    def _socket(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf.clear()
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data: bytes | memoryview) -> None:
        self._socket().sendall(data)

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(RECV_SIZE)
        if not chunk:
            raise HttpError("connection closed mid-response")
        self.buf += chunk

    def _discard(self, count: int) -> None:
        """Read and drop ``count`` body bytes (large bodies never pile up in memory)."""
        taken = min(count, len(self.buf))
        del self.buf[:taken]
        count -= taken
        assert self.sock is not None
        view = memoryview(self.scratch)
        while count > 0:
            got = self.sock.recv_into(view, min(count, RECV_SIZE))
            if not got:
                raise HttpError("connection closed mid-body")
            count -= got

    def _take(self, count: int) -> bytes:
        while len(self.buf) < count:
            self._fill()
        data = bytes(self.buf[:count])
        del self.buf[:count]
        return data

    def _line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    def response(self, *, head: bool = False, keep: bool = False) -> tuple[int, int, bytes]:
        """(status, body bytes, body if ``keep``) of the next response."""
        self._socket()
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if len(self.buf) > HEAD_LIMIT:
                raise HttpError("response head too large")
            self._fill()
        lines = bytes(self.buf[:end]).split(b"\r\n")
        del self.buf[: end + 4]
        status = int(lines[0][9:12])
        length = -1
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        body = b""
        if head or status in (204, 304) or 100 <= status < 200:
            length = 0
        elif chunked:
            parts = []
            length = 0
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                length += size
                self._take(2)
            while self._line():  # trailers, then the empty line
                pass
            body = b"".join(parts)
        elif length >= 0:
            if keep:
                body = self._take(length)
            else:
                self._discard(length)
        else:  # no length: the body runs to the end of the connection
            close = True
            length = 0
            assert self.sock is not None
            while chunk := self.sock.recv(RECV_SIZE):
                length += len(chunk)
        if close:
            self.close()
        return status, length, body if keep else b""


#: Builds the request for (process index, thread index, sequence number).
RequestFactory = Callable[[int, int, int], bytes]


@dataclass
class LoadSpec:
    host: str
    port: int
    factory: RequestFactory
    expect: int = 200
    head: bool = False
    clients: int = 8
    procs: int = 2
    seconds: float = 5.0
    warmup: int = 20  # requests per connection before the clock starts


@dataclass
class WorkerResult:
    """What one client process measured (latencies of its threads merged)."""

    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu_seconds: float = 0.0


def _thread_loop(
    spec: LoadSpec, proc: int, thread: int, warm: threading.Barrier, deadline: list[float]
) -> WorkerResult:
    result = WorkerResult()
    conn = Connection(spec.host, spec.port)
    seq = 0

    def one() -> int:
        nonlocal seq
        data = spec.factory(proc, thread, seq)
        seq += 1
        start = time.perf_counter_ns()
        try:
            conn.send(data)
            status, _, _ = conn.response(head=spec.head)
        except (OSError, HttpError) as error:
            conn.close()
            result.errors += 1
            result.first_error = result.first_error or repr(error)
            return -1
        if status != spec.expect:
            result.errors += 1
            result.first_error = result.first_error or f"HTTP {status}"
        return time.perf_counter_ns() - start

    for _ in range(spec.warmup):
        one()
    warm_errors = result.first_error
    result.errors, result.first_error = 0, ""
    warm.wait()  # every connection of this process is warm; the process then meets the rest
    warm.wait()  # the clock has started: deadline is set
    end = deadline[0]
    latencies = result.latencies_ns
    while time.monotonic() < end:
        if (took := one()) >= 0:
            latencies.append(took)
    conn.close()
    if not latencies and warm_errors:
        result.first_error = warm_errors
    return result


def _process_main(spec: LoadSpec, proc: int, barrier: Barrier, out: Queue[WorkerResult]) -> None:
    threads_here = [t for t in range(spec.clients) if t % spec.procs == proc]
    deadline: list[float] = []
    results: list[WorkerResult] = []
    warm = threading.Barrier(len(threads_here) + 1)

    def run(thread: int) -> None:
        try:
            results.append(_thread_loop(spec, proc, thread, warm, deadline))
        except BaseException:
            warm.abort()  # the others (and this process) stop waiting, then fail loudly
            raise

    workers = [threading.Thread(target=run, args=(t,)) for t in threads_here]
    for w in workers:
        w.start()
    warm.wait()
    barrier.wait()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    deadline.append(time.monotonic() + spec.seconds)
    warm.wait()
    for w in workers:
        w.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    merged = WorkerResult(
        cpu_seconds=(after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    )
    for r in results:
        merged.latencies_ns.extend(r.latencies_ns)
        merged.errors += r.errors
        merged.first_error = merged.first_error or r.first_error
    out.put(merged)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ns: list[int]
    errors: int
    first_error: str
    client_cpu_seconds: float


def run_load(spec: LoadSpec, on_start: Callable[[], None] = lambda: None) -> LoadResult:
    """Drive ``spec`` closed-loop for ``spec.seconds``; ``on_start`` runs as the clock starts
    (perf.py reads the server's CPU counters there)."""
    ctx = multiprocessing.get_context("fork")
    procs = max(1, min(spec.procs, spec.clients))
    spec = LoadSpec(**{**spec.__dict__, "procs": procs})
    barrier = ctx.Barrier(procs + 1)
    out: Queue[WorkerResult] = ctx.Queue()
    children = [
        ctx.Process(target=_process_main, args=(spec, p, barrier, out), daemon=True)
        for p in range(procs)
    ]
    for child in children:
        child.start()
    barrier.wait(timeout=120)
    on_start()
    started = time.monotonic()
    parts = [out.get(timeout=spec.seconds + 300) for _ in children]
    seconds = time.monotonic() - started
    for child in children:
        child.join()
    latencies = [n for p in parts for n in p.latencies_ns]
    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        latencies_ns=latencies,
        errors=sum(p.errors for p in parts),
        first_error=next((p.first_error for p in parts if p.first_error), ""),
        client_cpu_seconds=sum(p.cpu_seconds for p in parts),
    )


def generated_blocks(size: int, block: bytes) -> Iterator[memoryview]:
    view = memoryview(block)
    left = size
    while left > 0:
        piece = view[: min(left, len(block))]
        left -= len(piece)
        yield piece
