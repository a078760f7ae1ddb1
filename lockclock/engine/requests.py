"""Operators' requests, carried out by the active clock: a trigger (a manual run now) or
the end of a pause (its span closed, and with catch-up its ticks run). They go through
the clock because only the lease holder may grant runs and fences, and an inline clock
is the one that starts them. Looked at with every lease renewal, so an answer comes
within a fraction of a lease; a pause that ran out (`--until`) is ended here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..coordination.control import Actor
from ..coordination.records import Request
from ..coordination.store import Store
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule
from .dispatch import Dispatcher
from .leadership import Leadership

# A resume with --catchup all runs at most this many of the span's ticks (the newest).
RESUME_CATCHUP_LIMIT = 100
# A backfill plans at most this many ticks unless it asks for more (--max).
BACKFILL_DEFAULT_MAX = 100
BACKFILL_MAX = 10_000


class RequestRunner:
    def __init__(
        self,
        *,
        store: Store,
        schedules: Mapping[str, Schedule],
        leadership: Leadership,
        dispatcher: Dispatcher,
    ) -> None:
        self.store = store
        self.schedules = schedules
        self.leadership = leadership
        self.dispatcher = dispatcher
        self._log = EventLog("lockclock.clock", clock=leadership.clock_id)

    def step(self) -> bool:
        """Answer the pending requests; False if the lease was lost meanwhile."""
        control = self.store.control
        for request_id in control.pending():
            req = control.get_request(request_id)
            if req is None or req.state != "pending":
                control.drop(request_id)
                continue
            if not self._carry_out(req):
                return False
        return True

    def end_expired_pauses(self, now_ms: int) -> None:
        for target, pause in self.store.control.pauses().items():
            if not pause.in_force(now_ms):
                self.store.control.resume(
                    target,
                    "skip",
                    Actor(actor="lockclock", source="clock", reason="the pause ran out"),
                )
                self._log.info("pause_ended", schedule=target, until=iso_ms(pause.until_ms))

    def _carry_out(self, req: Request) -> bool:
        names = sorted(self.schedules) if req.schedule == "*" else [req.schedule]
        known = [n for n in names if n in self.schedules]
        if not known:
            # a schedule this clock does not have: answer so that the asker is not left
            # waiting (an older clock would not know a newer schedule)
            self._grant(req, None, final=True, ticks=[])
            return True
        for i, name in enumerate(known):
            sched = self.schedules[name]
            plan = None
            if req.kind == "backfill":
                plan, ticks, refusal = self._backfill_plan(req, sched)
                if refusal:
                    self.store.control.refuse(req.id, refusal)
                    self._log.warning("request_refused", request=req.id, schedule=name,
                                      note=refusal)  # fmt: skip
                    return True
            else:
                ticks = self._catchup_ticks(req, sched)
            final = i == len(known) - 1
            if not self._grant(req, sched, final=final, ticks=ticks, plan=plan):
                return False
        return True

    def _backfill_plan(
        self, req: Request, sched: Schedule
    ) -> tuple[list[dict[str, Any]], list[int], str]:
        """Every tick of the range, what its record says, and the ticks to run: not those
        that ran ok, nor (unless asked) those whose records were trimmed, which may have."""
        now = self.leadership.time.now_ms()
        first, last = int(req.from_ms or 0), min(int(req.to_ms or 0), now)
        cap = min(req.max or BACKFILL_DEFAULT_MAX, BACKFILL_MAX)
        ticks, truncated = sched.ticks_between(first - 1, last, limit=cap)
        if truncated:
            return (
                [],
                [],
                (
                    f"the range holds more than {cap} ticks of {sched.name}: narrow it, or raise "
                    f"--max (up to {BACKFILL_MAX})"
                ),
            )
        ticks = sorted(ticks)
        recs = self.store.history.records(sched.name, ticks)
        oldest = self.store.history.oldest_key(sched.name)
        plan: list[dict[str, Any]] = []
        run: list[int] = []
        for tick in ticks:
            rec = recs.get(tick)
            if rec is not None and rec.status == "ok":
                plan.append({"tick": tick, "state": "ok", "was": "ok"})
                continue
            if rec is None and (oldest is None or tick < oldest):
                state = "run" if req.include_unknown else "unknown"
                plan.append({"tick": tick, "state": state, "was": "older than the history kept"})
            else:
                was = rec.shown_status if rec is not None else "no record"
                plan.append({"tick": tick, "state": "run", "was": was})
            if plan[-1]["state"] == "run":
                run.append(tick)
        return plan, ([] if req.dry_run else run), ""

    def _catchup_ticks(self, req: Request, sched: Schedule) -> list[int]:
        if req.kind != "resume" or req.catchup in (None, "skip"):
            return []
        span_key = req.spans.get(sched.name)
        if span_key is None:
            return []
        span = self.store.history.record(sched.name, int(span_key))
        if span is None or span.first_ms is None or span.last_ms is None:
            return []
        if req.catchup == "latest":
            return [span.last_ms]
        ticks, _ = sched.ticks_between(span.first_ms - 1, span.last_ms, limit=RESUME_CATCHUP_LIMIT)
        return sorted(ticks)

    def _grant(
        self, req: Request, sched: Schedule | None, *, final: bool, ticks: list[int],
        plan: list[dict[str, Any]] | None = None,
    ) -> bool:  # fmt: skip
        lead = self.leadership
        assert lead.epoch is not None
        name = sched.name if sched is not None else req.schedule
        policy = self.dispatcher.policy_for(sched) if sched is not None else None
        if sched is None or policy is None:
            # answered, so the asker learns why at once instead of waiting out its timeout
            note = f"the active clock has no schedule {name!r} (deployed since?)"
            self.store.control.refuse(req.id, note)
            self._log.warning("request_refused", request=req.id, schedule=name, note=note)
            return True
        span = req.spans.get(name)
        granted = self.store.control.grant(
            clock_id=lead.clock_id,
            epoch=lead.epoch,
            request_id=req.id,
            schedule=name,
            policy=policy,
            force=req.force,
            fence_floor=lead.floors.fence,
            worker=self.dispatcher.executor.worker_id,
            span_key=span,
            final=final,
            ticks=ticks,
            plan=plan,
        )
        if granted.state == "stale":
            lead.lost("request refused: stale epoch")
            return False
        for run in granted.runs:
            lead.floors.saw_tick(name, 0, run.fence)
            self.dispatcher.dispatched(
                sched,
                run.tick,
                run.fence,
                run.note,  # type: ignore[arg-type]
                trigger={"trigger": "manual"}.get(req.kind, req.kind),
                for_tick_ms=run.for_tick,
            )
        self._log.info(
            "request_done" if granted.state == "done" else "request_refused",
            request=req.id,
            kind=req.kind,
            schedule=name,
            runs=len(granted.runs),
            by=req.actor,
            error=granted.error or None,
        )
        return True
