"""Running started attempts in this process: a thread per plain function (bounded by
the concurrency), one event loop thread for `async def` jobs, so a slow job never
delays another's start. Each attempt gets its control (progress, stop requests) and,
with a `timeout=`, its deadlines. Threads are daemons: a process stopping asks its jobs
to stop, waits for them up to its grace period, then hands back or records what is
still running, never hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from ..context import RunContext
from ..coordination.runs import Runs
from ..hooks import Hooks
from ..lifecycle import Outcome
from ..logs import EventLog
from ..timers import Timers
from .control import AttemptControl
from .job import call_async, call_sync
from .recording import ClaimedRun, OutcomeRecorder


@dataclass(kw_only=True)
class Active:
    run: ClaimedRun
    control: AttemptControl
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    future: Future[None] | None = None  # an async job's task
    timed_out: bool = False


class RunPool:
    def __init__(
        self,
        *,
        recorder: OutcomeRecorder,
        runs: Runs,
        hooks: Hooks,
        now_ms: Callable[[], int],
        concurrency: int | None,
        grace_s: float,
        on_timed_out: Callable[[Active], None],
    ) -> None:
        self._recorder = recorder
        self._runs = runs
        self._hooks = hooks
        self._now_ms = now_ms
        self.concurrency = concurrency  # None: no limit
        self.grace_s = grace_s
        self._on_timed_out = on_timed_out
        self._active: dict[tuple[str, int], Active] = {}
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers = Timers("lockclock-timeouts")
        self._log = EventLog("lockclock.jobs")

    def free(self) -> int:
        """How many more runs may start now."""
        with self._lock:
            if self.concurrency is None:
                return 100
            return max(self.concurrency - len(self._active), 0)

    def wait_free(self, timeout_s: float) -> bool:
        with self._freed:
            if self.concurrency is None or len(self._active) < self.concurrency:
                return True
            self._freed.wait(timeout_s)
            return len(self._active) < self.concurrency

    def submit(self, run: ClaimedRun) -> None:
        control = AttemptControl(
            runs=self._runs,
            hooks=self._hooks,
            schedule=run.schedule,
            progress_json=run.progress_json,
            grace_s=self.grace_s,
        )
        ctx = replace(run.context, control=control)
        control.context = ctx
        run = replace(run, context=ctx)
        active = Active(run=run, control=control)
        with self._lock:
            self._active[(run.schedule.name, ctx.tick_ms)] = active
        timeout = run.schedule.timeout_s
        if timeout is not None:

            def running() -> bool:
                return not active.done.is_set()

            self._timers.after(timeout, lambda: self._ask_stop(active, "timeout"), running)
            self._timers.after(timeout + self.grace_s, lambda: self._hard_timeout(active), running)
        if run.schedule.is_async:
            fut = asyncio.run_coroutine_threadsafe(self._run_async(active), self._event_loop())
            active.future = fut
            fut.add_done_callback(self._log_runner_failure)
        else:
            threading.Thread(
                target=self._run_sync, args=(active,), name=f"job:{run.schedule.name}", daemon=True
            ).start()

    def _ask_stop(self, active: Active, reason: str) -> None:
        if not active.done.is_set():
            active.control.request_stop(reason)

    def _hard_timeout(self, active: Active) -> None:
        """Past its timeout and the grace, still running: an async job is cancelled; a
        thread cannot be, so the run is recorded timed_out and the service decides."""
        if active.done.is_set():
            return
        if active.future is not None:
            active.future.cancel()
            return
        active.timed_out = True
        self._on_timed_out(active)

    @staticmethod
    def _log_runner_failure(fut: Future[None]) -> None:
        """Job errors are handled inside the runner; this only catches our own bugs."""
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            EventLog("lockclock.jobs").logger.error("async runner failed", exc_info=exc)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="lockclock-async", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def _run_sync(self, active: Active) -> None:
        self._finish(active, call_sync(active.run, self._hooks, self._now_ms))

    async def _run_async(self, active: Active) -> None:
        outcome = await call_async(active.run, self._hooks, self._now_ms)
        await asyncio.to_thread(self._finish, active, outcome)

    def _finish(self, active: Active, outcome: Outcome) -> None:
        successor = None
        try:
            if active.timed_out:  # recorded already; its thread has ended at last
                self._recorder.unblock(active.run)
            elif self._owns(active):
                successor = self._recorder.finished(active.run, outcome)
        finally:
            self._forget(active)
            active.done.set()
        if successor is not None:
            self.submit(successor)

    def _owns(self, active: Active) -> bool:
        run = active.run
        with self._lock:
            return self._active.get((run.schedule.name, run.context.tick_ms)) is active

    def _forget(self, active: Active) -> None:
        run = active.run
        with self._freed:
            if self._active.get((run.schedule.name, run.context.tick_ms)) is active:
                del self._active[(run.schedule.name, run.context.tick_ms)]
            self._freed.notify_all()

    def running(self) -> list[RunContext]:
        with self._lock:
            return [a.run.context for a in self._active.values()]

    def actives(self) -> list[Active]:
        with self._lock:
            return list(self._active.values())

    def ask_all_to_stop(self, reason: str) -> None:
        for active in self.actives():
            self._ask_stop(active, reason)

    def drain(self, deadline: float, force: threading.Event) -> list[Active]:
        """Wait until every run is done, the monotonic deadline passes or `force` is set;
        return the runs still going (async ones are cancelled then)."""
        while True:
            with self._lock:
                pending = [a for a in self._active.values() if not a.timed_out]
            remaining = deadline - time.monotonic()
            if not pending or remaining <= 0 or force.is_set():
                for a in pending:
                    if a.future is not None:
                        a.future.cancel()
                return pending
            pending[0].done.wait(min(remaining, 0.1))

    def abandon(self, active: Active) -> None:
        """Forget a run handed back or recorded interrupted: its thread may go on, but
        nothing it does is this pool's to record."""
        self._forget(active)
