"""A live worker squares what Redis says it holds with what it really runs, every few
seconds. Redis that lost writes (a crash with AOF everysec, a failover) can leave a
record saying this worker runs an attempt it finished or never started, or an entry in
its pending list it never started: such a run would never end, and with overlap
"skip" would block its schedule for good. Each is released for another attempt (see
`release.lua`); an attempt started within the grace is left alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..coordination.records import RunRecord
from ..coordination.runs import Runs
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule
from .pool import RunPool
from .worker_lease import WorkerLease

RELEASE_GRACE_MS = 5000


class Reconciler:
    def __init__(
        self,
        *,
        runs: Runs,
        lease: WorkerLease,
        pool: RunPool,
        schedules: Mapping[str, Schedule],
        queues: Sequence[str],
    ) -> None:
        self.runs = runs
        self.lease = lease
        self.pool = pool
        self.schedules = schedules
        self.queues = list(queues)
        self._log = EventLog("lockclock.worker")

    def _queue_of(self, schedule: str, tick_ms: int) -> str:
        known = self.schedules.get(schedule)
        if known is not None:
            return known.queue
        raw = self.runs.redis.hget(self.runs.keys.runs(schedule), str(tick_ms))
        rec = RunRecord.from_json(raw) if raw else None
        return rec.queue if rec is not None and rec.queue else "default"

    def step(self) -> None:
        worker = self.lease.worker_id
        running = {(c.schedule, c.tick_ms) for c in self.pool.running() if c.worker_id == worker}
        for schedule, tick in self.runs.held(worker):
            if (schedule, tick) in running:
                continue
            result = self.runs.release(
                worker,
                schedule=schedule,
                queue=self._queue_of(schedule, tick),
                tick_ms=tick,
                grace_ms=RELEASE_GRACE_MS,
            )
            if result != "kept":
                self._log.warning(
                    "run_released",
                    worker=worker,
                    schedule=schedule,
                    tick=iso_ms(tick),
                    result=result,
                    note="Redis said this worker ran it, but it does not",
                )
        for queue in self.queues:
            for d in self.runs.unstarted(worker, queue, RELEASE_GRACE_MS):
                if (d.schedule, d.tick_ms) in running:
                    continue
                if self.runs.release_entry(d) == "released":
                    self._log.warning(
                        "run_released",
                        worker=worker,
                        schedule=d.schedule,
                        tick=iso_ms(d.tick_ms),
                        result="released",
                        note="an entry this worker read was never started",
                    )
