"""One process's worker: its lease, its consumer and its pool, started and stopped as
one. `lockclock worker` runs one reading all the time; an inline clock runs one reading
only while it holds the clock lease."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import redis

from ..context import RunContext
from ..coordination.failures import TRANSIENT_ERRORS
from ..coordination.store import Store
from ..hooks import Hooks
from ..logs import EventLog
from ..scheduling import Schedule
from .consumer import Consumer
from .pool import Active, RunPool
from .reconcile import Reconciler
from .recording import OutcomeRecorder
from .worker_lease import WorkerLease

# A run still going at the end of a worker's grace period is handed back, and becomes
# deliverable this long after: the process exits at once, so by then nothing of it runs.
HANDBACK_DELAY_MS = 1000
AtDeadline = Literal["hand_back", "interrupt"]


class WorkerService:
    def __init__(
        self,
        *,
        store: Store,
        blocking: redis.Redis,
        hooks: Hooks,
        schedules: Mapping[str, Schedule],
        queues: Sequence[str],
        worker_id: str,
        kind: str,
        concurrency: int | None,
        lease_ttl_s: float,
        now_ms: Callable[[], int],
        at_deadline: AtDeadline,
        ontime_ms: int,
        grace_s: float,
        wait_replicas: int = 0,
    ) -> None:
        self.store = store
        self.at_deadline = at_deadline
        self.recorder = OutcomeRecorder(store.runs, hooks)
        self.grace_s = grace_s
        self.exit_requested = threading.Event()  # a worker whose thread ran past a timeout
        self.pool = RunPool(
            recorder=self.recorder,
            runs=store.runs,
            hooks=hooks,
            now_ms=now_ms,
            concurrency=concurrency,
            grace_s=grace_s,
            on_timed_out=self._timed_out,
        )
        self.lease = WorkerLease(
            registry=store.workers,
            base_id=worker_id,
            queues=queues,
            ttl_s=lease_ttl_s,
            kind=kind,
            concurrency=concurrency,
            running=lambda: len(self.pool.running()),
            on_beat=self._check_stops,
            on_lost=self._lease_lost,
        )
        self.consumer = Consumer(
            runs=store.runs,
            blocking=blocking,
            lease=self.lease,
            pool=self.pool,
            recorder=self.recorder,
            schedules=schedules,
            queues=queues,
            now_ms=now_ms,
            ontime_ms=ontime_ms,
            wait_replicas=wait_replicas,
        )
        self.consumer.reconciler = Reconciler(
            runs=store.runs, lease=self.lease, pool=self.pool, schedules=schedules, queues=queues
        )
        self._started = False
        self._log = EventLog("lockclock.worker", worker=worker_id)

    @property
    def worker_id(self) -> str:
        return self.lease.worker_id

    def start(self, *, reading: bool) -> None:
        self.lease.start()
        if reading:
            self.consumer.reading.set()
        self.consumer.start()
        self._started = True

    def resume_reading(self) -> None:
        self.consumer.reading.set()

    def pause_reading(self) -> None:
        self.consumer.reading.clear()

    def running(self) -> list[RunContext]:
        return self.pool.running()

    def _check_stops(self) -> None:
        """With each heartbeat: a stop an operator asked for reaches the job."""
        actives = {(a.run.schedule.name, a.run.context.tick_ms): a for a in self.pool.actives()}
        for key, stop in self.store.runs.stops_for(actives).items():
            reason = str(stop.get("reason") or "no reason given")
            actives[key].control.request_stop(f"cancel by {stop.get('by')}: {reason}")

    def _lease_lost(self, old_id: str) -> None:
        """Runs held under a lease the reaper took are another attempt's now: stopping at
        the next checkpoint keeps two attempts from working side by side for long."""
        for active in self.pool.actives():
            if active.run.context.worker_id == old_id:
                active.control.request_stop("lease lost")

    def _timed_out(self, active: Active) -> None:
        """A run ran past its timeout and the grace. Inline it stays counted as running
        until its thread ends; a worker records it and exits, so that the platform
        restarts it clean (a thread cannot be killed)."""
        running_s = time.monotonic() - active.started
        inline = self.at_deadline == "interrupt"
        self.recorder.timed_out(active.run, running_s=running_s, hold=inline)
        if not inline:
            self.exit_requested.set()

    def stop(self, deadline: float, force: threading.Event) -> int:
        """Stop reading at once, let running jobs end until the deadline, then hand back
        (a worker) or record interrupted (an inline clock) what is still running; return
        how many were. Deregisters last, once nothing it holds is left."""
        if not self._started:
            return 0
        self.consumer.request_stop()  # the jobs' grace runs while a read in flight ends
        self.pool.ask_all_to_stop("shutdown")
        running = self.pool.running()
        if running:
            self._log.info(
                "waiting_for_jobs",
                running=len(running),
                grace_s=round(max(deadline - time.monotonic(), 0), 3),
            )
        leftover = self.pool.drain(deadline, force)
        for active in leftover:
            self.pool.abandon(active)
            # handed back to resume once this process is gone; inline, only a run with
            # progress to resume from (inline execution is at most once)
            resumable = self.at_deadline == "hand_back" or active.control.progress is not None
            if resumable:
                self.recorder.handed_back(active.run, HANDBACK_DELAY_MS, "handed_back")
            else:
                self.recorder.interrupted(
                    active.run,
                    time.monotonic() - active.started,
                    "still running when the clock stopped",
                )
        self.consumer.join()
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self.consumer.release_pending()
        self.lease.stop()
        self.lease.deregister()
        return len(leftover)
