"""What operators read: the fleet's status and a schedule's history, as typed views.

Built from Redis alone (no app code), so `lockclock status` works from any machine and
the HTTP API can serve the same views. A run still `running` whose owner's lease lapsed
reads `lost` when nothing can run it again (an inline clock's run, or past
max_deliveries) and `redelivering` otherwise, until the active clock's reaper acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..coordination.records import NOT_ENDED, ClockInfo, Pause, PublishedSchedule, RunRecord
from ..coordination.store import Store
from ..coordination.workers import QueueDepth, WorkerView
from ..errors import LockclockError
from ..logs import iso_ms

LOST_NOTE = "its clock stopped while it ran (crash or kill -9)"
WORKER_GONE_NOTE = "its worker stopped heartbeating; the active clock redelivers it"


class UnknownSchedule(LockclockError):
    """No schedule of that name has been published or run in this namespace."""


@dataclass(frozen=True, kw_only=True)
class ActiveLease:
    clock: str | None
    epoch: int | None
    ms_left: int | None


@dataclass(frozen=True, kw_only=True)
class ClockView:
    info: ClockInfo
    heartbeat_age_s: float
    alive: bool

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "heartbeat_age_s": self.heartbeat_age_s, "alive": self.alive}


@dataclass(frozen=True, kw_only=True)
class ScheduleView:
    name: str
    published: PublishedSchedule
    next_tick_ms: int | None
    last: RunRecord | None
    pause: Pause | None = None  # its own, or pause --all

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.published.to_json(),
            "next_tick": iso_ms(self.next_tick_ms),
            "last": self.last.to_json() if self.last else None,
            "paused": self.pause.to_json() if self.pause else None,
        }


@dataclass(frozen=True, kw_only=True)
class WorkerStatus:
    view: WorkerView
    alive: bool
    heartbeat_age_s: float

    def to_json(self) -> dict[str, Any]:
        info = self.view.info
        return {
            "id": info.id,
            "kind": info.kind,
            "host": info.host,
            "dyno": info.dyno,
            "pid": info.pid,
            "queues": info.queues,
            "concurrency": info.concurrency,
            "running": self.view.runs,
            "alive": self.alive,
            "heartbeat_age_s": self.heartbeat_age_s,
            "lease_expires": iso_ms(self.view.lease_expires_ms),
            "version": info.version,
        }


@dataclass(frozen=True, kw_only=True)
class QueueStatus:
    depth: QueueDepth
    oldest_waiting_age_s: float | None
    delayed: int  # runs waiting in {ns}:delayed for a retry or a hand-back

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.depth.queue,
            "waiting": self.depth.waiting,
            "read": self.depth.read,
            "oldest_waiting_age_s": self.oldest_waiting_age_s,
            "delayed": self.delayed,
        }


@dataclass(frozen=True, kw_only=True)
class FleetStatus:
    namespace: str
    now_ms: int
    active: ActiveLease
    clocks: list[ClockView]
    schedules: list[ScheduleView]
    workers: list[WorkerStatus]
    queues: list[QueueStatus]
    in_flight: list[RunRecord]  # runs that have not ended, newest first
    orphans: list[str] = field(default_factory=list)  # records, but no clock publishes it

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "active": {
                "clock": self.active.clock,
                "epoch": self.active.epoch,
                "lease_ms_left": self.active.ms_left,
            },
            "clocks": [c.to_json() for c in self.clocks],
            "schedules": [s.to_json() for s in self.schedules],
            "workers": [w.to_json() for w in self.workers],
            "queues": [q.to_json() for q in self.queues],
            "in_flight": [r.to_json() for r in self.in_flight],
            "orphans": self.orphans,
        }


def mark_lost(records: list[RunRecord], alive: set[str]) -> list[RunRecord]:
    """`alive`: the workers (an inline clock is one) whose lease has not lapsed."""
    out = []
    for r in records:
        if r.status == "running" and (r.owner or r.clock) not in alive:
            final = r.mode != "workers" or (r.deliveries or 0) + 1 >= (r.max_deliveries or 3)
            note = LOST_NOTE if final else WORKER_GONE_NOTE
            r = replace(r, status="lost" if final else "running", error=note)
        out.append(r)
    return out


def _alive_ids(store: Store, now_ms: int) -> set[str]:
    """Workers with an unexpired lease, and clocks that still heartbeat (runs recorded
    before workers owned them name their clock)."""
    alive = {w.info.id for w in store.workers.all() if w.lease_expires_ms >= now_ms}
    return alive | {c.id for c in store.clocks.all() if c.alive(now_ms)}


def in_flight(store: Store, names: list[str], limit: int = 50) -> list[RunRecord]:
    k = store.keys
    with store.redis.pipeline(transaction=False) as p:
        for name in names:
            p.zrevrange(k.active(name), 0, limit - 1)
        actives = p.execute()
    with store.redis.pipeline(transaction=False) as p:
        for name, ticks in zip(names, actives, strict=True):
            p.hmget(k.runs(name), ticks or ["-"])
        raw = p.execute()
    found = [RunRecord.from_json(v) for values in raw for v in values if v]
    found = [r for r in found if r.status in NOT_ENDED]
    return sorted(found, key=lambda r: r.tick, reverse=True)[:limit]


def read_status(store: Store) -> FleetStatus:
    now_ms = store.server_ms()
    lease = store.lease.info()
    clocks = sorted(store.clocks.all(), key=lambda c: c.started_ms)
    table = store.schedules.published()
    nexts = store.schedules.next_ticks()
    names = sorted(table)
    last = store.history.last_runs(names)
    alive = _alive_ids(store, now_ms)
    workers = store.workers.all()
    queue_names = sorted(
        {p.queue for p in table.values()} | {q for w in workers for q in w.info.queues}
    )
    depths = store.workers.queue_depths(queue_names)
    delayed = store.redis.zrange(store.keys.delayed, 0, -1)
    delayed_by_queue: dict[str, int] = {}
    for member in delayed:
        name = str(member).rpartition("\t")[0]
        queue = table[name].queue if name in table else "default"
        delayed_by_queue[queue] = delayed_by_queue.get(queue, 0) + 1
    pauses = {t: p for t, p in store.control.pauses().items() if p.in_force(now_ms)}
    schedules = []
    for name in names:
        record = last.get(name)
        if record is not None:
            record = mark_lost([record], alive)[0]
        schedules.append(
            ScheduleView(
                name=name,
                published=table[name],
                next_tick_ms=nexts.get(name),
                last=record,
                pause=pauses.get(name) or pauses.get("*"),
            )
        )
    return FleetStatus(
        namespace=store.ns,
        now_ms=now_ms,
        active=ActiveLease(clock=lease.clock, epoch=lease.epoch, ms_left=lease.ms_left),
        clocks=[
            ClockView(
                info=c,
                heartbeat_age_s=round((now_ms - c.heartbeat_ms) / 1000, 1),
                alive=c.alive(now_ms),
            )
            for c in clocks
        ],
        schedules=schedules,
        workers=[
            WorkerStatus(
                view=w,
                alive=w.lease_expires_ms >= now_ms,
                heartbeat_age_s=round((now_ms - w.beat_ms) / 1000, 1) if w.beat_ms else 0.0,
            )
            for w in workers
        ],
        queues=[
            QueueStatus(
                depth=depths[q],
                oldest_waiting_age_s=_age_s(now_ms, depths[q].oldest_waiting_ms),
                delayed=delayed_by_queue.get(q, 0),
            )
            for q in queue_names
        ],
        in_flight=mark_lost(in_flight(store, names), alive),
        orphans=sorted(store.control.known_names() - set(table)) if table else [],
    )


def _age_s(now_ms: int, then_ms: int | None) -> float | None:
    return round((now_ms - then_ms) / 1000, 1) if then_ms else None


def read_history(store: Store, name: str, limit: int) -> list[RunRecord]:
    """Most recent first; raises UnknownSchedule for a name nobody published or ran."""
    records = store.history.runs(name, limit)
    if not records:
        known = store.schedules.published()
        if name not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise UnknownSchedule(
                f"no schedule named {name!r} in namespace {store.ns!r} (known: {names})"
            )
    return mark_lost(records, _alive_ids(store, store.server_ms()))
