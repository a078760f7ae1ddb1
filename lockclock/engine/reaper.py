"""The active clock's caretaking, after a renewal at most once a second: a dead worker's
runs go to another
worker (or end lost), and runs whose delay is over (retries, hand-backs) go into their
streams. Every new attempt's fence comes from here, above the clock's floor, like every
claim's: workers never assign fences."""

from __future__ import annotations

import time

from ..coordination.reaping import Reaped
from ..coordination.store import Store
from ..hooks import Hooks
from ..lifecycle import RunLost, RunRedelivered
from ..logs import EventLog, iso_ms
from .leadership import Leadership

# How often the active clock looks for dead workers and due delayed runs: a dead
# worker's runs move on within its lease plus this, and a stopped run resumes within it.
REAP_EVERY_S = 0.5


class Reaper:
    def __init__(
        self, *, store: Store, leadership: Leadership, hooks: Hooks, worker_lease_s: float
    ) -> None:
        self.store = store
        self.leadership = leadership
        self.hooks = hooks
        self.worker_lease_s = worker_lease_s
        self._next = 0.0
        # lapsed workers not yet known dead or alive (see Reaper.due): their runs
        # still look running, so a clock that just took over claims nothing until then
        self.undecided = False
        self._log = EventLog("lockclock.clock", clock=leadership.clock_id)

    def step(self, *, at_once: bool = False) -> None:
        started = time.monotonic()
        if started < self._next and not at_once:
            return
        self._next = started + REAP_EVERY_S
        lead = self.leadership
        reaper = self.store.reaper
        due = reaper.due(lead.time.now_ms(), int(self.worker_lease_s * 1000))
        self.undecided = bool(due.spared)
        for worker in due.dead:
            done, complete = reaper.reap_worker(worker, lead.floors.fence)
            for r in done:
                self._report(r)
            if complete:
                reaper.forget_worker(worker, lead.time.now_ms())
                self._log.warning("worker_reaped", worker=worker, runs=len(done))
        for schedule, tick in due.delayed:
            r = reaper.promote(schedule, tick, lead.floors.fence)
            if r.outcome == "queued":
                lead.floors.fence = max(lead.floors.fence, r.fence)

    def _report(self, r: Reaped) -> None:
        lead = self.leadership
        if r.outcome == "redelivered":
            lead.floors.fence = max(lead.floors.fence, r.fence)
            self.hooks.run_redelivered(
                RunRedelivered(
                    schedule=r.schedule,
                    tick_ms=r.tick_ms,
                    attempt=r.attempt,
                    fence=r.fence,
                    from_worker=r.worker,
                )
            )
        elif r.outcome == "lost":
            self.hooks.run_lost(
                RunLost(schedule=r.schedule, tick_ms=r.tick_ms, reason=r.reason, worker=r.worker)
            )
        else:
            self._log.info(
                "reap_skipped", schedule=r.schedule, tick=iso_ms(r.tick_ms), result=r.outcome
            )
