"""Calling a job's function as a run: `current_run()` set, the start hook fired in the
job's own thread, the outcome measured. Shared by every executor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..context import reset_current, set_current
from ..errors import Interrupted, Superseded
from ..hooks import Hooks
from ..lifecycle import Outcome, RunStarted
from .recording import ClaimedRun


def _outcome(run: ClaimedRun, started_ms: int, t0: float, exc: BaseException | None) -> Outcome:
    """ok or error; stopped when the job stopped as asked (Interrupted, or an async job
    cancelled once a stop was asked for); superseded when a newer attempt owns the run."""
    duration_ms = int((time.monotonic() - t0) * 1000)
    if exc is None:
        return Outcome(status="ok", started_ms=started_ms, duration_ms=duration_ms)
    asked = run.context.control is not None and run.context.control.stop_reason is not None
    stopping = isinstance(exc, (Interrupted, asyncio.CancelledError))
    if asked and stopping:  # an Interrupted raised with no stop asked for is a failure
        return Outcome(status="stopped", started_ms=started_ms, duration_ms=duration_ms)
    if isinstance(exc, Superseded):
        return Outcome(
            status="superseded", started_ms=started_ms, duration_ms=duration_ms, error=str(exc)
        )
    return Outcome(
        status="error",
        started_ms=started_ms,
        duration_ms=duration_ms,
        error=f"{type(exc).__name__}: {exc}",
        exc=exc,
    )


def call_sync(run: ClaimedRun, hooks: Hooks, now_ms: Callable[[], int]) -> Outcome:
    sched = run.schedule
    token = set_current(run.context)
    try:
        started_ms = now_ms()
        hooks.run_started(RunStarted(schedule=sched, run=run.context, catchup=run.catchup))
        t0 = time.monotonic()
        try:
            sched.func(*sched.args, **sched.kwargs)
        except BaseException as exc:  # a job's SystemExit is its failure, not ours
            return _outcome(run, started_ms, t0, exc)
        return _outcome(run, started_ms, t0, None)
    finally:
        reset_current(token)


async def call_async(run: ClaimedRun, hooks: Hooks, now_ms: Callable[[], int]) -> Outcome:
    sched = run.schedule
    set_current(run.context)  # this task's own context copy
    started_ms = now_ms()
    hooks.run_started(RunStarted(schedule=sched, run=run.context, catchup=run.catchup))
    t0 = time.monotonic()
    try:
        await sched.func(*sched.args, **sched.kwargs)
    except BaseException as exc:
        return _outcome(run, started_ms, t0, exc)
    return _outcome(run, started_ms, t0, None)
