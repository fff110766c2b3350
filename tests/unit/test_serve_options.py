"""``boxdrive-wsgi serve``'s waitress adjustments."""

from __future__ import annotations

import warnings

import pytest
from waitress.adjustments import Adjustments

from boxdrive_wsgi.cli.serve import SEND_BYTES, waitress_options


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
