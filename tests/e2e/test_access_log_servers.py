"""BOXDRIVE_ACCESS_LOG=json under real servers: every access line in the server's output is
one JSON object with an RFC 3339 UTC ``time``, as a log shipper parses it, and there is one
per request (gunicorn's own access log is off)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from .deploy import ROOT, gunicorn_argv, wait_ready
from .servers import RunningServer, free_port, server_env, start_server, waitress_argv


def start_waitress(data_dir: Path, log_dir: Path, env: dict[str, str]) -> RunningServer:
    port = free_port()
    return start_server(waitress_argv(port, threads=2), env, port=port, log_dir=log_dir)


def start_gunicorn(data_dir: Path, log_dir: Path, env: dict[str, str]) -> RunningServer:
    port = free_port()
    env = {**env, "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}
    return start_server(gunicorn_argv(port), env, port=port, log_dir=log_dir, cwd=str(ROOT))


@pytest.mark.parametrize("start", [start_waitress, start_gunicorn], ids=["waitress", "gunicorn"])
def test_json_access_lines_parse(
    start: Callable[[Path, Path, dict[str, str]], RunningServer], tmp_path: Path
) -> None:
    env = server_env(tmp_path / "data", extra={"BOXDRIVE_ACCESS_LOG": "json"})
    server = start(tmp_path / "data", tmp_path, env)
    try:
        wait_ready(server.endpoint)
        before = datetime.now(UTC)
        for path in ("/", "/some-bucket", "/some-bucket/key"):
            requests.get(server.endpoint + path, timeout=10).close()
    finally:
        server.stop()
    access = [line for line in server.log().splitlines() if '"operation"' in line]
    assert len(access) == 3, server.log()
    for line in access:
        record = json.loads(line)  # the whole line, not a prefixed message
        assert record["time"].endswith("Z")
        at = datetime.fromisoformat(record["time"])
        assert at.tzinfo is not None and at.utcoffset() == UTC.utcoffset(None)
        assert abs((at - before).total_seconds()) < 60
        assert record["pid"] != server.pid or start is start_waitress  # gunicorn: a worker
    # One line per request: gunicorn's own access log is off (it would repeat each one).
    assert '"GET /some-bucket/key"' not in server.log()
    assert [json.loads(line)["operation"] for line in access] == [
        "ListBuckets",
        "ListObjects",
        "GetObject",
    ]
