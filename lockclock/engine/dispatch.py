"""Dispatch: which ticks are due, what the catch-up policy makes of them, and the claims.

The active clock keeps a heap of each schedule's next tick. When ticks fall due it asks
`plan_due` what to do (run, record missed, in doubt), claims them all in one pipeline
(one `claim.lua` call per schedule, which also starts each granted run inline, or puts
it in its queue's stream), waits for replicas when asked to, and hands runs the claim
started to the executor. An outage window goes with its claim, so it is stored
exactly when its ticks are recorded.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping
from functools import partial

from ..context import RunContext, tick_datetime
from ..coordination.claims import ClaimBatch, ClaimNote, ClaimRequest
from ..coordination.keys import layout_refused
from ..coordination.records import OutageRecord, PublishedSchedule, RunPolicy
from ..coordination.schedules import Registered
from ..coordination.store import Store
from ..errors import LayoutError
from ..execution.executor import Executor
from ..execution.recording import ClaimedRun
from ..hooks import Hooks
from ..lifecycle import OutageFound, RunDispatched, RunSkipped
from ..logs import EventLog, iso_ms
from ..scheduling import CronTrigger, IntervalTrigger, Plan, Schedule, plan_due
from ..settings import Settings
from .leadership import Activation, Leadership
from .recent_claims import RecentClaims

# Per schedule, at most this many past ticks are enumerated (and recorded) at once.
CATCHUP_SCAN_LIMIT = 1000
# After lost claims, fences the operators' requests may have taken: a backfill's maximum
# (engine/requests.py), and some triggers.
OPERATOR_FENCES = 10_100


class Dispatcher:
    def __init__(
        self,
        *,
        schedules: Mapping[str, Schedule],
        store: Store,
        settings: Settings,
        leadership: Leadership,
        hooks: Hooks,
        executor: Executor,
        monitors: Mapping[str, str] | None = None,
    ) -> None:
        self.schedules = schedules
        self.monitors = dict(monitors or {})
        self.store = store
        self.settings = settings
        self.leadership = leadership
        self.hooks = hooks
        self.executor = executor
        # ticks younger than three leases are ordinary lag (loop, failover) and always run
        self.ontime_ms = 3 * leadership.ttl_ms
        self._heap: list[tuple[int, str]] = []
        self._activation: Activation | None = None
        self.recent = RecentClaims(store=store, schedules=schedules, settings=settings)
        self._log = EventLog("lockclock.clock", clock=leadership.clock_id)

    # -- activation -------------------------------------------------------------------------

    def activate(self, activation: Activation) -> bool:
        """Register the schedules under the new epoch and build the heap; False if the
        lease was lost before registration."""
        lead = self.leadership
        floors = lead.floors
        reg = self.store.schedules.register(
            lead.clock_id,
            activation.epoch,
            [(s.name, s.enabled) for s in self.schedules.values()],
            fence_floor=floors.fence,
            tick_floors=floors.ticks,
        )
        if reg is None:
            lead.lost("stale at registration")
            return False
        self._activation = activation
        for name, mark in reg.marks.items():
            floors.saw_tick(name, mark)
        if activation.doubt_until_ms:
            self._step_over_lost_fences(reg, activation)
        self.recent.record_lost(leadership=lead, epoch=activation.epoch, policy=self.policy_for)
        self._heap = [
            (s.next_after(reg.marks[s.name]), s.name) for s in self.schedules.values() if s.enabled
        ]
        heapq.heapify(self._heap)
        pub = partial(published, clock_id=lead.clock_id, dispatch=self.settings.dispatch)
        self.store.schedules.publish(
            {s.name: pub(s, monitor=self.monitors.get(s.name)) for s in self.schedules.values()},
            next_ticks={name: tick for tick, name in self._heap},
        )
        self.store.clocks.prune(reg.now_ms)
        lead.heartbeat("active")
        return True

    def _step_over_lost_fences(self, reg: Registered, activation: Activation) -> None:
        """Claims Redis forgot took fences it no longer counts. Each went to a tick above
        its schedule's kept mark and not after the doubt horizon, so no more fences than
        such ticks were handed out: ours start above them, and keep rising."""
        ticks = 0
        for s in self.schedules.values():
            found, truncated = s.ticks_between(
                reg.marks[s.name], activation.doubt_until_ms, limit=CATCHUP_SCAN_LIMIT
            )
            ticks += len(found) + (CATCHUP_SCAN_LIMIT if truncated else 0)
        floors = self.leadership.floors
        # operators' runs (triggers, backfills) took fences too, up to one request's worth
        floors.fence = max(floors.fence, reg.fence + ticks + OPERATOR_FENCES)
        self._log.warning(
            "ticks_in_doubt",
            epoch=activation.epoch,
            until=iso_ms(activation.doubt_until_ms),
            ticks=ticks,
            fence_from=floors.fence + 1,
            note="Redis lost writes of a clock that died with it: these ticks may have run",
        )

    def clear(self) -> None:
        self._heap.clear()
        self._activation = None

    def next_due_ms(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    # -- firing -----------------------------------------------------------------------------

    def fire_due(self, now_ms: int) -> bool:
        """Claim and dispatch every tick due by `now_ms`; False if the lease was lost."""
        due: list[tuple[int, str]] = []
        while self._heap and self._heap[0][0] <= now_ms:
            due.append(heapq.heappop(self._heap))
        return self._fire(due, now_ms) if due else True

    def _fire(self, due: list[tuple[int, str]], now_ms: int) -> bool:
        lead = self.leadership
        activation = self._activation
        assert lead.epoch is not None and activation is not None
        plans: list[tuple[Schedule, Plan, OutageRecord | None]] = []
        for first_tick, name in due:
            sched = self.schedules[name]
            plan = plan_due(
                sched,
                first_tick_ms=first_tick,
                now_ms=now_ms,
                ontime_ms=self.ontime_ms,
                limit=CATCHUP_SCAN_LIMIT,
                doubt_until_ms=activation.doubt_until_ms,
            )
            record = None
            if plan.outage is not None:
                record = OutageRecord(
                    outage=plan.outage,
                    clock=lead.clock_id,
                    epoch=lead.epoch,
                    prev_lease=activation.previous,
                )
            plans.append((sched, plan, record))
        requests = [
            ClaimRequest(
                schedule=sched.name,
                items=plan.items,
                history_limit=self.settings.history_limit,
                policy=self.policy_for(sched),
                next_tick_ms=plan.next_ms,
                outage=record,
                worker=self.executor.worker_id,
            )
            for sched, plan, record in plans
        ]
        sent = time.monotonic()
        batches = self.store.claims.claim_many(
            lead.clock_id, lead.epoch, requests, fence_floor=lead.floors.fence
        )
        received = time.monotonic()
        if self.settings.wait_replicas and any(
            r.status == "run" for b in batches for r in b.results
        ):
            self._wait_for_replicas()
        for (sched, plan, record), batch in zip(plans, batches, strict=True):
            if batch.layout is not None:
                raise LayoutError(layout_refused(self.settings.namespace, batch.layout))
            if batch.stale:
                lead.lost("claim refused: stale epoch")
                self.clear()
                return False
            lead.time.observe(batch.now_ms, sent, received)
            retry_at = self._dispatch_batch(sched, batch)
            if record is not None and retry_at is None:
                self.hooks.outage_found(OutageFound(schedule=sched, record=record))
            heapq.heappush(self._heap, (plan.next_ms if retry_at is None else retry_at, sched.name))
        return True

    def policy_for(self, sched: Schedule) -> RunPolicy:
        return RunPolicy(
            mode=self.settings.dispatch,
            queue=sched.queue,
            overlap=sched.overlap,
            max_deliveries=sched.max_deliveries,
            max_late_ms=int(sched.max_lateness_s * 1000),
            retries=sched.retries,
            retry_backoff_ms=int(sched.retry_backoff_s * 1000),
        )

    def _dispatch_batch(self, sched: Schedule, batch: ClaimBatch) -> int | None:
        """Hand each granted run to the executor; the earliest tick refused as early
        (our estimate of Redis time ran ahead), to retry then, or None."""
        retry_at: int | None = None
        for res in batch.results:
            if res.status in ("run", "missed", "paused"):
                self.leadership.floors.saw_tick(sched.name, res.tick_ms, res.fence)
            if res.status == "paused" and res.note == "span":
                self._log.info("tick_paused", schedule=sched.name, tick=iso_ms(res.tick_ms))
            if res.status == "run":
                self.dispatched(sched, res.tick_ms, res.fence, res.note)
                if self.settings.dispatch == "workers":
                    self.recent.remember(sched.name, res.tick_ms)
            elif res.status == "skipped" and res.note == "streak":
                self.hooks.run_skipped(
                    RunSkipped(
                        schedule=sched, tick_ms=res.tick_ms, clock_id=self.leadership.clock_id
                    )
                )
            elif res.status == "early":
                retry_at = res.tick_ms if retry_at is None else min(retry_at, res.tick_ms)
            elif res.status in ("dup", "old"):
                self._log.warning(
                    "tick_already_claimed",
                    schedule=sched.name,
                    tick=iso_ms(res.tick_ms),
                    result=res.status,
                    epoch=self.leadership.epoch,
                )
        return retry_at

    def _wait_for_replicas(self) -> None:
        """Let the claims reach replicas before their jobs start, so a failover to a
        replica does not forget them. Bounded to a quarter lease: past it the jobs start
        anyway (a late tick is worse than the small chance of a failover right now)."""
        want = self.settings.wait_replicas
        acked = self.store.claims.wait_replicas(want, max(int(self.leadership.ttl_ms / 4), 10))
        if acked < want:
            self._log.warning(
                "claims_not_replicated",
                replicas=acked,
                wanted=want,
                note="a failover now could forget these claims",
            )

    def dispatched(
        self, sched: Schedule, tick_ms: int, fence: int, note: ClaimNote, *,
        trigger: str = "tick", for_tick_ms: int | None = None,
    ) -> None:  # fmt: skip
        """A claimed run: started by the claim (inline: handed to the executor now), in its
        queue, or waiting behind the run before it."""
        lead = self.leadership
        assert lead.epoch is not None
        now_ms = lead.time.now_ms()
        late_s = max(now_ms - tick_ms, 0) / 1000  # by Redis time: to the start, inline
        started = note == "started"
        ctx = RunContext(
            schedule=sched.name,
            tick=tick_datetime(for_tick_ms or tick_ms),
            trigger=trigger,
            key_ms=tick_ms if for_tick_ms else None,
            fence=fence,
            clock_id=lead.clock_id,
            epoch=lead.epoch,
            late=late_s,
            worker_id=self.executor.worker_id if started else "",
            queue=sched.queue,
            enqueued_at=tick_datetime(now_ms) if started else None,
        )
        catchup = late_s * 1000 > self.ontime_ms
        self.hooks.run_dispatched(
            RunDispatched(schedule=sched, run=ctx, catchup=catchup, waiting=note == "waiting")
        )
        if started:
            self.executor.submit(ClaimedRun(schedule=sched, context=ctx, catchup=catchup))


def published(
    sched: Schedule, *, clock_id: str, dispatch: str, monitor: str | None = None
) -> PublishedSchedule:
    """What operators' tools read of a schedule without its code: enough to describe it
    and to list its next ticks. Cheap: activation publishes every schedule while the
    lease runs (the reading in words is made by the reader)."""
    trigger = sched.trigger
    interval = trigger if isinstance(trigger, IntervalTrigger) else None
    return PublishedSchedule(
        trigger=sched.describe(),
        enabled=sched.enabled,
        catchup=sched.catchup,
        tz=str(sched.tz),
        published_by=clock_id,
        queue=sched.queue,
        overlap=sched.overlap,
        dispatch=dispatch,
        cron=trigger.expr if isinstance(trigger, CronTrigger) else None,
        every_s=interval.every_s if interval else None,
        at=interval.at if interval else None,
        max_lateness_s=sched.max_lateness_s,
        timeout_s=sched.timeout_s,
        retries=sched.retries,
        monitor=monitor,
    )
