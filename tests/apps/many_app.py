"""MANY_SCHEDULES schedules; by default they never fall due during a test (yearly,
1 January). MANY_CRON picks another expression, e.g. every minute for a burst."""

from __future__ import annotations

import os

from lockclock import Clock

clock = Clock()


def noop() -> None: ...


for _i in range(int(os.environ.get("MANY_SCHEDULES", "1000"))):
    clock.schedule(os.environ.get("MANY_CRON", "0 0 1 1 *"), name=f"s{_i:04d}")(noop)
