"""lockclock: cron-style schedules on redundant clocks, exactly one dispatch per tick.

The names below are imported on first use (PEP 562), so `import lockclock` costs next
to nothing and a process can take charge of its signals before the heavy imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .app import Clock, default_clock, schedule
    from .context import RunContext, current_run
    from .errors import (
        ConfigError,
        Interrupted,
        LockclockError,
        ProgressTooLarge,
        ScheduleError,
        Superseded,
    )

_EXPORTS = {
    "Clock": ".app",
    "default_clock": ".app",
    "schedule": ".app",
    "RunContext": ".context",
    "current_run": ".context",
    "ConfigError": ".errors",
    "LockclockError": ".errors",
    "ScheduleError": ".errors",
    "Interrupted": ".errors",
    "Superseded": ".errors",
    "ProgressTooLarge": ".errors",
}

__all__ = [
    "Clock",
    "ConfigError",
    "Interrupted",
    "LockclockError",
    "ProgressTooLarge",
    "RunContext",
    "ScheduleError",
    "Superseded",
    "__version__",
    "current_run",
    "default_clock",
    "schedule",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lockclock' has no attribute {name!r}")
