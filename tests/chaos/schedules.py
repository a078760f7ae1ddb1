"""What the soak schedules: one table for the app and the checker."""

from __future__ import annotations

from typing import Any

from lockclock.options import make_schedule
from lockclock.scheduling import Schedule

# name -> make_schedule options
SCHEDULES: dict[str, dict[str, Any]] = {
    "sec": {"cron": "* * * * * *", "catchup": "latest"},
    "skip2s": {"every": "2s", "catchup": "skip"},
    "all3s": {"every": "3s", "catchup": "all", "catchup_limit": 4},
    "minute": {"cron": "* * * * *", "catchup": "latest"},
    "slow": {"every": "10s", "catchup": "latest"},
    # a long job of BATCH_STEPS steps that saves its progress after each: restarts land
    # in the middle of it, and it resumes from its progress (inline and on workers)
    "batch": {"every": "20s", "catchup": "latest"},
}
BATCH_STEPS = 12
BATCH_STEP_S = 0.3


def schedules() -> dict[str, Schedule]:
    """The soak's schedules, for tick arithmetic."""
    return {name: make_schedule(print, name=name, **opts) for name, opts in SCHEDULES.items()}


def due_ticks(schedule: Schedule, after_ms: int, until_ms: int) -> list[int]:
    """Ticks in (after_ms, until_ms], every one of them."""
    ticks, _ = schedule.ticks_between(after_ms, until_ms, limit=10**7)
    return ticks
