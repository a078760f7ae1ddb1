"""A test app for dispatch="workers" (set LOCKCLOCK_DISPATCH=workers): each job writes a
start row and an end row (tick, fence, attempt, worker pid, time) to WORKER_LEDGER, in
one O_APPEND write each, so a run killed mid-way shows as a start with no end.
Schedules are chosen by WORKER_SCHEDULES (comma-separated)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta

from lockclock import Clock, current_run

clock = Clock()
LEDGER = os.environ["WORKER_LEDGER"]
JOB_S = float(os.environ.get("WORKER_JOB_SECONDS", "0.3"))
LONG_S = float(os.environ.get("WORKER_LONG_SECONDS", "30"))


def row(kind: str, **extra: object) -> None:
    run = current_run()
    line = {
        **extra,
        "kind": kind,
        "schedule": run.schedule,
        "tick": run.tick_ms,
        "for_tick": int(run.tick.timestamp() * 1000),  # a backfill: the tick it replays
        "trigger": run.trigger,
        "fence": run.fence,
        "attempt": run.attempt,
        "worker": run.worker_id,
        "queue": run.queue,
        "enqueued": run.enqueued_at.timestamp() if run.enqueued_at else None,
        "pid": os.getpid(),
        "t": time.time(),
    }
    fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)


def work() -> None:
    row("start")
    time.sleep(JOB_S)
    row("end")


def long_job() -> None:
    row("start")
    time.sleep(LONG_S)
    row("end")


STEPS = int(os.environ.get("WORKER_STEPS", "40"))
STEP_S = float(os.environ.get("WORKER_STEP_SECONDS", "0.5"))


def steps() -> None:
    """40 steps of 0.5 s; progress (the next step) saved after each; a step is accepted
    once its save went through."""
    run = current_run()
    for step in range(run.progress or 0, STEPS):
        run.raise_if_stopping()
        row("step", step=step)
        time.sleep(STEP_S)
        run.save_progress(step + 1)
        row("accepted", step=step)


def numbers(cursor: int | None) -> Iterator[tuple[int, int]]:
    for i in range(cursor or 0, STEPS):
        yield i, i + 1


def steps_each() -> None:
    """The same with current_run().each: the helper saves and stops between items."""
    for step in current_run().each(numbers):
        row("step", step=step)
        time.sleep(STEP_S)


def three(cursor: int | None) -> Iterator[tuple[int, int]]:
    for i in range(cursor or 0, 3):
        yield i, i + 1


def slow_items() -> None:
    """Items longer than the grace period: a restart could not stop this job in time."""
    for item in current_run().each(three):
        row("step", step=item)
        time.sleep(LONG_S)
    row("end")


async def steps_async() -> None:
    """The steps as a coroutine: the same stop check and fenced save between steps."""
    run = current_run()
    for step in range(run.progress or 0, STEPS):
        run.raise_if_stopping()
        row("step", step=step)
        await asyncio.sleep(STEP_S)
        run.save_progress(step + 1)
        row("accepted", step=step)


async def stubborn_async() -> None:
    """Ignores every stop request; only a cancellation ends it early."""
    row("start")
    try:
        await asyncio.sleep(LONG_S)
    except asyncio.CancelledError:
        row("cancelled")
        raise
    row("end")


def stubborn() -> None:
    """Ignores every stop request."""
    row("start")
    time.sleep(LONG_S)
    row("end")


def polite() -> None:
    """Stops within 0.1 s of being asked."""
    row("start")
    run = current_run()
    for _ in range(int(LONG_S * 10)):
        run.raise_if_stopping()
        time.sleep(0.1)
    row("end")


def poison() -> None:
    row("start")
    os.kill(os.getpid(), signal.SIGKILL)  # takes its worker down every time


def flaky() -> None:
    row("start")
    raise RuntimeError(f"attempt {current_run().attempt} failed")


_AVAILABLE = {
    "sec": {"cron": "* * * * * *", "overlap": "allow", "func": work},
    "every2s": {"every": "2s", "func": work},
    "long": {"every": "1h", "func": long_job},
    "minute_long": {"every": "1m", "func": long_job},
    "steps": {"every": "1h", "func": steps},
    "steps_each": {"every": "1h", "func": steps_each},
    "timeout_polite": {"every": "1h", "func": polite, "timeout": 1.5},
    "timeout_stubborn": {"every": "1h", "func": stubborn, "timeout": 1.5},
    "timeout_stubborn_async": {"every": "1h", "func": stubborn_async, "timeout": 1.5},
    "steps_async": {"every": "1h", "func": steps_async},
    "slow_items": {"every": "1h", "func": slow_items},
    "cancellable": {"every": "1h", "func": polite},
    "poison": {"every": "1h", "func": poison},
    "flaky": {"every": "1h", "func": flaky, "retries": 2, "retry_backoff": 0.2},
    "late": {"every": "2s", "func": work, "max_lateness": timedelta(seconds=2)},
    "reports": {"every": "2s", "func": work, "queue": "reports"},
    "never": {"cron": "0 0 1 1 *", "func": work},  # yearly: only runs when triggered
    "never_long": {"cron": "0 0 1 1 *", "func": polite},
    "never_slugged": {"cron": "0 0 1 1 *", "func": work, "monitor": "acme-yearly-report"},
}  # fmt: skip

for _name in os.environ.get("WORKER_SCHEDULES", "sec").split(","):
    _opts = dict(_AVAILABLE[_name])
    _cron = _opts.pop("cron", None)
    _func = _opts.pop("func")
    clock.schedule(_cron, name=_name, **_opts)(_func)  # type: ignore[arg-type]
