"""Sentry events: what each says, how it is grouped (fingerprints per namespace and
schedule) and how often (at most one of a kind per schedule per minute per process,
counting those held back). Missed runs are never rate-limited: one per outage window."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import sentry_sdk

from ..context import RunContext
from ..coordination.records import OutageRecord
from ..lifecycle import Outcome
from ..logs import iso_ms
from ..scheduling import Schedule

# A schedule that fails (or starts late, or overruns) on every run sends at most one
# event of each kind per window and counts the rest; a nightly job reports every one.
RATE_WINDOW_S = 60.0


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__
    return name if cls.__module__ == "builtins" else f"{cls.__module__}.{name}"


class RateLimit:
    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._last_sent: dict[tuple[str, ...], float] = {}
        self._held: dict[tuple[str, ...], int] = {}

    def allow(self, key: tuple[str, ...]) -> int | None:
        """None if this kind of event already went out within the window (it is counted);
        otherwise how many were held back since the last one."""
        now = time.monotonic()
        with self._lock:
            last = self._last_sent.get(key)
            if last is not None and now - last < self.window_s:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last_sent[key] = now
            return self._held.pop(key, 0)


@dataclass(frozen=True, kw_only=True)
class Reporter:
    """Builds and captures events for one process."""

    namespace: str
    dyno: str

    def tags(self, name: str, clock_id: str, **more: object) -> dict[str, str]:
        tags = {"schedule": name, "namespace": self.namespace, "clock": clock_id, "dyno": self.dyno}
        tags.update({k: str(v) for k, v in more.items() if v is not None})
        return {k: v[:200] for k, v in tags.items()}  # Sentry's limit for a tag value

    def fingerprint(self, kind: str, name: str, *more: str) -> list[str]:
        return ["lockclock", kind, self.namespace, name, *more]

    @staticmethod
    def run_info(ctx: RunContext) -> dict[str, Any]:
        return {
            "tick": iso_ms(ctx.tick_ms),
            "fence": ctx.fence,
            "epoch": ctx.epoch,
            "clock": ctx.clock_id,
            "attempt": ctx.attempt,
            "worker": ctx.worker_id or None,
            "late_s": round(ctx.late, 3),
        }

    def missed_runs(self, sched: Schedule, record: OutageRecord) -> None:
        """One error event per schedule per outage window, grouped per schedule."""
        o, prev = record.outage, record.prev_lease
        ran, missed = o.run_late, o.missed
        if ran == 0:
            action = "skipped"
            what = f"recorded {'it' if missed == 1 else f'all {missed}'} as missed"
        elif missed == 0:
            action = "ran_all"
            what = f"ran {'it' if ran == 1 else f'all {ran}'} late"
        else:
            action = "ran_latest" if sched.catchup == "latest" else "ran_some"
            what = f"ran {ran} late and recorded {missed} as missed"
        had_prev = bool(prev.clock)
        counted = f"at least {o.count}" if o.count_is_lower_bound else str(o.count)
        window = {
            "first_missed_tick": iso_ms(o.first_ms),
            "last_missed_tick": iso_ms(o.last_ms),
            "count": o.count,
            "count_is_lower_bound": o.count_is_lower_bound,
            "policy": sched.catchup,
            "action": what,
            "ran_late": ran,
            "recorded_missed": missed,
            "max_lateness_s": o.max_lateness_s,
            "in_doubt": o.in_doubt,
            "in_doubt_until": iso_ms(o.doubt_until_ms),
            "detected_at": iso_ms(o.detected_ms),
            "detected_by": record.clock,
            "previous_clock": prev.clock if had_prev else None,
            "previous_epoch": prev.epoch if had_prev else None,
            "previous_lease_renewed_at": iso_ms(prev.last_renewed_ms) if had_prev else None,
            "previous_lease_lapsed_at": iso_ms(prev.lapsed_ms) if had_prev else None,
            "previous_lease_released": prev.released if had_prev else None,
        }
        doubt = ""
        if o.in_doubt:
            doubt = (
                f"; {o.in_doubt} of them may have run before Redis lost their "
                "records, so were recorded missed and not run again: check them"
            )
        sentry_sdk.capture_message(
            f"Missed runs of {sched.name}: {counted} tick(s) from {window['first_missed_tick']} "
            f"to {window['last_missed_tick']} passed with no clock running; "
            f"catchup={sched.catchup} {what}{doubt}",
            level="error",
            fingerprint=self.fingerprint("missed-runs", sched.name),
            tags=self.tags(sched.name, record.clock, catchup=sched.catchup, catchup_action=action),
            contexts={"missed_runs": window},
        )

    def run_warning(
        self,
        kind: str,
        sched: Schedule,
        ctx: RunContext,
        message: str,
        held: int,
        level: str = "warning",
        **context: object,
    ) -> None:
        """An event about one run (late start, overrun, timeout), grouped per schedule."""
        sentry_sdk.capture_message(
            message,
            level=level,  # type: ignore[arg-type]
            fingerprint=self.fingerprint(kind, sched.name),
            tags=self.tags(sched.name, ctx.clock_id),
            contexts={
                "lockclock_run": {**self.run_info(ctx), **context, "held_back_since_last": held}
            },
        )

    def plain_warning(
        self, kind: str, name: str, who: str, message: str, context: dict[str, Any]
    ) -> None:
        """A warning about a schedule known by name only (it may not be in this
        process's code), grouped per schedule."""
        sentry_sdk.capture_message(
            message,
            level="warning",
            fingerprint=self.fingerprint(kind, name),
            tags=self.tags(name, who),
            contexts={"lockclock_run": context},
        )

    def lost(self, name: str, worker: str, tick_ms: int, reason: str) -> None:
        sentry_sdk.capture_message(
            f"Lost run of {name}: the run of {iso_ms(tick_ms)} ended without an outcome; {reason}",
            level="error",
            fingerprint=self.fingerprint("lost", name),
            tags=self.tags(name, worker),
            contexts={"lockclock_run": {"tick": iso_ms(tick_ms), "reason": reason}},
        )

    def failure(self, sched: Schedule, ctx: RunContext, outcome: Outcome, held: int) -> None:
        exc = outcome.exc
        exc_type = type_name(exc) if exc is not None else "error"
        kwargs: dict[str, Any] = {
            "level": "error",
            "fingerprint": self.fingerprint("failed", sched.name, exc_type),
            "tags": self.tags(sched.name, ctx.clock_id, exception=exc_type),
            "contexts": {
                "lockclock_run": {
                    **self.run_info(ctx),
                    "duration_ms": outcome.duration_ms,
                    "held_back_since_last": held,
                }
            },
        }
        if exc is not None:
            sentry_sdk.capture_exception(exc, **kwargs)
        else:
            sentry_sdk.capture_message(f"{sched.name} failed: {outcome.error}", **kwargs)
