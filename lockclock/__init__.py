"""lockclock: cron-style schedules on redundant clocks, exactly one dispatch per tick."""

from __future__ import annotations

__version__ = "0.1.0"

from .app import Clock, default_clock, schedule
from .context import RunContext, current_run
from .errors import ConfigError, LockclockError, ScheduleError

__all__ = [
    "Clock",
    "ConfigError",
    "LockclockError",
    "RunContext",
    "ScheduleError",
    "__version__",
    "current_run",
    "default_clock",
    "schedule",
]
