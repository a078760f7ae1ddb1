"""Reading deliveries and starting them: the stream consumer of one worker identity.

It reads only as many entries as the pool can start at once, so nothing waits in this
worker's pending list for a slot while another worker is idle; each entry read is
started at once (`start.lua`), or refused there (a stale copy, a run that waited past
its max lateness).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import redis

from ..context import RunContext, tick_datetime
from ..coordination.failures import AUTH_ERRORS, TRANSIENT_ERRORS
from ..coordination.runs import Delivery, Runs, Started
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule
from .pool import RunPool
from .reconcile import Reconciler
from .recording import ClaimedRun, OutcomeRecorder
from .worker_lease import WorkerLease

# How long an unknown schedule's run waits before it is offered to workers again
# (a worker running older code than the clock's, during a deploy).
UNKNOWN_SCHEDULE_DELAY_MS = 5000
# How often a worker squares what Redis says it holds with what it runs (reconcile.py).
RECONCILE_EVERY_S = 5.0


class Consumer:
    def __init__(
        self,
        *,
        runs: Runs,
        blocking: redis.Redis,
        lease: WorkerLease,
        pool: RunPool,
        recorder: OutcomeRecorder,
        schedules: Mapping[str, Schedule],
        queues: Sequence[str],
        now_ms: Callable[[], int],
        ontime_ms: int,
        wait_replicas: int = 0,
        block_ms: int = 500,
    ) -> None:
        self.runs = runs
        # reads block on a connection of their own, named, so that a stop can unblock it
        self._reader_name = f"lockclock-reader-{os.getpid()}-{os.urandom(3).hex()}"
        connections = blocking.connection_pool
        self.blocking = redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=connections.connection_class,
                **{**connections.connection_kwargs, "client_name": self._reader_name},
            )
        )
        self.lease = lease
        self.pool = pool
        self.recorder = recorder
        self.schedules = schedules
        self.queues = list(queues)
        self._now_ms = now_ms
        self.wait_replicas = wait_replicas
        self.ontime_ms = ontime_ms
        self.block_ms = block_ms
        self.reading = threading.Event()  # clear: paused (an inline clock on standby)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fatal: BaseException | None = None
        self.reconciler: Reconciler | None = None
        self._log = EventLog("lockclock.worker")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lockclock-consumer", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop reading at once: a read in flight is unblocked (and gives back anything it
        got, unstarted)."""
        self._stop.set()
        self.reading.set()
        try:
            for client in self.runs.redis.client_list():
                if client.get("name") == self._reader_name:
                    self.runs.redis.client_unblock(int(client["id"]))
        except redis.RedisError:  # no CLIENT permission: the read ends within its block
            pass

    def join(self) -> None:
        """Wait for a read in flight (at most its block time): after this nothing of this
        identity's can enter the pending list."""
        if self._thread is not None:
            self._thread.join(self.block_ms / 1000 + 2)

    def stop(self) -> None:
        self.request_stop()
        self.join()

    def _loop(self) -> None:
        backoff = 0.0
        groups_ready = False
        next_reconcile = time.monotonic() + RECONCILE_EVERY_S
        while not self._stop.is_set():
            self.reading.wait()
            if self._stop.is_set():
                return
            try:
                if not groups_ready:
                    self.runs.ensure_groups(self.queues)
                    groups_ready = True
                self.step()
                if time.monotonic() >= next_reconcile and self.reconciler is not None:
                    self.reconciler.step()
                    next_reconcile = time.monotonic() + RECONCILE_EVERY_S
                backoff = 0.0
            except AUTH_ERRORS as exc:
                self.fatal = exc
                return
            except TRANSIENT_ERRORS as exc:
                backoff = min(max(backoff * 2, 0.25), 5.0)
                self._log.warning(
                    "redis_unavailable", error=f"{type(exc).__name__}: {exc}", retry_in_s=backoff
                )
                self._stop.wait(backoff)
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # Redis lost the stream or its group: make it again
                    groups_ready = False
                    continue
                backoff = min(max(backoff * 2, 0.25), 5.0)
                self._log.error("consumer_failed", error=f"{type(exc).__name__}: {exc}")
                self._stop.wait(backoff)

    def step(self) -> None:
        if not self.pool.wait_free(self.block_ms / 1000):
            return
        if not self.lease.valid:
            time.sleep(0.05)  # never start under a lease that may have lapsed
            return
        deliveries = self.runs.read(
            self.blocking,
            self.lease.worker_id,
            self.queues,
            count=self.pool.free(),
            block_ms=self.block_ms,
        )
        for d in deliveries:
            if self._stop.is_set():  # read as we were told to stop: give it back unstarted
                self.runs.release_entry(d)
                continue
            self._start(d)

    def release_pending(self) -> None:
        """Before this identity leaves the consumer group: entries it still holds unstarted
        go back (XGROUP DELCONSUMER would drop them from the pending list for good)."""
        for queue in self.queues:
            for d in self.runs.unstarted(self.lease.worker_id, queue, idle_ms=0):
                if (d.schedule, d.tick_ms) not in {
                    (c.schedule, c.tick_ms) for c in self.pool.running()
                }:
                    self.runs.release_entry(d)

    def _start(self, d: Delivery) -> None:
        worker_id = self.lease.worker_id
        result = self.runs.start(worker_id, d)
        if not isinstance(result, Started):
            if result == "missed":
                self._log.warning(
                    "run_missed_in_queue",
                    schedule=d.schedule,
                    tick=iso_ms(d.tick_ms),
                    note="it waited in the queue past its max lateness; never started",
                )
            return
        if self.wait_replicas:
            self.runs.wait_replicas(self.wait_replicas, 250)
        ctx = RunContext(
            schedule=d.schedule,
            tick=tick_datetime(result.for_tick_ms or d.tick_ms),
            trigger=result.trigger,
            key_ms=d.tick_ms if result.for_tick_ms else None,
            fence=result.fence,
            clock_id=result.claimed_by,
            epoch=result.epoch,
            late=max(result.now_ms - d.tick_ms, 0) / 1000,
            attempt=result.attempt,
            worker_id=worker_id,
            queue=d.queue,
            enqueued_at=tick_datetime(result.enqueued_ms) if result.enqueued_ms else None,
        )
        sched = self.schedules.get(d.schedule)
        if sched is None:
            self._log.warning(
                "unknown_schedule",
                schedule=d.schedule,
                tick=iso_ms(d.tick_ms),
                note="this worker's code has no such schedule: handed back for another",
            )
            self.runs.handback(
                worker_id,
                schedule=d.schedule,
                queue=d.queue,
                tick_ms=d.tick_ms,
                fence=result.fence,
                delay_ms=UNKNOWN_SCHEDULE_DELAY_MS,
                why="unknown_schedule",
            )
            return
        catchup = result.claim_late_ms > self.ontime_ms
        self.pool.submit(
            ClaimedRun(
                schedule=sched, context=ctx, catchup=catchup, progress_json=result.progress_json
            )
        )
