"""What happens to a lease and to a run, as typed events: what hooks receive.

`Outcome` is also the contract between whatever runs a job and the code that records
how it ended (`execution/recording.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .context import RunContext
from .coordination.records import OutageRecord, PreviousLease
from .scheduling import Schedule

# ok, error: the job returned or raised; stopped: it raised Interrupted when asked to
# stop; superseded: a newer attempt owns the run (Superseded); timed_out, cancelled:
# recorded for a stop the timeout or an operator asked for.
OutcomeStatus = Literal["ok", "error", "stopped", "superseded", "timed_out", "cancelled"]
HowAcquired = Literal["new", "released", "expired"]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    status: OutcomeStatus
    started_ms: int
    duration_ms: int
    error: str | None = None
    # the exception itself, for reporting with its traceback; never stored in Redis
    exc: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class LeaseGained:
    clock_id: str
    epoch: int
    how: HowAcquired
    previous: PreviousLease


@dataclass(frozen=True, kw_only=True)
class LeaseLost:
    clock_id: str
    epoch: int | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunDispatched:
    schedule: Schedule
    run: RunContext  # as claimed: attempt 1, no worker yet
    catchup: bool  # older than the on-time window: an outage's catch-up, reported there
    waiting: bool = False  # behind the run before it (overlap "queue", or catch-up)


@dataclass(frozen=True, kw_only=True)
class RunStarted:
    schedule: Schedule
    run: RunContext
    catchup: bool = False  # claimed as an outage's catch-up


@dataclass(frozen=True, kw_only=True)
class RunFinished:
    schedule: Schedule
    run: RunContext
    outcome: Outcome


@dataclass(frozen=True, kw_only=True)
class RunInterrupted:
    schedule: Schedule
    run: RunContext
    running_s: float  # how long it had been running when its process stopped


@dataclass(frozen=True, kw_only=True)
class OutageFound:
    schedule: Schedule
    record: OutageRecord


@dataclass(frozen=True, kw_only=True)
class RunRedelivered:
    """The active clock gave a dead worker's run to another (a new attempt)."""

    schedule: str
    tick_ms: int
    attempt: int
    fence: int
    from_worker: str


@dataclass(frozen=True, kw_only=True)
class RunLost:
    """A run that ended without an outcome: its inline clock died, or its workers died
    max_deliveries times."""

    schedule: str
    tick_ms: int
    reason: str
    worker: str


@dataclass(frozen=True, kw_only=True)
class RunSkipped:
    """A skip streak started: a tick fell due while a run of its schedule had not ended."""

    schedule: Schedule
    tick_ms: int
    clock_id: str


@dataclass(frozen=True, kw_only=True)
class RunHandedBack:
    """A stopping worker gave back an attempt it could not finish, for another worker."""

    schedule: Schedule
    run: RunContext
    why: str


@dataclass(frozen=True, kw_only=True)
class RunSlowItem:
    """One item of `current_run().each` took longer than the grace period: this job
    cannot stop in time at a restart."""

    schedule: Schedule
    run: RunContext
    seconds: float
    grace_s: float
