"""The lifecycle log lines, as a hook: `lease_acquired`, `lease_lost`, `fire` (a claim),
`run_started`, `run_ok`, `job_failed` (with the traceback), `run_interrupted`,
`run_handed_back`, `run_skipped`, `run_redelivered`, `run_lost`, `catchup`."""

from __future__ import annotations

import logging

from ..hooks import Hook
from ..lifecycle import (
    LeaseGained,
    LeaseLost,
    OutageFound,
    RunDispatched,
    RunFinished,
    RunHandedBack,
    RunInterrupted,
    RunLost,
    RunRedelivered,
    RunSkipped,
    RunStarted,
)
from ..logs import EventLog, iso_ms

# job failures are logged here; Sentry's logging integration is told to ignore it, as
# lockclock reports them itself with a fingerprint
JOBS_LOGGER = "lockclock.jobs"


class LogHook(Hook):
    def __init__(self, process_id: str) -> None:
        self._clock = EventLog("lockclock.clock", clock=process_id)
        self._jobs = EventLog(JOBS_LOGGER)

    def lease_gained(self, event: LeaseGained) -> None:
        prev = event.previous
        self._clock.info(
            "lease_acquired",
            epoch=event.epoch,
            prev_clock=prev.clock or None,
            prev_lapsed=iso_ms(prev.lapsed_ms) if prev.clock else None,
            how=event.how,
        )

    def lease_lost(self, event: LeaseLost) -> None:
        self._clock.warning("lease_lost", epoch=event.epoch, reason=event.reason)

    def run_dispatched(self, event: RunDispatched) -> None:
        run = event.run
        self._clock.info(
            "fire",
            schedule=run.schedule,
            tick=iso_ms(run.tick_ms),
            fence=run.fence,
            epoch=run.epoch,
            late_ms=int(run.late * 1000),
            queue=run.queue,
            waiting=True if event.waiting else None,
        )

    def run_started(self, event: RunStarted) -> None:
        run = event.run
        waited = run.enqueued_at.timestamp() * 1000 if run.enqueued_at else None
        self._jobs.info(
            "run_started",
            schedule=run.schedule,
            tick=iso_ms(run.tick_ms),
            attempt=run.attempt,
            fence=run.fence,
            worker=run.worker_id,
            late_ms=int(run.late * 1000),
            queued_ms=int(run.tick_ms + run.late * 1000 - waited) if waited else None,
        )

    def run_finished(self, event: RunFinished) -> None:
        run, outcome = event.run, event.outcome
        fields = {
            "schedule": run.schedule,
            "tick": iso_ms(run.tick_ms),
            "attempt": run.attempt,
            "fence": run.fence,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.status == "ok":
            self._jobs.info("run_ok", **fields)
            return
        if outcome.status == "timed_out":
            self._jobs.warning(
                "run_timed_out", **fields, timeout_s=event.schedule.timeout_s, note=outcome.error
            )
            return
        if outcome.status == "cancelled":
            self._jobs.warning("run_cancelled", **fields, reason=outcome.error)
            return
        exc = outcome.exc
        self._jobs.log(
            logging.ERROR,
            "job_failed",
            **fields,
            error=outcome.error,
            exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
        )

    def run_interrupted(self, event: RunInterrupted) -> None:
        run = event.run
        self._jobs.warning(
            "run_interrupted", schedule=run.schedule, tick=iso_ms(run.tick_ms), fence=run.fence
        )

    def outage_found(self, event: OutageFound) -> None:
        o = event.record.outage
        self._clock.warning(
            "catchup",
            schedule=o.schedule,
            policy=o.policy,
            first=iso_ms(o.first_ms),
            last=iso_ms(o.last_ms),
            late_ticks=o.count,
            run_late=o.run_late,
            missed=o.missed,
            in_doubt=o.in_doubt or None,
        )

    def run_handed_back(self, event: RunHandedBack) -> None:
        run = event.run
        self._jobs.warning(
            "run_handed_back",
            schedule=run.schedule,
            tick=iso_ms(run.tick_ms),
            attempt=run.attempt,
            fence=run.fence,
            why=event.why,
        )

    def run_skipped(self, event: RunSkipped) -> None:
        self._clock.warning(
            "run_skipped",
            schedule=event.schedule.name,
            tick=iso_ms(event.tick_ms),
            overlap=event.schedule.overlap,
            note="a run of this schedule had not ended; the streak is one record",
        )

    def run_redelivered(self, event: RunRedelivered) -> None:
        self._clock.warning(
            "run_redelivered",
            schedule=event.schedule,
            tick=iso_ms(event.tick_ms),
            attempt=event.attempt,
            fence=event.fence,
            from_worker=event.from_worker,
        )

    def run_lost(self, event: RunLost) -> None:
        self._clock.error(
            "run_lost",
            schedule=event.schedule,
            tick=iso_ms(event.tick_ms),
            worker=event.worker,
            reason=event.reason,
        )
