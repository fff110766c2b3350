"""The lifecycle sweeper: applies buckets' lifecycle rules through the ObjectStore API
(so every store gets it), from ``boxdrive-wsgi lifecycle run`` or an opt-in thread."""

from __future__ import annotations

from .runner import SweepLock, run_once, start_background
from .sweeper import SweepReport, sweep, sweep_bucket

__all__ = ["SweepLock", "SweepReport", "run_once", "start_background", "sweep", "sweep_bucket"]
