"""How an attempt ends, written once: the one place that records outcomes, for the
worker processes and the inline clock alike.

The outcome goes to the hooks first (they never wait), then to Redis under the
attempt's own fence and owner (`finish.lua`), retried through a short Redis outage. A
refused write means another attempt owns the run, or an outcome is recorded already:
that is logged, never forced.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

from ..context import RunContext, tick_datetime
from ..coordination.failures import TRANSIENT_ERRORS
from ..coordination.runs import Finished, Runs, Successor
from ..hooks import Hooks
from ..lifecycle import Outcome, RunFinished, RunHandedBack, RunInterrupted
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule

# A run's error text is capped in its record (the traceback goes to the log and Sentry).
ERROR_MAX = 2000
# How long an outcome is retried while Redis does not answer.
OUTCOME_RETRY_S = 30.0


@dataclass(frozen=True, kw_only=True)
class ClaimedRun:
    """An attempt this process started: the schedule and what its job sees."""

    schedule: Schedule
    context: RunContext
    catchup: bool = False  # claimed as an outage's catch-up (its lateness is reported there)
    progress_json: str | None = None  # what an earlier attempt saved


class OutcomeRecorder:
    def __init__(self, runs: Runs, hooks: Hooks) -> None:
        self.runs = runs
        self.hooks = hooks
        self._log = EventLog("lockclock.jobs")

    def _finish(self, run: ClaimedRun, fields: dict[str, Any]) -> Finished:
        ctx = run.context
        return self.runs.finish(
            ctx.worker_id,
            schedule=ctx.schedule,
            queue=ctx.queue,
            tick_ms=ctx.tick_ms,
            fence=ctx.fence,
            fields=fields,
        )

    def finished(self, run: ClaimedRun, outcome: Outcome) -> ClaimedRun | None:
        """Record how the attempt ended; return the run that waited behind this one when
        this worker is to run it now (an inline chain: the runs of one claim)."""
        ctx = run.context
        if outcome.status == "superseded":
            self._log.warning(
                "run_superseded", schedule=ctx.schedule, tick=iso_ms(ctx.tick_ms), fence=ctx.fence
            )
            return None
        if outcome.status == "stopped":
            reason = (ctx.control.stop_reason if ctx.control else None) or "shutdown"
            if reason == "timeout":
                outcome = replace(outcome, status="timed_out", error="stopped at its timeout")
            elif reason.startswith("cancel"):
                outcome = replace(outcome, status="cancelled", error=reason)
            else:  # its process is stopping: it resumes, from its progress, elsewhere
                self.handed_back(run, 0, "stopped")
                return None
        self.hooks.run_finished(
            RunFinished(schedule=run.schedule, run=run.context, outcome=outcome)
        )
        fields: dict[str, Any] = {"status": outcome.status, "duration_ms": outcome.duration_ms}
        if outcome.error:
            fields["error"] = outcome.error[:ERROR_MAX]
        answer = self._with_retry(run, fields)
        if answer is None or answer.successor is None:
            return None
        return self._successor(run, answer.successor)

    def timed_out(self, run: ClaimedRun, *, running_s: float, hold: bool) -> None:
        """Past its timeout and the grace, still running: recorded timed_out (a thread
        cannot be killed). `hold`: inline, it counts as running until its thread ends."""
        ctx = run.context
        outcome = Outcome(
            status="timed_out",
            started_ms=0,
            duration_ms=int(running_s * 1000),
            error="still running past its timeout and the grace period",
        )
        self.hooks.run_finished(RunFinished(schedule=run.schedule, run=ctx, outcome=outcome))
        fields: dict[str, Any] = {
            "status": "timed_out",
            "duration_ms": outcome.duration_ms,
            "error": outcome.error,
        }
        if hold:
            fields["hold_active"] = True
        self._with_retry(run, fields)

    def unblock(self, run: ClaimedRun) -> None:
        """A timed-out inline run's thread has ended at last."""
        ctx = run.context
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self.runs.unblock(
                ctx.worker_id, schedule=ctx.schedule, queue=ctx.queue, tick_ms=ctx.tick_ms
            )

    def _successor(self, run: ClaimedRun, nxt: Successor) -> ClaimedRun:
        ctx = run.context
        context = RunContext(
            schedule=ctx.schedule,
            tick=tick_datetime(nxt.for_tick_ms or nxt.tick_ms),
            fence=nxt.fence,
            clock_id=nxt.claimed_by,
            epoch=nxt.epoch,
            late=max(nxt.now_ms - nxt.tick_ms, 0) / 1000,
            attempt=nxt.attempt,
            worker_id=ctx.worker_id,
            queue=ctx.queue,
            enqueued_at=tick_datetime(nxt.now_ms),
            trigger=nxt.trigger,
            key_ms=nxt.tick_ms if nxt.for_tick_ms else None,
        )
        return ClaimedRun(schedule=run.schedule, context=context, catchup=run.catchup)

    def interrupted(self, run: ClaimedRun, running_s: float, note: str) -> None:
        """An inline run still going when its clock stops: one attempt, no retries (the
        grace period is nearly spent)."""
        self.hooks.run_interrupted(
            RunInterrupted(schedule=run.schedule, run=run.context, running_s=running_s)
        )
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self._finish(run, {"status": "interrupted", "error": note})

    def handed_back(self, run: ClaimedRun, delay_ms: int, why: str) -> bool:
        """Give the attempt back for another worker after `delay_ms`; False if it was
        not ours any more (a newer attempt owns the run)."""
        ctx = run.context
        ok = False
        with contextlib.suppress(*TRANSIENT_ERRORS):
            ok = self.runs.handback(
                ctx.worker_id,
                schedule=ctx.schedule,
                queue=ctx.queue,
                tick_ms=ctx.tick_ms,
                fence=ctx.fence,
                delay_ms=delay_ms,
                why=why,
            )
        if ok:
            self.hooks.run_handed_back(RunHandedBack(schedule=run.schedule, run=ctx, why=why))
        return ok

    def _with_retry(self, run: ClaimedRun, fields: dict[str, Any]) -> Finished | None:
        """Through an outage of up to about OUTCOME_RETRY_S; past that this process's
        lease has lapsed too, and the run is another attempt's (or lost) anyway."""
        ctx = run.context
        delay = 0.2
        deadline = time.monotonic() + OUTCOME_RETRY_S
        while True:
            try:
                answer = self._finish(run, fields)
            except TRANSIENT_ERRORS as exc:
                if time.monotonic() >= deadline:
                    self._log.error(
                        "outcome_not_recorded",
                        schedule=ctx.schedule,
                        tick=iso_ms(ctx.tick_ms),
                        fence=ctx.fence,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if answer.result == "retry":
                self._log.info(
                    "run_retry", schedule=ctx.schedule, tick=iso_ms(ctx.tick_ms), fence=ctx.fence
                )
            elif answer.result != "ok":
                self._log.warning(
                    "outcome_refused",
                    schedule=ctx.schedule,
                    tick=iso_ms(ctx.tick_ms),
                    fence=ctx.fence,
                    result=answer.result,
                )
            return answer
