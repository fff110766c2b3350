"""The access log's background writer: every line out, whole, in order, and on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from boxdrive_wsgi.observability.line_writer import PIPE_BUF, LineWriter

ROOT = Path(__file__).resolve().parents[2]


class Recording:
    """A stream that records each write and the flush that ends it."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.pending = ""
        self.threads: set[str] = set()

    def write(self, text: str) -> int:
        self.pending += text
        self.threads.add(threading.current_thread().name)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.writes.append(self.pending)
            self.pending = ""


def wait_for(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_lines_arrive_whole_in_order_and_in_pipe_sized_writes() -> None:
    stream = Recording()
    writer = LineWriter(stream, max_write=PIPE_BUF)  # type: ignore[arg-type]
    lines = [f"line {i} " + "x" * (i % 97) for i in range(3000)]

    def send(part: list[str]) -> None:
        for line in part:
            writer.write(line)

    senders = [threading.Thread(target=send, args=(p,)) for p in (lines[:1500], lines[1500:])]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    wait_for(lambda: sum(w.count("\n") for w in stream.writes) == 3000)
    assert stream.threads == {"access-log"}  # never the sending threads
    assert all(w.endswith("\n") and len(w.encode()) <= PIPE_BUF for w in stream.writes)
    written = "".join(stream.writes).splitlines()
    assert sorted(written) == sorted(lines)
    assert [x for x in written if int(x.split()[1]) < 1500] == lines[:1500]  # each sender's order
    assert len(stream.writes) < 3000  # batched, not one write per line


def test_a_line_wider_than_a_write_goes_alone_and_whole() -> None:
    stream = Recording()
    writer = LineWriter(stream, max_write=64)  # type: ignore[arg-type]
    for line in ("short", "é" * 40, "w" * 200, "tail"):  # 80 bytes of 40 characters
        writer.write(line)
    wait_for(lambda: "tail\n" in "".join(stream.writes))
    assert "".join(stream.writes) == "short\n" + "é" * 40 + "\n" + "w" * 200 + "\ntail\n"
    assert "w" * 200 + "\n" in stream.writes
    assert all(len(w.encode()) <= 64 or w.count("\n") == 1 for w in stream.writes)


def test_request_threads_wake_the_writer_only_once_it_has_parked() -> None:
    stream = Recording()
    writer = LineWriter(stream, linger=0.005)  # type: ignore[arg-type]
    sets: list[str] = []
    wake_set = writer._wake.set

    def counted_set() -> None:
        sets.append(threading.current_thread().name)
        wake_set()

    writer._wake.set = counted_set  # type: ignore[method-assign]
    for i in range(40):  # a steady flow: the writer wakes itself, nobody signals it
        writer.write(f"steady {i}")
        time.sleep(0.002)
    wait_for(lambda: "steady 39\n" in "".join(stream.writes))
    assert sets == []
    wait_for(lambda: writer._parked)  # a quiet spell: it waits for the next line
    writer.write("after the quiet spell")
    wait_for(lambda: "after the quiet spell\n" in "".join(stream.writes))
    assert sets == ["MainThread"]
    assert "".join(stream.writes).splitlines()[-1] == "after the quiet spell"


def test_flush_writes_what_is_queued_from_the_caller() -> None:
    stream = Recording()
    writer = LineWriter(stream)  # type: ignore[arg-type]
    with writer._writing:  # the writer thread cannot take lines meanwhile
        for i in range(5):
            writer.write(f"queued {i}")
        assert stream.writes == []
    assert writer.flush() is True
    assert "".join(stream.writes) == "".join(f"queued {i}\n" for i in range(5))


def test_flush_gives_up_after_its_timeout_while_a_write_holds_it() -> None:
    writer = LineWriter(Recording())  # type: ignore[arg-type]
    with writer._writing:
        assert writer.flush(0.05) is False


SIGTERM_CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from boxdrive_wsgi.observability import access_log

    class Slow:  # the first write stalls, as a full pipe would
        def __init__(self):
            self.first = threading.Event()
        def write(self, text):
            if not self.first.is_set():
                self.first.set()
                time.sleep(0.5)
            sys.stdout.write(text)
        def flush(self):
            sys.stdout.flush()

    stream = Slow()
    sys.stderr = stream
    access_log.configure(True)
    record = access_log.AccessRecord("ID", "GET", "GetObject", "b", 200, None, 1, 0.1, "u", "r")
    access_log.emit(record, "text")
    stream.first.wait()
    for _ in range(99):  # queued behind the stalled write
        access_log.emit(record, "text")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    """
)


def test_sigterm_writes_the_queued_lines_then_dies_of_it() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_CHILD], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == -15, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 100, done.stdout
    assert all("operation=GetObject" in line for line in lines)
