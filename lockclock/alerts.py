"""Sentry for a clock process: Crons check-ins, and missed-run, failure, late-start and
overrun events (monitor slugs and configs come from `monitors.py`).

Every hook is called from the clock loop or a job thread and returns at once: the SDK
builds the envelope in the caller and queues it for its own background thread, so a slow
or unreachable Sentry costs a dropped report (when that queue is full), never a late
tick. Nothing in here raises into the clock: a failure is logged and the report dropped.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, cast

import sentry_sdk
from sentry_sdk.crons import capture_checkin

from .context import RunContext, tick_datetime
from .logfmt import event
from .monitors import Monitor
from .schedule import Schedule
from .worker import Outcome

if TYPE_CHECKING:
    from sentry_sdk._types import MonitorConfig

log = logging.getLogger("lockclock.alerts")
P = ParamSpec("P")

# A schedule that fails (or starts late, or overruns) on every run sends at most one
# event of each kind per window and counts the rest; a nightly job reports every one.
RATE_WINDOW_S = 60.0
# At shutdown, queued reports get what is left of the grace period, but no more than this.
FLUSH_MAX_S = 5.0
# A late-start warning waits this long, so that the missed-run event of an outage found
# in the same pass of the clock loop (reported just after its runs are dispatched) can
# claim the runs that start late because of it.
LATE_DEFER_S = 1.0


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return tick_datetime(int(ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__
    return name if cls.__module__ == "builtins" else f"{cls.__module__}.{name}"


def _guarded(fn: Callable[P, None]) -> Callable[P, None]:
    """A report that fails must not take the clock or the job down with it."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            event(
                log,
                "sentry_report_failed",
                level=logging.WARNING,
                hook=fn.__name__,
                error=f"{type(exc).__name__}: {exc}",
            )

    return wrapper


@dataclass(kw_only=True)
class _Run:
    sched: Schedule
    ctx: RunContext
    checkin_id: str | None
    started: float  # monotonic


# (when, order, what to do, the run it concerns, if any): see Alerts._after
_Timer = tuple[float, int, Callable[[], None], "_Run | None"]


class Alerts:
    """What one clock process reports to Sentry; built by `setup_alerts`."""

    def __init__(
        self, *, namespace: str, monitors: Mapping[str, Monitor | None], dyno: str
    ) -> None:
        self.namespace = namespace
        self.monitors = dict(monitors)
        self.dyno = dyno
        self._cond = threading.Condition()
        self._runs: dict[tuple[str, int], _Run] = {}
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._timer_thread: threading.Thread | None = None
        self._last_sent: dict[tuple[str, ...], float] = {}
        self._held: dict[tuple[str, ...], int] = {}
        self._outages_seen: dict[str, int] = {}  # schedule -> first tick of its last outage
        self._outage_until: dict[str, int] = {}  # schedule -> when its last outage was found

    # -- helpers ---------------------------------------------------------------------------

    def _tags(self, name: str, clock_id: str, **more: object) -> dict[str, str]:
        tags = {"schedule": name, "namespace": self.namespace, "clock": clock_id, "dyno": self.dyno}
        tags.update({k: str(v) for k, v in more.items() if v is not None})
        return {k: v[:200] for k, v in tags.items()}  # Sentry's limit for a tag value

    def _fingerprint(self, kind: str, name: str, *more: str) -> list[str]:
        return ["lockclock", kind, self.namespace, name, *more]

    def _allow(self, key: tuple[str, ...]) -> int | None:
        """None if this kind of event already went out within the window (it is counted);
        otherwise how many were held back since the last one."""
        now = time.monotonic()
        with self._cond:
            last = self._last_sent.get(key)
            if last is not None and now - last < RATE_WINDOW_S:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last_sent[key] = now
            return self._held.pop(key, 0)

    @staticmethod
    def _run_info(ctx: RunContext) -> dict[str, Any]:
        return {
            "tick": _iso(ctx.tick_ms),
            "fence": ctx.fence,
            "epoch": ctx.epoch,
            "clock": ctx.clock_id,
            "late_s": round(ctx.late, 3),
        }

    def _checkin(self, name: str, checkin_id: str, status: str, duration: float | None) -> None:
        mon = self.monitors.get(name)
        if mon is None:
            return
        capture_checkin(
            monitor_slug=mon.slug,
            check_in_id=checkin_id,
            status=status,
            duration=duration,
            monitor_config=cast("MonitorConfig", mon.config),
        )

    # -- clock loop hooks ------------------------------------------------------------------

    @_guarded
    def outage(self, sched: Schedule, outage: Mapping[str, Any]) -> None:
        """One error event per schedule per outage window, grouped per schedule."""
        first, last, count = int(outage["first_ms"]), int(outage["last_ms"]), outage["count"]
        with self._cond:
            found = int(outage.get("detected_ms") or last)
            self._outage_until[sched.name] = max(self._outage_until.get(sched.name, 0), found)
            if self._outages_seen.get(sched.name) == first:
                return
            self._outages_seen[sched.name] = first
        ran, missed = int(outage["run_late"]), int(outage["missed"])
        if ran == 0:
            action = "skipped"
            what = f"recorded {'it' if missed == 1 else f'all {missed}'} as missed"
        elif missed == 0:
            action = "ran_all"
            what = f"ran {'it' if ran == 1 else f'all {ran}'} late"
        else:
            action = "ran_latest" if sched.catchup == "latest" else "ran_some"
            what = f"ran {ran} late and recorded {missed} as missed"
        prev = outage.get("prev_lease") or {}
        had_prev = bool(prev.get("clock"))
        counted = f"at least {count}" if outage.get("count_is_lower_bound") else str(count)
        window = {
            "first_missed_tick": _iso(first),
            "last_missed_tick": _iso(last),
            "count": count,
            "count_is_lower_bound": bool(outage.get("count_is_lower_bound")),
            "policy": sched.catchup,
            "action": what,
            "ran_late": ran,
            "recorded_missed": missed,
            "max_lateness_s": outage.get("max_lateness_s"),
            "in_doubt": int(outage.get("in_doubt") or 0),
            "in_doubt_until": _iso(outage.get("doubt_until_ms")),
            "detected_at": _iso(outage.get("detected_ms")),
            "detected_by": outage.get("clock"),
            "previous_clock": prev.get("clock") if had_prev else None,
            "previous_epoch": prev.get("epoch") if had_prev else None,
            "previous_lease_renewed_at": _iso(prev.get("last_renewed_ms")) if had_prev else None,
            "previous_lease_lapsed_at": _iso(prev.get("lapsed_ms")) if had_prev else None,
            "previous_lease_released": prev.get("released") if had_prev else None,
        }
        doubt = ""
        if window["in_doubt"]:
            doubt = (
                f"; {window['in_doubt']} of them may have run before Redis lost their "
                "records, so were recorded missed and not run again: check them"
            )
        sentry_sdk.capture_message(
            f"Missed runs of {sched.name}: {counted} tick(s) from {window['first_missed_tick']} "
            f"to {window['last_missed_tick']} passed with no clock running; "
            f"catchup={sched.catchup} {what}{doubt}",
            level="error",
            fingerprint=self._fingerprint("missed-runs", sched.name),
            tags=self._tags(
                sched.name,
                str(outage["clock"]),
                catchup=sched.catchup,
                catchup_action=action,
            ),
            contexts={"missed_runs": window},
        )

    @_guarded
    def dispatched(self, sched: Schedule, ctx: RunContext, *, catchup: bool) -> None:
        """A warning when a run starts late for another reason than an outage: a slow loop
        or Redis, a failover under a long lease. An outage's runs, the catch-up ones and
        those due while it lasted, are in its missed-run event instead."""
        limit = sched.alerting.late_after_s
        if catchup or limit is None or ctx.late <= limit:
            return
        self._after(LATE_DEFER_S, functools.partial(self._late, sched, ctx, limit))

    @_guarded
    def _late(self, sched: Schedule, ctx: RunContext, limit: float) -> None:
        with self._cond:
            if self._outage_until.get(sched.name, 0) >= ctx.tick_ms:
                return
        self._warn_run(
            "late",
            "late-start",
            sched,
            ctx,
            f"Late start of {sched.name}: the run of {_iso(ctx.tick_ms)} started "
            f"{ctx.late:.1f}s after its tick (alert_late_after={limit:g}s)",
            alert_late_after_s=limit,
        )

    def _warn_run(
        self,
        rate_key: str,
        kind: str,
        sched: Schedule,
        ctx: RunContext,
        message: str,
        **context: object,
    ) -> None:
        """A warning about one run, grouped per schedule and held to one per window."""
        held = self._allow((sched.name, rate_key))
        if held is None:
            return
        sentry_sdk.capture_message(
            message,
            level="warning",
            fingerprint=self._fingerprint(kind, sched.name),
            tags=self._tags(sched.name, ctx.clock_id),
            contexts={
                "lockclock_run": {
                    **self._run_info(ctx),
                    **context,
                    "held_back_since_last": held,
                }
            },
        )

    # -- job thread hooks ------------------------------------------------------------------

    @_guarded
    def started(self, sched: Schedule, ctx: RunContext) -> None:
        """In the job's thread, before the function: the in_progress check-in, and the
        max_runtime deadline on the timer thread."""
        checkin_id = None
        if self.monitors.get(sched.name) is not None:
            checkin_id = uuid.uuid4().hex
            self._checkin(sched.name, checkin_id, "in_progress", None)
        run = _Run(sched=sched, ctx=ctx, checkin_id=checkin_id, started=time.monotonic())
        with self._cond:
            self._runs[(sched.name, ctx.tick_ms)] = run
        self._after(sched.alerting.max_runtime_s, functools.partial(self._overrun, run), run)

    @_guarded
    def finished(self, sched: Schedule, ctx: RunContext, outcome: Outcome) -> None:
        """The closing check-in with the run's duration, and the failure if it raised."""
        with self._cond:
            run = self._runs.pop((sched.name, ctx.tick_ms), None)
        if run is not None and run.checkin_id is not None:
            status = "ok" if outcome.status == "ok" else "error"
            self._checkin(sched.name, run.checkin_id, status, outcome.duration_ms / 1000)
        if outcome.status != "error":
            return
        exc = outcome.exc
        type_name = _type_name(exc) if exc is not None else "error"
        held = self._allow((sched.name, "failed", type_name))
        if held is None:
            return
        kwargs: dict[str, Any] = {
            "level": "error",
            "fingerprint": self._fingerprint("failed", sched.name, type_name),
            "tags": self._tags(sched.name, ctx.clock_id, exception=type_name),
            "contexts": {
                "lockclock_run": {
                    **self._run_info(ctx),
                    "duration_ms": outcome.duration_ms,
                    "held_back_since_last": held,
                }
            },
        }
        if exc is not None:
            sentry_sdk.capture_exception(exc, **kwargs)
        else:
            sentry_sdk.capture_message(f"{sched.name} failed: {outcome.error}", **kwargs)

    @_guarded
    def interrupted(self, ctx: RunContext) -> None:
        """A run still going when the clock stops: close its check-in as an error now,
        rather than leave Sentry to time it out."""
        with self._cond:
            run = self._runs.pop((ctx.schedule, ctx.tick_ms), None)
        if run is not None and run.checkin_id is not None:
            self._checkin(ctx.schedule, run.checkin_id, "error", time.monotonic() - run.started)

    def flush(self, timeout_s: float) -> None:
        """Send what is queued, within `timeout_s` (what is left of the grace period)."""
        limit = max(0.0, min(timeout_s, FLUSH_MAX_S))
        t0 = time.monotonic()
        try:
            if limit > 0:
                sentry_sdk.flush(timeout=limit)
        except Exception as exc:
            event(log, "sentry_flush_failed", level=logging.WARNING, error=str(exc))
        event(log, "sentry_flushed", waited_ms=int((time.monotonic() - t0) * 1000), limit_s=limit)

    # -- timers: overruns and deferred warnings ------------------------------------------

    def _is_running(self, run: _Run) -> bool:
        return self._runs.get((run.sched.name, run.ctx.tick_ms)) is run

    def _after(self, delay_s: float, fn: Callable[[], None], run: _Run | None = None) -> None:
        """Call fn on the timer thread in delay_s: one thread for all runs, no work added
        to the tick path beyond a heap push."""
        with self._cond:
            if len(self._timers) > 2 * len(self._runs) + 64:  # finished runs' deadlines
                self._timers = [t for t in self._timers if t[3] is None or self._is_running(t[3])]
                heapq.heapify(self._timers)
            timer = (time.monotonic() + delay_s, next(self._seq), fn, run)
            heapq.heappush(self._timers, timer)
            if self._timer_thread is None:
                self._timer_thread = threading.Thread(
                    target=self._timer_loop, name="lockclock-alerts", daemon=True
                )
                self._timer_thread.start()
            if self._timers[0] is timer:  # else it sleeps until an earlier one anyway
                self._cond.notify()

    def _timer_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._timers:
                        self._cond.wait()
                        continue
                    wait = self._timers[0][0] - time.monotonic()
                    if wait <= 0:
                        fn = heapq.heappop(self._timers)[2]
                        break
                    self._cond.wait(wait)
            fn()

    @_guarded
    def _overrun(self, run: _Run) -> None:
        """Once per run, when it passes max_runtime; Sentry's monitor times it out too."""
        with self._cond:
            if not self._is_running(run):
                return
        sched, ctx = run.sched, run.ctx
        limit = sched.alerting.max_runtime_s
        self._warn_run(
            "overrun",
            "overrun",
            sched,
            ctx,
            f"Overrun of {sched.name}: the run of {_iso(ctx.tick_ms)} is still running after "
            f"{limit:g}s (max_runtime)",
            max_runtime_s=limit,
            running_s=round(time.monotonic() - run.started, 1),
        )
