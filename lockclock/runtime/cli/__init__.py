"""`lockclock`: run a clock, check schedules, see status and history, test alerts.

One module per command family; importing this package registers them all on `main`.
"""

from __future__ import annotations

from . import alerts, check, control, describe, fleet, run, web, worker
from .base import main

__all__ = ["alerts", "check", "control", "describe", "fleet", "main", "run", "web", "worker"]
