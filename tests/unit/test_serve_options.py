"""``boxdrive-wsgi serve``'s waitress adjustments: send_bytes, connections, open files."""

from __future__ import annotations

import resource
import warnings
from pathlib import Path
from typing import Any

import pytest
import waitress
from click.testing import CliRunner
from waitress.adjustments import Adjustments

from boxdrive_wsgi.cli.serve import (
    CHANNEL_TIMEOUT,
    CONNECTION_LIMIT,
    FDS_PER_CONNECTION,
    FDS_RESERVED,
    SEND_BYTES,
    connection_options,
    fit_open_files,
    serve,
    waitress_options,
)


def test_small_responses_are_queued_whole_and_waitress_takes_the_setting() -> None:
    options = waitress_options()
    assert options == {"send_bytes": SEND_BYTES}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the deprecation warning is filtered, nothing else
        waitress_options()
        assert Adjustments(**options).send_bytes == SEND_BYTES


def test_a_waitress_without_the_setting_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(Adjustments, "send_bytes")
    assert waitress_options() == {}


def test_connection_options_poll_and_clean_up_within_the_timeout() -> None:
    options = connection_options(1000, 30)
    assert options == {
        "connection_limit": 1000,
        "channel_timeout": 30,
        "cleanup_interval": 15,
        "asyncore_use_poll": True,
    }
    adjustments = Adjustments(**options)  # waitress takes every one
    assert adjustments.connection_limit == 1000 and adjustments.asyncore_use_poll
    assert connection_options(1, 1)["cleanup_interval"] == 1
    assert connection_options(10, 600)["cleanup_interval"] == 30


def fake_limits(monkeypatch: pytest.MonkeyPatch, soft: int, hard: int) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (soft, hard))
    monkeypatch.setattr(resource, "setrlimit", lambda _which, limits: calls.append(limits))
    return calls


def test_the_soft_open_file_limit_is_raised_for_the_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_limits(monkeypatch, 1024, 1_048_576)
    assert fit_open_files(1000) == 1000
    assert calls == [(1000 * FDS_PER_CONNECTION + FDS_RESERVED, 1_048_576)]


def test_a_low_hard_limit_caps_the_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_limits(monkeypatch, 256, 1024)
    assert fit_open_files(1000) == (1024 - FDS_RESERVED) // FDS_PER_CONNECTION
    assert calls == [(1024, 1024)]


def test_enough_open_files_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_limits(monkeypatch, 65536, 65536)
    assert fit_open_files(1000) == 1000
    assert calls == []


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, (CONNECTION_LIMIT, CHANNEL_TIMEOUT)),
        (["--connection-limit", "50", "--channel-timeout", "7"], {}, (50, 7)),
        (
            [],
            {"BOXDRIVE_CONNECTION_LIMIT": "300", "BOXDRIVE_CHANNEL_TIMEOUT": "12"},
            (300, 12),
        ),
    ],
    ids=["defaults", "options", "environment"],
)
def test_serve_hands_the_connection_settings_to_waitress(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    expected: tuple[int, int],
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(waitress, "serve", lambda _app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (65536, 65536))
    monkeypatch.setenv("BOXDRIVE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(serve, args, env=env)
    assert result.exit_code == 0, result.output
    assert (seen["connection_limit"], seen["channel_timeout"]) == expected
    assert seen["asyncore_use_poll"] is True


def test_serve_refuses_a_zero_connection_limit() -> None:
    result = CliRunner().invoke(serve, ["--connection-limit", "0"])
    assert result.exit_code == 2
