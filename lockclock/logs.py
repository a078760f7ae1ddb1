"""Log lines: one logfmt line per event, under a name from the catalogue below.

`EventLog` binds the fields a component repeats (its clock id), so call sites give only
what is new. Every instant is written as RFC 3339 UTC with milliseconds and a `Z`
(`iso_ms`), ticks included. Installing the handler and formatter is the process's
business (`runtime/logfmt.py`); embedding the clock in an app leaves its logging alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Literal, get_args

EventName = Literal[
    "clock_started",
    "clock_stopped",
    "redis",
    "embedded_redis",
    "redis_unavailable",
    "redis_available",
    "redis_server_changed",
    "lease_acquired",
    "lease_release_seen",
    "lease_lost",
    "lease_unknown",
    "lease_released",
    "lease_already_gone",
    "lease_release_failed",
    "ticks_in_doubt",
    "fire",
    "catchup",
    "tick_already_claimed",
    "claims_not_replicated",
    "claims_lost",
    "run_ok",
    "job_failed",
    "run_interrupted",
    "outcome_refused",
    "outcome_not_recorded",
    "waiting_for_jobs",
    "run_started",
    "run_retry",
    "run_skipped",
    "run_missed_in_queue",
    "run_redelivered",
    "run_lost",
    "run_handed_back",
    "run_released",
    "run_superseded",
    "run_timed_out",
    "run_cancelled",
    "slow_item",
    "unknown_schedule",
    "consumer_failed",
    "worker_started",
    "worker_stopped",
    "worker_exiting",
    "worker_lease_lost",
    "runs_left_to_reaper",
    "worker_reaped",
    "claims_held",
    "reap_skipped",
    "reaper_failed",
    "tick_paused",
    "pause_ended",
    "request_done",
    "request_refused",
    "requests_failed",
    "web_started",
    "web_stopped",
    "web_request",
    "web_redis_error",
    "web_error",
    "hook_failed",
    "sentry",
    "sentry_report_failed",
    "sentry_flushed",
    "sentry_flush_failed",
]

# The catalogue: what each event means. The README's list and the tests read it.
EVENTS: dict[EventName, str] = {
    "clock_started": "a clock process started (schedules, namespace, lease, version)",
    "clock_stopped": "a clock process stopped (how many runs it interrupted)",
    "redis": "which Redis a process talks to (never with its password)",
    "embedded_redis": "REDIS_URL is unset: the local development Redis is used",
    "redis_unavailable": "a Redis command failed; the clock retries with backoff",
    "redis_available": "Redis answers again",
    "redis_server_changed": "Redis restarted, failed over or lost data; standbys hold off",
    "lease_acquired": "this clock became active (how: new, released, expired; the previous holder)",
    "lease_release_seen": "a standby saw the active clock release the lease",
    "lease_lost": "this clock stopped being active (renewal or claim refused)",
    "lease_unknown": "Redis went away while this clock was active",
    "lease_released": "a stopping clock gave its lease up for a standby",
    "lease_already_gone": "a stopping clock's lease had lapsed or been taken already",
    "lease_release_failed": "a stopping clock could not reach Redis to release its lease",
    "ticks_in_doubt": "Redis lost claims of a clock that died with it: these ticks may have run",
    "fire": "a tick was claimed and its run dispatched (fence, epoch, lateness)",
    "catchup": "ticks passed while no clock could fire them: what the catch-up policy did",
    "tick_already_claimed": "a tick this clock meant to claim was claimed or recorded already",
    "claims_not_replicated": "WAIT: fewer replicas than LOCKCLOCK_WAIT_REPLICAS have the claims",
    "claims_lost": "Redis lost claims (and queue entries) of this clock: recorded in doubt",
    "run_ok": "a run finished",
    "job_failed": "a run raised (with the traceback)",
    "run_interrupted": "a run was still going when its process stopped",
    "outcome_refused": "a run's outcome was refused: another fence owns the tick, or it ended",
    "outcome_not_recorded": "a run's outcome could not be written: Redis stayed unreachable",
    "waiting_for_jobs": "a stopping process waits for running jobs, up to the grace period",
    "run_started": "an attempt started (attempt, fence, worker, lateness, time it queued)",
    "run_retry": "a run raised and has retries left: its next attempt waits its backoff",
    "run_skipped": "a skip streak started: the tick fell due while a run had not ended",
    "run_missed_in_queue": "a run waited in its queue past its max lateness: never started",
    "run_redelivered": "a dead worker's run was given to another, as a new attempt",
    "run_lost": "a run ended without an outcome (its clock or its workers died)",
    "run_handed_back": "a stopping worker gave back a run it could not finish in time",
    "run_superseded": "a job learned a newer attempt owns its run; nothing of it was kept",
    "run_timed_out": "a run passed its timeout (it stopped, or ran on past the grace)",
    "run_cancelled": "a run stopped, or never started, because an operator asked",
    "slow_item": "one item of a long job took longer than the grace period",
    "run_released": "a worker gave up a run Redis said it ran but it did not (lost writes)",
    "unknown_schedule": "a worker got a run of a schedule its code does not have",
    "consumer_failed": "reading a queue failed unexpectedly; the worker retries with backoff",
    "worker_started": "a worker process started (queues, concurrency)",
    "worker_stopped": "a worker process stopped (runs handed back)",
    "worker_exiting": "a worker stops itself: a job's thread ran past its timeout",
    "worker_lease_lost": "the reaper took a worker's lapsed lease: it comes back under a new id",
    "runs_left_to_reaper": "a stopping worker left runs Redis wrongly said it held to the reaper",
    "worker_reaped": "the active clock handed a dead worker's runs on",
    "claims_held": "a clock that took over claims nothing until lapsed workers beat or are reaped",
    "reap_skipped": "a dead worker's run needed nothing (already ended, or taken)",
    "reaper_failed": "handing dead workers' runs on failed this pass; the next pass retries",
    "tick_paused": "a paused schedule's tick fell due: its pause span starts (one per pause)",
    "pause_ended": "a pause given --until ran out; the schedule runs again",
    "request_done": "the active clock carried out an operator's trigger, resume or backfill",
    "request_refused": "an operator's request was refused (overlap, or no such schedule)",
    "requests_failed": "reading operators' requests failed this pass; the next pass retries",
    "web_started": "lockclock web listens: its URL and whether reads and writes are open",
    "web_stopped": "lockclock web stopped (SIGTERM)",
    "web_request": "one HTTP request: method, path, status, actor (never a token)",
    "web_redis_error": "Redis refused a command of an HTTP request (500)",
    "web_error": "an HTTP request failed unexpectedly (500, traceback in the log)",
    "hook_failed": "an extension (hook) raised; the clock carries on",
    "sentry": "whether this process reports to Sentry, and through which client",
    "sentry_report_failed": "a Sentry report could not be built; it is dropped",
    "sentry_flushed": "queued Sentry reports were sent at shutdown",
    "sentry_flush_failed": "queued Sentry reports could not be sent at shutdown",
}
assert set(EVENTS) == set(get_args(EventName)), "every event is in the catalogue"

# the LogRecord attribute that carries an event's fields to the formatter
FIELDS_ATTR = "lockclock_fields"


def iso_ms(ms: int | float | None) -> str | None:
    """Epoch milliseconds as RFC 3339 UTC with milliseconds: 2026-11-22T03:10:00.000Z."""
    if ms is None or ms == 0:
        return None
    moment = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    logger: logging.Logger, name: EventName, *, level: int = logging.INFO, **fields: Any
) -> None:
    """One event line; `exc_info=` attaches a traceback (job failures only)."""
    exc_info = fields.pop("exc_info", None)
    logger.log(level, name, extra={FIELDS_ATTR: fields}, exc_info=exc_info)


class EventLog:
    """A logger with bound fields, e.g. `EventLog("lockclock.clock", clock=clock_id)`."""

    def __init__(self, logger: str | logging.Logger, **bound: Any) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.bound = bound

    def bind(self, **more: Any) -> EventLog:
        return EventLog(self.logger, **{**self.bound, **more})

    def log(self, level: int, name: EventName, **fields: Any) -> None:
        event(self.logger, name, level=level, **{**self.bound, **fields})

    def info(self, name: EventName, **fields: Any) -> None:
        self.log(logging.INFO, name, **fields)

    def warning(self, name: EventName, **fields: Any) -> None:
        self.log(logging.WARNING, name, **fields)

    def error(self, name: EventName, **fields: Any) -> None:
        self.log(logging.ERROR, name, **fields)
