"""Reaping, done by the active clock in its renew step: a dead worker's runs go to
another worker (or end lost), entries it read but never started are delivered again,
and runs whose delay is over (retries, hand-backs) go into their streams.

Each pass reads what to do with plain commands, then acts through scripts that check
it again atomically (the worker's lease lapsed, it still owns the run's current
attempt), so two reapers, or a reaper racing a worker's heartbeat, cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import redis

from .keys import Keys
from .records import RunRecord
from .runs import GROUP
from .scripts import load
from .workers import PENDING_PAGE, read_holdings, remove_worker

ReapOutcome = Literal["alive", "gone", "redelivered", "lost", "queued", "notdue"]


@dataclass(frozen=True, kw_only=True)
class Reaped:
    """What one script did to one run."""

    schedule: str
    tick_ms: int
    outcome: ReapOutcome
    worker: str = ""
    attempt: int = 0
    fence: int = 0
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Due:
    dead: list[str]  # workers whose lease lapsed while others reached Redis
    spared: list[str]  # workers whose lease lapsed in or just after a gap: undecided
    delayed: list[tuple[str, int]]  # (schedule, tick) of runs whose delay is over


def _member(schedule: str, tick_ms: int) -> str:
    return f"{schedule}\t{tick_ms}"


def _split(member: str) -> tuple[str, int]:
    schedule, _, tick = member.rpartition("\t")
    return schedule, int(tick)


class Reaper:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._reap_run = load(client, "reap_run")
        self._reap_entry = load(client, "reap_entry")
        self._promote = load(client, "promote")

    def due(self, now_ms: int, worker_lease_ms: int, limit: int = 100) -> Due:
        """What is due by `now_ms`: one round trip, the steady-state cost of reaping.

        Within one worker lease after a gap nobody reached Redis in (`note_reachable`
        in prelude.lua: a stall, a restart, a cut-off, or everyone gone at once), a
        lapsed worker is not yet dead: it may only have been unable to beat."""
        k = self.keys
        with self.redis.pipeline(transaction=False) as p:
            p.zrangebyscore(k.workers, "-inf", now_ms, start=0, num=20)
            p.zrangebyscore(k.delayed, "-inf", now_ms, start=0, num=limit)
            lapsed, delayed = p.execute()
        workers = [str(w) for w in lapsed]
        spared = False
        if workers:  # the gap's mark is read only when a lease lapsed
            since = int(self.redis.get(k.reachable_since) or 0)
            spared = now_ms < since + worker_lease_ms
        return Due(
            dead=[] if spared else workers,
            spared=workers if spared else [],
            delayed=[_split(str(m)) for m in delayed],
        )

    def _record(self, schedule: str, tick_ms: int) -> RunRecord | None:
        raw = self.redis.hget(self.keys.runs(schedule), str(tick_ms))
        return RunRecord.from_json(raw) if raw else None

    def reap_worker(self, worker_id: str, fence_floor: int) -> tuple[list[Reaped], bool]:
        """Everything a dead worker held; (what was done, whether it is all reaped)."""
        k = self.keys
        done: list[Reaped] = []
        complete = True
        held = read_holdings(self.redis, k, worker_id, self._queues(worker_id))
        for member in held.runs:
            schedule, tick = _split(member)
            rec = self._record(schedule, tick)
            queue = rec.queue if rec and rec.queue else "default"
            r = self._reap_run(
                keys=[
                    k.workers,
                    k.worker_runs(worker_id),
                    k.runs(schedule),
                    k.active(schedule),
                    k.queue(queue),
                    k.fence,
                ],
                args=[worker_id, schedule, tick, fence_floor],
            )
            done.append(self._reaped(schedule, tick, worker_id, r))
            complete = complete and r[0] != "alive"
        # an entry of a run just handed on is gone from its stream: acknowledged below
        for queue, pending in held.pending.items():
            for entry in pending:
                found: Any = self.redis.xrange(k.queue(queue), entry, entry)
                if not found:
                    self.redis.xack(k.queue(queue), GROUP, entry)  # deleted already
                    continue
                fields = dict(found[0][1])
                schedule, tick = str(fields["schedule"]), int(fields["tick"])
                r = self._reap_entry(
                    keys=[k.workers, k.runs(schedule), k.active(schedule), k.queue(queue), k.fence],
                    args=[worker_id, entry, tick, fence_floor],
                )
                done.append(self._reaped(schedule, tick, worker_id, r))
                complete = complete and r[0] != "alive"
            complete = complete and len(pending) < PENDING_PAGE
        return done, complete

    def _queues(self, worker_id: str) -> list[str]:
        raw = self.redis.hget(self.keys.worker(worker_id), "queues")
        return [q for q in str(raw or "").split(",") if q]

    @staticmethod
    def _reaped(schedule: str, tick: int, worker: str, r: list[object]) -> Reaped:
        outcome = str(r[0])
        if outcome == "redelivered":
            return Reaped(
                schedule=schedule,
                tick_ms=tick,
                outcome="redelivered",
                worker=worker,
                attempt=int(str(r[1])),
                fence=int(str(r[2])),
            )
        if outcome == "lost":
            return Reaped(
                schedule=schedule, tick_ms=tick, outcome="lost", worker=worker, reason=str(r[1])
            )
        return Reaped(schedule=schedule, tick_ms=tick, outcome=outcome, worker=worker)  # type: ignore[arg-type]

    def forget_worker(self, worker_id: str, now_ms: int) -> None:
        """Drop a dead worker once all it held is reaped (only if its lease is still
        lapsed: never a worker that came back under this id)."""
        k = self.keys
        score = self.redis.zscore(k.workers, worker_id)
        if score is not None and score >= now_ms:
            return
        remove_worker(self.redis, k, worker_id, self._queues(worker_id))

    def promote(self, schedule: str, tick_ms: int, fence_floor: int) -> Reaped:
        k = self.keys
        rec = self._record(schedule, tick_ms)
        queue = rec.queue if rec and rec.queue else "default"
        r = self._promote(
            keys=[k.delayed, k.runs(schedule), k.queue(queue), k.fence],
            args=[_member(schedule, tick_ms), tick_ms, fence_floor],
        )
        if r[0] == "queued":
            return Reaped(
                schedule=schedule,
                tick_ms=tick_ms,
                outcome="queued",
                attempt=int(r[1]),
                fence=int(r[2]),
            )
        return Reaped(schedule=schedule, tick_ms=tick_ms, outcome=str(r[0]))  # type: ignore[arg-type]
