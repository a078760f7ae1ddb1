"""MANY_SCHEDULES schedules that never fall due during a test (yearly, 1 January)."""

from __future__ import annotations

import os

from lockclock import Clock

clock = Clock()


def noop() -> None: ...


for _i in range(int(os.environ.get("MANY_SCHEDULES", "1000"))):
    clock.schedule("0 0 1 1 *", name=f"s{_i:04d}")(noop)
