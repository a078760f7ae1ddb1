"""Checks over a ledger written by tests/apps/ledger_app.py."""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from typing import Any

from lockclock import current_run


def append_run(path: str, **extra: Any) -> None:
    """Append what the current job sees to a ledger file, in one O_APPEND write, so lines
    from concurrent clock processes never interleave."""
    run = current_run()
    row = {"schedule": run.schedule, "tick": run.tick_ms, "fence": run.fence,
           "epoch": run.epoch, "pid": os.getpid(), "late": run.late, "attempt": run.attempt,
           "worker": run.worker_id, **extra}  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(row) + "\n").encode())
    finally:
        os.close(fd)


def ticks_of(ledger: list[dict[str, Any]], schedule: str) -> list[dict[str, Any]]:
    return sorted((r for r in ledger if r["schedule"] == schedule), key=lambda r: r["tick"])


def check_exactly_once(
    ledger: list[dict[str, Any]], schedule: str, *, step_ms: int = 1000, max_late_s: float
) -> list[dict[str, Any]]:
    """No duplicate, no gap, fences strictly increasing in tick order, bounded lateness."""
    rows = ticks_of(ledger, schedule)
    assert rows, f"no runs of {schedule}"
    dups = [t for t, n in Counter(r["tick"] for r in rows).items() if n > 1]
    assert not dups, f"duplicate dispatches of ticks {dups}"
    ticks = [r["tick"] for r in rows]
    gaps = [(a, b) for a, b in itertools.pairwise(ticks) if b - a != step_ms]
    assert not gaps, f"gaps between ticks: {gaps}"
    fences = [r["fence"] for r in rows]
    bad = [(a, b) for a, b in itertools.pairwise(fences) if b <= a]
    assert not bad, f"fences not strictly increasing: {bad}"
    worst = max(r["start"] - r["tick"] / 1000 for r in rows)
    assert worst < max_late_s, f"a run started {worst:.2f}s after its tick (bound {max_late_s}s)"
    return rows
