"""Executing claimed runs inline: threads for plain functions, one event loop for
`async def` jobs, so a slow job never delays the next claim.

Threads are daemons: on shutdown the clock waits for them up to the grace period
and records whatever is still running as interrupted, instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from .context import RunContext, reset_current, set_current
from .logfmt import event
from .schedule import Schedule

log = logging.getLogger("lockclock.worker")


@dataclass(kw_only=True)
class Outcome:
    status: str  # ok | error
    started_ms: int
    duration_ms: int
    error: str | None = None
    # the exception itself, for reporting with its traceback; never stored in Redis
    exc: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass(kw_only=True)
class _Active:
    schedule: Schedule
    ctx: RunContext
    started_ms: int
    done: threading.Event = field(default_factory=threading.Event)


OnDone = Callable[[Schedule, RunContext, Outcome], None]
OnStart = Callable[[Schedule, RunContext], None]


class Worker:
    """Runs jobs and reports each outcome to `on_done` (called from the job's thread).

    `on_start`, if given, is called in the job's thread just before the function, so
    whatever it reports (a Sentry check-in) comes from where the job runs.
    """

    def __init__(
        self, *, on_done: OnDone, now_ms: Callable[[], int], on_start: OnStart | None = None
    ) -> None:
        self._on_done = on_done
        self._on_start = on_start
        self._now_ms = now_ms
        self._active: dict[tuple[str, int], _Active] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, schedule: Schedule, ctx: RunContext) -> None:
        run = _Active(schedule=schedule, ctx=ctx, started_ms=self._now_ms())
        with self._lock:
            self._active[(schedule.name, ctx.tick_ms)] = run
        if schedule.is_async:
            fut = asyncio.run_coroutine_threadsafe(self._run_async(run), self._event_loop())
            fut.add_done_callback(self._log_runner_failure)
        else:
            threading.Thread(
                target=self._run_sync, args=(run,), name=f"job:{schedule.name}", daemon=True
            ).start()

    @staticmethod
    def _log_runner_failure(fut: Future[None]) -> None:
        """Job errors are handled inside the runner; this only catches our own bugs."""
        exc = fut.exception()
        if exc is not None:
            log.error("async runner failed", exc_info=exc)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="lockclock-async", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def _started(self, run: _Active) -> None:
        if self._on_start is not None:
            try:
                self._on_start(run.schedule, run.ctx)
            except Exception:
                log.exception("on_start hook failed")  # our bug; the job runs regardless

    def _run_sync(self, run: _Active) -> None:
        token = set_current(run.ctx)
        self._started(run)
        t0 = time.monotonic()
        try:
            run.schedule.func(*run.schedule.args, **run.schedule.kwargs)
        except BaseException as exc:
            self._finish(run, t0, exc)
        else:
            self._finish(run, t0, None)
        finally:
            reset_current(token)

    async def _run_async(self, run: _Active) -> None:
        set_current(run.ctx)  # this task's own context copy
        self._started(run)
        t0 = time.monotonic()
        try:
            await run.schedule.func(*run.schedule.args, **run.schedule.kwargs)
        except BaseException as exc:
            await asyncio.to_thread(self._finish, run, t0, exc)
        else:
            await asyncio.to_thread(self._finish, run, t0, None)

    def _finish(self, run: _Active, t0: float, exc: BaseException | None) -> None:
        duration_ms = int((time.monotonic() - t0) * 1000)
        if exc is None:
            outcome = Outcome(status="ok", started_ms=run.started_ms, duration_ms=duration_ms)
        else:
            outcome = Outcome(
                status="error",
                started_ms=run.started_ms,
                duration_ms=duration_ms,
                error=f"{type(exc).__name__}: {exc}",
                exc=exc,
            )
            event(
                log,
                "job_failed",
                level=logging.ERROR,
                schedule=run.ctx.schedule,
                tick=run.ctx.tick.isoformat(),
                fence=run.ctx.fence,
                duration_ms=duration_ms,
                error=outcome.error,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        try:
            self._on_done(run.schedule, run.ctx, outcome)
        finally:
            with self._lock:
                self._active.pop((run.schedule.name, run.ctx.tick_ms), None)
            run.done.set()

    def running(self) -> list[RunContext]:
        with self._lock:
            return [r.ctx for r in self._active.values()]

    def wait(self, deadline: float) -> list[RunContext]:
        """Wait until every run is done or the monotonic deadline passes; return the rest."""
        while True:
            with self._lock:
                pending = list(self._active.values())
            if not pending:
                return []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return [r.ctx for r in pending]
            pending[0].done.wait(min(remaining, 0.1))
