"""The JSON documents kept in Redis, as typed dataclasses.

Scripts write some of them (`claim.lua` the run and outage records, `finish.lua` an
outcome), so field names are the wire format: renaming one is a layout change.
`from_json` ignores fields it does not know, so a newer writer never breaks a reader.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

from ..scheduling import Outage

# Not ended: queued (in a stream, or delayed for a retry or hand-back), waiting (behind the
# run before it), running. Ended: the rest.
RunStatus = Literal[
    "queued",
    "waiting",
    "running",
    "ok",
    "error",
    "missed",
    "skipped",
    "paused",
    "interrupted",
    "timed_out",
    "cancelled",
    "lost",
]
NOT_ENDED: frozenset[str] = frozenset({"queued", "waiting", "running"})
DispatchMode = Literal["inline", "workers"]
Overlap = Literal["skip", "queue", "allow"]
T = TypeVar("T")
Raw = str | bytes | dict[str, Any]  # as Redis returns it, or already decoded


def _known(cls: type[T], data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return {k: v for k, v in data.items() if k in names}


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class RunPolicy:
    """What the claim writes into each run record, so every later script (start, finish,
    reap) decides from the record alone, whichever version of the app runs it."""

    mode: DispatchMode
    queue: str
    overlap: Overlap
    max_deliveries: int
    max_late_ms: int
    retries: int
    retry_backoff_ms: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Attempt:
    attempt: int
    fence: int
    worker: str
    started_ms: int
    ended_ms: int | None = None
    end: str | None = None  # ok, error, died, handed_back, interrupted, ...
    error: str | None = None


@dataclass(kw_only=True)
class RunRecord:
    """One tick of one schedule: claimed (and how it ended), recorded missed, or a
    streak of ticks skipped while a run had not ended (tick .. last_ms, count)."""

    schedule: str
    tick: int
    clock: str  # the clock that claimed it
    epoch: int
    claimed_ms: int
    late_ms: int  # from the tick to the claim
    status: RunStatus
    fence: int | None = None  # the current attempt's; None when nothing ran
    claim_fence: int | None = None  # the claim's (the first attempt's)
    doubt: bool | None = None  # missed, but may have run before Redis lost its claim
    attempt: int | None = None
    attempts: list[dict[str, Any]] | None = None  # Attempt, as stored
    owner: str | None = None  # the worker running the current attempt
    entry: str | None = None  # the stream entry of the current attempt
    queue: str | None = None
    mode: DispatchMode | None = None
    enqueued_ms: int | None = None
    started_ms: int | None = None  # the first attempt's start
    attempt_started_ms: int | None = None
    duration_ms: int | None = None
    finished_ms: int | None = None
    error: str | None = None
    deliveries: int | None = None  # attempts whose worker died
    max_deliveries: int | None = None
    max_late_ms: int | None = None
    retries: int | None = None
    retried: int | None = None
    retry_backoff_ms: int | None = None
    last_error: str | None = None
    deliverable_ms: int | None = None  # queued in {ns}:delayed until then
    redelivered_ms: int | None = None
    handed_back: int | None = None
    after: int | None = None  # waits for this tick's run to end
    next: int | None = None  # the run waiting for this one
    progress: str | None = None  # the last saved progress, as JSON text
    progress_ms: int | None = None
    progress_fence: int | None = None  # the attempt that saved it
    stop: dict[str, Any] | None = None  # a stop an operator asked for: reason, by, ms
    held_by: str | None = None  # timed out inline: its thread still runs there
    blocked_by: int | None = None  # skipped: the run that had not ended
    last_ms: int | None = None  # skipped: the streak's last tick
    count: int | None = None  # skipped: how many ticks the streak holds
    reason: str | None = None
    # not a tick: 'manual' (lockclock trigger) or 'resume' (a paused tick run on resume)
    trigger: Literal["manual", "resume", "backfill"] | None = None
    for_tick: int | None = None  # a backfill run: the tick it replays
    request: str | None = None  # the operator's request that made it
    by: str | None = None  # who asked (a trigger, a pause)
    # paused: the span's first tick (last_ms, count as for a skip streak) and its end
    first_ms: int | None = None
    pause_id: int | None = None
    ended_ms: int | None = None
    resumed_by: str | None = None
    catchup: str | None = None

    @property
    def ended(self) -> bool:
        return self.status not in NOT_ENDED

    def attempt_list(self) -> list[Attempt]:
        return [Attempt(**_known(Attempt, a)) for a in self.attempts or []]

    @classmethod
    def from_json(cls, raw: Raw) -> RunRecord:
        data = raw if isinstance(raw, dict) else json.loads(raw)
        return cls(**_known(cls, data))

    def to_json(self) -> dict[str, Any]:
        """For operators (`history --json`, the API): progress as the value it was saved as."""
        out = _compact(asdict(self))
        if self.progress is not None:
            out["progress"] = json.loads(self.progress)
        return out

    @property
    def in_doubt(self) -> bool:
        return bool(self.doubt)

    @property
    def shown_status(self) -> str:
        """As operators read it: a tick in doubt is recorded missed but may have run."""
        if self.doubt:
            return "in doubt"
        if self.trigger in ("manual", "backfill"):
            return f"{self.trigger} {self.status}"
        return self.status


@dataclass(frozen=True, kw_only=True)
class PreviousLease:
    """Who held the lease before the clock that found an outage, and how it ended."""

    clock: str = ""
    epoch: int = 0
    last_renewed_ms: int = 0
    lapsed_ms: int = 0
    released: bool = False


@dataclass(frozen=True, kw_only=True)
class OutageRecord:
    """An outage window as stored with the history and reported to Sentry."""

    outage: Outage
    clock: str  # who found it
    epoch: int
    prev_lease: PreviousLease = field(default_factory=PreviousLease)

    def to_json(self) -> dict[str, Any]:
        data = _compact(asdict(self.outage))
        data.update(clock=self.clock, epoch=self.epoch, prev_lease=asdict(self.prev_lease))
        return data

    @classmethod
    def from_json(cls, raw: Raw) -> OutageRecord:
        data = dict(raw) if isinstance(raw, dict) else json.loads(raw)
        prev = PreviousLease(**_known(PreviousLease, data.get("prev_lease") or {}))
        return cls(
            outage=Outage(**_known(Outage, data)),
            clock=str(data.get("clock", "")),
            epoch=int(data.get("epoch") or 0),
            prev_lease=prev,
        )


ClockRole = Literal["standby", "active"]


@dataclass(frozen=True, kw_only=True)
class ClockInfo:
    """A clock's heartbeat in the registry, for operators."""

    id: str
    host: str = ""
    pid: int = 0
    role: ClockRole = "standby"
    started_ms: int = 0
    heartbeat_ms: int = 0
    stale_after_ms: int = 10_000  # past this since the last heartbeat, the clock is gone
    schedules: int = 0
    version: str = ""
    dyno: str | None = None
    epoch: int | None = None

    @classmethod
    def from_json(cls, raw: Raw) -> ClockInfo:
        data = raw if isinstance(raw, dict) else json.loads(raw)
        return cls(**_known(cls, data))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def alive(self, now_ms: int) -> bool:
        return now_ms - self.heartbeat_ms < self.stale_after_ms


@dataclass(frozen=True, kw_only=True)
class PublishedSchedule:
    """What the active clock publishes about each schedule, so `status` needs no code."""

    trigger: str
    enabled: bool
    catchup: str
    tz: str
    published_by: str
    queue: str = "default"
    overlap: str = "skip"
    dispatch: str = "inline"
    cron: str | None = None  # the expression, for readers that put it in words
    every_s: int | None = None  # or the interval (and its `at`): enough to list next ticks
    at: str | None = None
    max_lateness_s: float | None = None
    timeout_s: float | None = None
    retries: int | None = None
    # the Sentry Crons monitor its check-ins go to; None when it has none or the active
    # clock reports to no Sentry (what `pause` mutes)
    monitor: str | None = None

    @classmethod
    def from_json(cls, raw: Raw) -> PublishedSchedule:
        data = raw if isinstance(raw, dict) else json.loads(raw)
        return cls(**_known(cls, data))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CatchupOnResume = Literal["skip", "latest", "all"]
RequestKind = Literal["trigger", "resume", "backfill"]
PlanState = Literal["run", "ok", "unknown"]
RequestState = Literal["pending", "done", "refused"]


@dataclass(frozen=True, kw_only=True)
class Pause:
    """A pause in force: what `lockclock pause` stored (the claim script honours it)."""

    target: str  # a schedule, or * for all
    id: int
    since_ms: int
    reason: str = ""
    actor: str = ""
    source: str = ""
    until_ms: int | None = None
    spans: dict[str, int] = field(default_factory=dict)  # schedule -> its span's key

    @classmethod
    def from_json(cls, target: str, raw: Raw) -> Pause:
        data = raw if isinstance(raw, dict) else json.loads(raw)
        spans = data.get("spans") or {}
        known = _known(cls, {**data, "spans": spans if isinstance(spans, dict) else {}})
        return cls(**{**known, "target": target})

    def in_force(self, now_ms: int) -> bool:
        return self.until_ms is None or now_ms < self.until_ms

    def to_json(self) -> dict[str, Any]:
        return _compact(asdict(self))


@dataclass(frozen=True, kw_only=True)
class GrantedRun:
    tick: int  # the run's key
    fence: int
    note: str = ""
    for_tick: int | None = None  # a backfill run: the tick it replays


@dataclass(frozen=True, kw_only=True)
class Request:
    """An operator's request for the active clock, and its answer once it has one."""

    id: str
    kind: RequestKind
    schedule: str
    state: RequestState = "pending"
    requested_ms: int = 0
    actor: str = ""
    source: str = ""
    reason: str = ""
    force: bool = False
    catchup: CatchupOnResume | None = None
    spans: dict[str, int] = field(default_factory=dict)
    answered_ms: int | None = None
    clock: str | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # a backfill: the range, its cap, and the plan the active clock made of it
    from_ms: int | None = None
    to_ms: int | None = None
    max: int | None = None
    dry_run: bool = False
    include_unknown: bool = False
    plan: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # refused before any schedule was answered

    @classmethod
    def from_json(cls, raw: Raw) -> Request:
        data = raw if isinstance(raw, dict) else json.loads(raw)
        for name in ("spans", "answers"):  # Lua's cjson writes an empty table as {}
            if not isinstance(data.get(name), dict):
                data[name] = {}
        if not isinstance(data.get("plan"), list):
            data["plan"] = []
        return cls(**_known(cls, data))

    def runs(self) -> list[GrantedRun]:
        return [
            GrantedRun(**_known(GrantedRun, r))
            for a in self.answers.values()
            for r in (a.get("runs") or [])
            if isinstance(r, dict)
        ]

    def errors(self) -> list[str]:
        found = [str(a["error"]) for a in self.answers.values() if a.get("error")]
        return ([self.error] if self.error else []) + found

    def to_json(self) -> dict[str, Any]:
        out = _compact(asdict(self))
        out["runs"] = [asdict(r) for r in self.runs()]
        return out
