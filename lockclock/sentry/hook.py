"""What one process reports to Sentry, as a hook: check-ins around each run, and
missed-run, failure, late-start and overrun events.

Every method returns at once: the SDK builds the envelope in the caller and queues it
for its own background thread, so a slow or unreachable Sentry costs a dropped report
(when that queue is full), never a late tick. The hook fan-out guards every call.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import sentry_sdk

from ..context import RunContext
from ..hooks import Hook
from ..lifecycle import (
    OutageFound,
    RunFinished,
    RunHandedBack,
    RunInterrupted,
    RunLost,
    RunRedelivered,
    RunSkipped,
    RunSlowItem,
    RunStarted,
)
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule
from ..timers import Timers
from .checkins import CheckinStatus, checkin_id_for, send_checkin
from .events import RateLimit, Reporter, type_name
from .monitors import Monitor
from .options import AlertOptions

# At shutdown, queued reports get what is left of the grace period, but no more than this.
FLUSH_MAX_S = 5.0
# A late-start warning waits this long, so that the missed-run event of an outage found
# in the same pass of the clock loop (reported just after its runs are dispatched) can
# claim the runs that start late because of it.
LATE_DEFER_S = 1.0


@dataclass(kw_only=True)
class _Run:
    sched: Schedule
    ctx: RunContext
    checkin_id: str | None
    started: float  # monotonic


class SentryHook(Hook):
    def __init__(
        self,
        *,
        namespace: str,
        monitors: Mapping[str, Monitor | None],
        alerting: Mapping[str, AlertOptions],
        dyno: str,
    ) -> None:
        self.namespace = namespace
        self.monitors = dict(monitors)
        self.alerting = dict(alerting)
        self.report = Reporter(namespace=namespace, dyno=dyno)
        self._limit = RateLimit()
        self._timers = Timers("lockclock-sentry")
        self._lock = threading.Lock()
        self._runs: dict[tuple[str, int], _Run] = {}
        self._outages_seen: dict[str, int] = {}  # schedule -> first tick of its last outage
        self._outage_until: dict[str, int] = {}  # schedule -> when its last outage was found
        self._log = EventLog("lockclock.sentry")

    def _options(self, name: str) -> AlertOptions:
        return self.alerting.get(name) or AlertOptions()

    # -- loop thread ------------------------------------------------------------------------

    def outage_found(self, event: OutageFound) -> None:
        o = event.record.outage
        name = event.schedule.name
        with self._lock:
            self._outage_until[name] = max(self._outage_until.get(name, 0), o.detected_ms)
            if self._outages_seen.get(name) == o.first_ms:
                return
            self._outages_seen[name] = o.first_ms
        self.report.missed_runs(event.schedule, event.record)

    def _late(self, sched: Schedule, ctx: RunContext, limit: float) -> None:
        with self._lock:
            if self._outage_until.get(sched.name, 0) >= ctx.tick_ms:
                return
        held = self._limit.allow((sched.name, "late"))
        if held is None:
            return
        self.report.run_warning(
            "late-start",
            sched,
            ctx,
            f"Late start of {sched.name}: the run of {iso_ms(ctx.tick_ms)} started "
            f"{ctx.late:.1f}s after its tick (alert_late_after={limit:g}s)",
            held,
            alert_late_after_s=limit,
        )

    # -- job thread -------------------------------------------------------------------------

    def run_started(self, event: RunStarted) -> None:
        """In the job's thread: the in_progress check-in (one id per run, across its
        attempts), the max_runtime deadline on the timer thread, and a late-start
        warning for a first attempt that starts late for another reason than an outage
        (a slow loop, Redis or worker; a failover under a long lease). An outage's runs
        are in its missed-run event instead."""
        sched, ctx = event.schedule, event.run
        monitor = self.monitors.get(sched.name)
        checkin_id = None
        if monitor is not None:
            checkin_id = checkin_id_for(self.namespace, sched.name, ctx.tick_ms)
            send_checkin(monitor, checkin_id, "in_progress", None)
        run = _Run(sched=sched, ctx=ctx, checkin_id=checkin_id, started=time.monotonic())
        with self._lock:
            self._runs[(sched.name, ctx.tick_ms)] = run
        self._timers.after(
            self._options(sched.name).max_runtime_s,
            functools.partial(self._overrun, run),
            functools.partial(self._is_running, run),
        )
        limit = self._options(sched.name).late_after_s
        if ctx.attempt == 1 and not event.catchup and limit is not None and ctx.late > limit:
            self._timers.after(LATE_DEFER_S, functools.partial(self._late, sched, ctx, limit))

    def _pop(self, name: str, tick_ms: int) -> _Run | None:
        with self._lock:
            return self._runs.pop((name, tick_ms), None)

    def _is_running(self, run: _Run) -> bool:
        with self._lock:
            return self._runs.get((run.sched.name, run.ctx.tick_ms)) is run

    def run_finished(self, event: RunFinished) -> None:
        """The closing check-in with the run's duration, and the failure if it raised."""
        sched, ctx, outcome = event.schedule, event.run, event.outcome
        run = self._pop(sched.name, ctx.tick_ms)
        monitor = self.monitors.get(sched.name)
        if run is not None and run.checkin_id is not None and monitor is not None:
            good = outcome.status in ("ok", "cancelled")  # cancelled: an operator's choice
            status: CheckinStatus = "ok" if good else "error"
            send_checkin(monitor, run.checkin_id, status, outcome.duration_ms / 1000)
        if outcome.status == "timed_out":
            held = self._limit.allow((sched.name, "timed_out"))
            if held is not None:
                self.report.run_warning(
                    "timed-out",
                    sched,
                    ctx,
                    f"Timed out run of {sched.name}: the run of {iso_ms(ctx.tick_ms)} passed "
                    f"its timeout of {sched.timeout_s:g}s ({outcome.error})",
                    held,
                    level="error",
                    timeout_s=sched.timeout_s,
                )
            return
        if outcome.status != "error":
            return
        exc_type = type_name(outcome.exc) if outcome.exc is not None else "error"
        held = self._limit.allow((sched.name, "failed", exc_type))
        if held is not None:
            self.report.failure(sched, ctx, outcome, held)

    def run_interrupted(self, event: RunInterrupted) -> None:
        """A run still going when its process stops: close its check-in as an error now,
        rather than leave Sentry to time it out."""
        run = self._pop(event.schedule.name, event.run.tick_ms)
        monitor = self.monitors.get(event.schedule.name)
        if run is not None and run.checkin_id is not None and monitor is not None:
            send_checkin(monitor, run.checkin_id, "error", time.monotonic() - run.started)

    def run_slow_item(self, event: RunSlowItem) -> None:
        held = self._limit.allow((event.schedule.name, "slow-item"))
        if held is None:
            return
        self.report.run_warning(
            "slow-item",
            event.schedule,
            event.run,
            f"Slow item in {event.schedule.name}: one item took {event.seconds:.0f}s, longer "
            f"than the {event.grace_s:g}s grace period, so a restart cannot stop it in time",
            held,
            item_s=round(event.seconds, 1),
            grace_s=event.grace_s,
        )

    def run_handed_back(self, event: RunHandedBack) -> None:
        """The run goes on in another attempt: its check-in stays open for that one."""
        self._pop(event.schedule.name, event.run.tick_ms)

    def run_skipped(self, event: RunSkipped) -> None:
        """Once per skip streak (and at most once a minute per schedule)."""
        name = event.schedule.name
        held = self._limit.allow((name, "skipped"))
        if held is None:
            return
        self.report.plain_warning(
            "skipped",
            name,
            event.clock_id,
            f"Skipped runs of {name}: the tick of {iso_ms(event.tick_ms)} fell due while a "
            f"run had not ended (overlap={event.schedule.overlap!r})",
            {"tick": iso_ms(event.tick_ms), "held_back_since_last": held},
        )

    def run_redelivered(self, event: RunRedelivered) -> None:
        held = self._limit.allow((event.schedule, "redelivered"))
        if held is None:
            return
        self.report.plain_warning(
            "redelivered",
            event.schedule,
            event.from_worker,
            f"Redelivered run of {event.schedule}: the worker running the run of "
            f"{iso_ms(event.tick_ms)} died; attempt {event.attempt} goes to another worker",
            {
                "tick": iso_ms(event.tick_ms),
                "attempt": event.attempt,
                "fence": event.fence,
                "dead_worker": event.from_worker,
                "held_back_since_last": held,
            },
        )

    def run_lost(self, event: RunLost) -> None:
        """Once per lost run, an error; its open check-in is closed as an error too."""
        monitor = self.monitors.get(event.schedule)
        if monitor is not None:
            checkin = checkin_id_for(self.namespace, event.schedule, event.tick_ms)
            send_checkin(monitor, checkin, "error", None)
        self.report.lost(event.schedule, event.worker, event.tick_ms, event.reason)

    def _overrun(self, run: _Run) -> None:
        """Once per run, when it passes max_runtime; Sentry's monitor times it out too."""
        sched, ctx = run.sched, run.ctx
        limit = self._options(sched.name).max_runtime_s
        held = self._limit.allow((sched.name, "overrun"))
        if held is None:
            return
        self.report.run_warning(
            "overrun",
            sched,
            ctx,
            f"Overrun of {sched.name}: the run of {iso_ms(ctx.tick_ms)} is still running "
            f"after {limit:g}s (max_runtime)",
            held,
            max_runtime_s=limit,
            running_s=round(time.monotonic() - run.started, 1),
        )

    # -- shutdown ---------------------------------------------------------------------------

    def shutdown_reserve_s(self, grace_s: float) -> float:
        # the last tenth of the grace period (at most 1 s) sends what the runs reported,
        # the interrupted ones' check-ins included
        return min(1.0, grace_s / 10)

    def flush(self, timeout_s: float) -> None:
        """Send what is queued, within `timeout_s` (what is left of the grace period)."""
        limit = max(0.0, min(timeout_s, FLUSH_MAX_S))
        t0 = time.monotonic()
        try:
            if limit > 0:
                sentry_sdk.flush(timeout=limit)
        except Exception as exc:
            self._log.warning("sentry_flush_failed", error=str(exc))
        self._log.info(
            "sentry_flushed", waited_ms=int((time.monotonic() - t0) * 1000), limit_s=limit
        )
